export {
  Client,
  OBLIGATION_TYPES,
  SERVICE,
  SERVICE_CONFIG,
  type CallOptions,
  type CheckRequestInit,
  type ClientOptions,
  type TlsOptions,
} from "./client.js";
export {
  DeadlineExceededError,
  DiscretionError,
  InvalidRequestError,
  PermissionDeniedError,
  ServerError,
  UnauthenticatedError,
  UnavailableError,
  UnexpectedAnswerError,
  type FieldViolation,
} from "./errors.js";
// The contract's messages and enums, as the requests and answers are written and read.
export * from "./gen/discretion/v1/policy_pb.js";
export { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
