// A server on loopback that shows a test the bytes of every request a Client sends: answered by the test
// (a fake server), or forwarded to a real server (a proxy, to see what reached it).
import * as grpc from "@grpc/grpc-js";

import { SERVICE } from "../src/index.js";

export const METHODS = ["Check", "CheckBatch", "GetInteractionPolicy", "AnswerQuoteRequest", "RecheckQuotes",
                        "ListAgreements"];

/** A failed call as a grpc-js server sends it: the status, its message, and trailers. */
export type Failure = Partial<grpc.StatusObject> & { code: grpc.status };

/** Answers a call with the response's bytes, or rejects with a Failure. */
export type Handler = (method: string, request: Buffer, metadata: grpc.Metadata,
                       deadline: grpc.Deadline) => Promise<Uint8Array>;

export interface Recording {
  readonly target: string;
  /** Every request so far, in order. */
  readonly asked: { method: string; request: Buffer }[];
  close(): void;
}

export async function serve(handle: Handler): Promise<Recording> {
  const server = new grpc.Server();
  const asked: { method: string; request: Buffer }[] = [];
  const raw = (bytes: Buffer) => bytes;
  const definition: Record<string, grpc.MethodDefinition<Buffer, Buffer>> = {};
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const method of METHODS) {
    definition[method] = {
      path: `/${SERVICE}/${method}`, requestStream: false, responseStream: false,
      requestSerialize: raw, requestDeserialize: raw, responseSerialize: raw, responseDeserialize: raw,
    };
    implementation[method] = (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      asked.push({ method, request: call.request });
      handle(method, call.request, call.metadata, call.getDeadline()).then(
        (bytes) => callback(null, Buffer.from(bytes)),
        (failure: Failure) => callback(failure));
    };
  }
  server.addService(definition, implementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(),
                     (error, bound) => (error ? reject(error) : resolve(bound))));
  return { target: `127.0.0.1:${port}`, asked, close: () => server.forceShutdown() };
}

/** A proxy to the server at `upstream`: every call and its answer (or its status and trailers) passed on as is. */
export async function forward(upstream: string): Promise<Recording> {
  const client = new grpc.Client(upstream, grpc.credentials.createInsecure());
  const recording = await serve((method, request, metadata, deadline) => new Promise((resolve, reject) => {
    // The caller's own headers (x-request-id), not the transport's, which the proxy's channel writes itself.
    const passed = new grpc.Metadata();
    for (const [key, value] of Object.entries(metadata.getMap())) {
      if (key.startsWith("x-")) passed.set(key, value);
    }
    client.makeUnaryRequest(`/${SERVICE}/${method}`, (bytes: Buffer) => bytes, (bytes: Buffer) => bytes, request,
                            passed, { deadline }, (error: grpc.ServiceError | null, answer?: Buffer) =>
                              (error ? reject(error) : resolve(answer ?? Buffer.alloc(0))));
  }));
  return { ...recording, close: () => { recording.close(); client.close(); } };
}
