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
 *         └── UnexpectedAnswerError  an answer that cannot be right (a decision or obligation this client
 *                                 does not know, an allow carrying obligations, item results not matching
 *                                 the items)
 *
 * No grpc-js error leaves a public method: the original is the error's `cause`.
 */

import { fromBinary } from "@bufbuild/protobuf";
import type { ServiceError } from "@grpc/grpc-js";
import { status as Status } from "@grpc/grpc-js";

import { BadRequestSchema } from "./gen/google/rpc/error_details_pb.js";
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
export class UnexpectedAnswerError extends ServerError {
  constructor(details: string) {
    super(details, "UNEXPECTED_ANSWER");
  }
}

const BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest";

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
    default:
      return new ServerError(details, Status[error.code] ?? "UNKNOWN", options);
  }
}

/** The fields a refusal names: google.rpc.BadRequest in the status details the server sends in trailers. */
function violations(error: ServiceError): FieldViolation[] {
  const found: FieldViolation[] = [];
  for (const value of error.metadata?.get("grpc-status-details-bin") ?? []) {
    if (typeof value === "string") continue;
    const status = fromBinary(StatusSchema, value);
    for (const detail of status.details) {
      if (detail.typeUrl !== BAD_REQUEST) continue;
      for (const violation of fromBinary(BadRequestSchema, detail.value).fieldViolations) {
        found.push({ field: violation.field, description: violation.description });
      }
    }
  }
  return found;
}
