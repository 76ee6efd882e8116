// What the client does with answers no correct server gives: a fake server (the one thing a real server
// cannot be made to do) answers each call with the bytes a test chose.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { create, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";

import {
  CheckResponseSchema,
  Client,
  Decision,
  ItemOutcome,
  UnexpectedAnswerError,
  type CheckResponse,
} from "../src/index.js";
import { chathamQuote } from "./question.js";

describe("answers that cannot be right", () => {
  let answer: CheckResponse = create(CheckResponseSchema);
  let asked: Buffer = Buffer.alloc(0);
  const server = new grpc.Server();
  let client: Client;

  before(async () => {
    server.addService({
      Check: {
        path: "/discretion.v1.PolicyService/Check", requestStream: false, responseStream: false,
        requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b,
        responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b,
      },
    }, {
      Check: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        asked = call.request;
        callback(null, Buffer.from(toBinary(CheckResponseSchema, answer)));
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(),
                       (error, bound) => (error ? reject(error) : resolve(bound))));
    client = new Client(`127.0.0.1:${port}`, { timeoutMs: 5_000 });
  });
  after(() => {
    client.close();
    server.forceShutdown();
  });

  const item = { itemId: "m-1", outcome: ItemOutcome.KEPT, decision: Decision.ALLOW };
  const cases: [string, MessageInitShape<typeof CheckResponseSchema>][] = [
    ["a decision this client does not know", { decision: 42 as Decision, items: [item] }],
    ["an unspecified decision", { decision: Decision.UNSPECIFIED, items: [item] }],
    ["an allow carrying obligations", { decision: Decision.ALLOW, items: [item],
                                        obligations: [{ type: "redact_author_identity" }] }],
    ["fewer item results than items asked about", { decision: Decision.ALLOW, items: [] }],
    ["an obligation this client does not know how to fulfil", { decision: Decision.ALLOW_WITH_OBLIGATIONS,
      items: [item], obligations: [{ type: "redact_author_identity" }, { type: "send_to_regulator" }] }],
    ["an item outcome this client does not know", { decision: Decision.ALLOW,
                                                    items: [{ ...item, outcome: 9 as ItemOutcome }] }],
  ];
  for (const [what, shape] of cases) {
    it(`refuses ${what}`, async () => {
      answer = create(CheckResponseSchema, shape);
      await assert.rejects(client.check(chathamQuote()), UnexpectedAnswerError);
    });
  }

  it("reads a right answer, and asks for spans in UTF-16 unless told otherwise", async () => {
    answer = create(CheckResponseSchema, { decision: Decision.ALLOW, items: [item], decisionId: "ab" });
    assert.equal((await client.check(chathamQuote())).decisionId, "ab");
    // span_unit (field 14) = SPAN_UNIT_UTF16 (2): the tag 14 << 3 = 0x70, then the value.
    assert.ok(asked.includes(Buffer.from([0x70, 0x02])), asked.toString("hex"));
  });
});

describe("arguments the client refuses before any call", () => {
  it("refuses a client without a target, a deadline or a pool", () => {
    assert.throws(() => new Client(""), TypeError);
    assert.throws(() => new Client("127.0.0.1:1", { timeoutMs: 0 }), /timeoutMs/);
    assert.throws(() => new Client("127.0.0.1:1", { timeoutMs: Number.POSITIVE_INFINITY }), /timeoutMs/);
    assert.throws(() => new Client("127.0.0.1:1", { channels: 0 }), /channels/);
    assert.throws(() => new Client("127.0.0.1:1", { tls: { privateKey: Buffer.from("k") } }), /go together/);
  });

  it("refuses a request id that is no header value", async () => {
    const client = new Client("127.0.0.1:1");
    try {
      await assert.rejects(async () => client.check(chathamQuote(), { requestId: "line\nbreak" }), /requestId/);
      await assert.rejects(async () => client.check(chathamQuote(), { requestId: "x".repeat(129) }), /requestId/);
    } finally {
      client.close();
    }
  });

  it("refuses calls once closed", async () => {
    const client = new Client("127.0.0.1:1");
    client.close();
    await assert.rejects(client.check(chathamQuote()), /closed/);
  });
});
