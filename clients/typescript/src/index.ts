export {
  Client,
  OBLIGATION_TYPES,
  SERVICE,
  SERVICE_CONFIG,
  type AnswerQuoteRequestRequestInit,
  type CallOptions,
  type CheckRequestInit,
  type GetInteractionPolicyRequestInit,
  type RecheckQuotesRequestInit,
  type ClientOptions,
  type TlsOptions,
} from "./client.js";
export {
  DeadlineExceededError,
  DiscretionError,
  InvalidRequestError,
  PermissionDeniedError,
  RosterUnknownError,
  ServerError,
  UnauthenticatedError,
  UnavailableError,
  UnexpectedAnswerError,
  type FieldViolation,
} from "./errors.js";
export { BY_REFERENCE_FROM, rosterDigest, type PersonInit } from "./rosters.js";
// The contract's messages and enums, as the requests and answers are written and read.
export * from "./gen/discretion/v1/policy_pb.js";
export { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
