package discretion

import (
	"errors"
	"fmt"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// A denial is not an error: it is a CheckResponse whose Decision is DECISION_DENY. An error means the
// service gave no answer, so the caller has no decision to act on and must not proceed. Every error a
// Client returns is an *Error; errors.Is tells its kind:
//
//	ErrInvalidRequest    INVALID_ARGUMENT: FieldViolations name each field at fault ("checks[1].actor.id")
//	ErrUnavailable       UNAVAILABLE, still so after the channel's retries
//	ErrDeadlineExceeded  no answer within the call's deadline
//	ErrPermissionDenied  PERMISSION_DENIED
//	ErrUnauthenticated   UNAUTHENTICATED
//	ErrServer            any other status (FAILED_PRECONDITION naming a roster the server lacks only for
//	                     a digest you set yourself, or if the attempt that sends the roster fails so too:
//	                     rosters.go)
//	ErrUnexpectedAnswer  an answer that cannot be right (also ErrServer): a decision, obligation or item
//	                     outcome this client does not know, an allow carrying obligations, item results not matching
//	                     the items asked about
var (
	ErrInvalidRequest   = errors.New("discretion: invalid request")
	ErrUnavailable      = errors.New("discretion: unavailable")
	ErrDeadlineExceeded = errors.New("discretion: deadline exceeded")
	ErrPermissionDenied = errors.New("discretion: permission denied")
	ErrUnauthenticated  = errors.New("discretion: unauthenticated")
	ErrServer           = errors.New("discretion: server error")
	ErrUnexpectedAnswer = errors.New("discretion: unexpected answer")
)

// FieldViolation is one field the service could not accept, named as in the proto (`items[0].id`).
type FieldViolation struct {
	Field       string
	Description string
}

// Error is what a Client returns when it has no decision.
type Error struct {
	kind error
	// Code is the gRPC status name ("INVALID_ARGUMENT"), or "UNEXPECTED_ANSWER".
	Code            string
	Message         string
	FieldViolations []FieldViolation
	cause           error
}

func (e *Error) Error() string {
	text := e.Message
	if text == "" {
		text = e.Code
	}
	if len(e.FieldViolations) > 0 {
		listed := make([]string, len(e.FieldViolations))
		for i, v := range e.FieldViolations {
			listed[i] = v.Field + ": " + v.Description
		}
		text += " (" + strings.Join(listed, "; ") + ")"
	}
	return e.kind.Error() + ": " + text
}

// Is makes errors.Is(err, ErrUnavailable) and the like true for an error of that kind.
func (e *Error) Is(target error) bool {
	return target == e.kind || (e.kind == ErrUnexpectedAnswer && target == ErrServer)
}

// Unwrap gives the gRPC status error the call failed with, if any.
func (e *Error) Unwrap() error { return e.cause }

func unexpected(format string, args ...any) *Error {
	return &Error{kind: ErrUnexpectedAnswer, Code: "UNEXPECTED_ANSWER", Message: fmt.Sprintf(format, args...)}
}

// translate turns a failed call's error into an *Error.
func translate(err error) *Error {
	s, ok := status.FromError(err)
	if !ok {
		return &Error{kind: ErrServer, Code: codes.Unknown.String(), Message: err.Error(), cause: err}
	}
	e := &Error{Code: codeName(s.Code()), Message: s.Message(), cause: err}
	switch s.Code() {
	case codes.InvalidArgument:
		e.kind = ErrInvalidRequest
		for _, detail := range s.Details() {
			if bad, ok := detail.(*errdetails.BadRequest); ok {
				for _, v := range bad.GetFieldViolations() {
					e.FieldViolations = append(e.FieldViolations, FieldViolation{v.GetField(), v.GetDescription()})
				}
			}
		}
	case codes.Unavailable:
		e.kind = ErrUnavailable
	case codes.DeadlineExceeded:
		e.kind = ErrDeadlineExceeded
	case codes.PermissionDenied:
		e.kind = ErrPermissionDenied
	case codes.Unauthenticated:
		e.kind = ErrUnauthenticated
	default:
		e.kind = ErrServer
	}
	return e
}

// rosterUnknown is a PreconditionFailure violation's type for a roster sent by digest alone that the
// server does not hold; its subject is the digest.
const rosterUnknown = "ROSTER_UNKNOWN"

// unknownRosters are the digests a FAILED_PRECONDITION names as rosters the server does not hold.
func unknownRosters(err error) []string {
	s, ok := status.FromError(err)
	if !ok || s.Code() != codes.FailedPrecondition {
		return nil
	}
	var digests []string
	for _, detail := range s.Details() {
		if failure, ok := detail.(*errdetails.PreconditionFailure); ok {
			for _, v := range failure.GetViolations() {
				if v.GetType() == rosterUnknown {
					digests = append(digests, v.GetSubject())
				}
			}
		}
	}
	return digests
}

// codeName is the status code as the gRPC specification spells it ("INVALID_ARGUMENT").
func codeName(code codes.Code) string {
	if code == codes.Canceled {
		return "CANCELLED"
	}
	var b strings.Builder
	for i, r := range code.String() {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return strings.ToUpper(b.String())
}
