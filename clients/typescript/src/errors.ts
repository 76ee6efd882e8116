/**
 * The errors a Client throws.
 *
 * A denial is not an error: it is a CheckResponse whose `decision` is `Decision.DENY`. These errors mean
 * the service gave no answer, so the caller has no decision to act on and must not proceed:
 *
 *     DiscretionError             base of everything below; `code` (the gRPC status name), `details`
 *     ├── InvalidRequestError     INVALID_ARGUMENT: `fieldViolations` name each field at fault,
 *     │                           e.g. { field: "checks[1].destination.kind", description: "..." }
 *     ├── UnavailableError        UNAVAILABLE, still so after the channel's retries
 *     ├── DeadlineExceededError   no answer within the call's timeout
 *     ├── PermissionDeniedError   PERMISSION_DENIED
 *     ├── UnauthenticatedError    UNAUTHENTICATED
 *     └── ServerError             any other status
 *         ├── RosterUnknownError  FAILED_PRECONDITION naming rosters sent by digest alone that the server
 *         │                       does not hold (`digests`); the client sends its own again by itself, so
 *         │                       a caller sees this only for a `rosterDigest` it wrote
 *         └── UnexpectedAnswerError  an answer that cannot be right (a decision or obligation this client
 *                                 does not know, an allow carrying obligations, item results not matching
 *                                 the items)
 *
 * No grpc-js error leaves a public method: the original is the error's `cause`.
 */

import { fromBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import type { ServiceError } from "@grpc/grpc-js";
import { status as Status } from "@grpc/grpc-js";

import { BadRequestSchema, PreconditionFailureSchema } from "./gen/google/rpc/error_details_pb.js";
import { StatusSchema } from "./gen/google/rpc/status_pb.js";

export interface FieldViolation {
  /** The field as the proto names it: `items[0].id`. */
  readonly field: string;
  readonly description: string;
}

export class DiscretionError extends Error {
  readonly code: string;
  readonly details: string;

  constructor(details: string, code: string, options?: { cause?: unknown }) {
    super(details || code, options);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }
}

export class InvalidRequestError extends DiscretionError {
  readonly fieldViolations: readonly FieldViolation[];

  constructor(details: string, fieldViolations: readonly FieldViolation[], options?: { cause?: unknown }) {
    const listed = fieldViolations.map((v) => `${v.field}: ${v.description}`).join("; ");
    super(details, "INVALID_ARGUMENT", options);
    this.message = listed ? `${details || this.code} (${listed})` : details || this.code;
    this.fieldViolations = fieldViolations;
  }
}

export class UnavailableError extends DiscretionError {}
export class DeadlineExceededError extends DiscretionError {}
export class PermissionDeniedError extends DiscretionError {}
export class UnauthenticatedError extends DiscretionError {}
export class ServerError extends DiscretionError {}
export class RosterUnknownError extends ServerError {
  /** The digests (`sha256:...`) of the rosters the server does not hold. */
  readonly digests: readonly string[];

  constructor(details: string, digests: readonly string[], options?: { cause?: unknown }) {
    super(details, "FAILED_PRECONDITION", options);
    this.digests = digests;
  }
}
export class UnexpectedAnswerError extends ServerError {
  constructor(details: string) {
    super(details, "UNEXPECTED_ANSWER");
  }
}

const BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest";
const PRECONDITION_FAILURE = "type.googleapis.com/google.rpc.PreconditionFailure";
export const ROSTER_UNKNOWN = "ROSTER_UNKNOWN";

/** The DiscretionError a failed call stands for. */
export function translate(error: ServiceError): DiscretionError {
  const details = error.details ?? "";
  const options = { cause: error };
  switch (error.code) {
    case Status.INVALID_ARGUMENT:
      return new InvalidRequestError(details, violations(error), options);
    case Status.UNAVAILABLE:
      return new UnavailableError(details, "UNAVAILABLE", options);
    case Status.DEADLINE_EXCEEDED:
      return new DeadlineExceededError(details, "DEADLINE_EXCEEDED", options);
    case Status.PERMISSION_DENIED:
      return new PermissionDeniedError(details, "PERMISSION_DENIED", options);
    case Status.UNAUTHENTICATED:
      return new UnauthenticatedError(details, "UNAUTHENTICATED", options);
    case Status.FAILED_PRECONDITION: {
      const digests = unknownRosters(error);
      return digests.length > 0 ? new RosterUnknownError(details, digests, options)
                                : new ServerError(details, "FAILED_PRECONDITION", options);
    }
    default:
      return new ServerError(details, Status[error.code] ?? "UNKNOWN", options);
  }
}

/** The fields a refusal names: google.rpc.BadRequest in the status details the server sends in trailers. */
function violations(error: ServiceError): FieldViolation[] {
  return statusDetails(error, BAD_REQUEST, BadRequestSchema).flatMap((badRequest) =>
    badRequest.fieldViolations.map((v) => ({ field: v.field, description: v.description })));
}

/** The digests a google.rpc.PreconditionFailure names as rosters the server does not hold. */
function unknownRosters(error: ServiceError): string[] {
  return statusDetails(error, PRECONDITION_FAILURE, PreconditionFailureSchema).flatMap((failure) =>
    failure.violations.filter((v) => v.type === ROSTER_UNKNOWN).map((v) => v.subject));
}

/**
 * The details of one type in the google.rpc.Status the server sends in trailers. Bytes that do not read
 * are passed over: the status code alone still makes a usable error.
 */
function statusDetails<Desc extends DescMessage>(error: ServiceError, typeUrl: string,
                                                 schema: Desc): MessageShape<Desc>[] {
  const found: MessageShape<Desc>[] = [];
  for (const value of error.metadata?.get("grpc-status-details-bin") ?? []) {
    if (typeof value === "string") continue;
    try {
      for (const detail of fromBinary(StatusSchema, value).details) {
        if (detail.typeUrl === typeUrl) found.push(fromBinary(schema, detail.value));
      }
    } catch {
      continue;
    }
  }
  return found;
}
