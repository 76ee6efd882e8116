// Package discretion is the Go client of the Discretion policy service: ask whether a share, a quote or
// an export keeps a group's agreement, and act on the answer.
//
// Requests and answers are the contract's own messages (package discretionv1, generated from
// proto/discretion/v1 by buf). What the client adds is what every caller would otherwise write: a
// deadline on every call, retries of calls that never reached a server, calls spread over every address
// a name resolves to and over a small pool of connections, a large group's roster sent by its digest to
// a server that already has it, refusals as *Error naming the fields at fault, and answers checked
// before anyone acts on them.
package discretion

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"regexp"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	v1 "github.com/discretion/discretion/clients/go/discretionv1"
)

// ServiceConfig is the channel's behaviour, the same as the other clients': round_robin over every
// address the target resolves to (a Kubernetes headless Service:
// "dns:///discretion-headless.NS.svc.cluster.local:50051"), and up to three retries with backoff of a
// call that never reached a server (UNAVAILABLE) or that a stopping server never handled (CANCELLED).
// Every method is a pure read, so a retry decides nothing twice; the retries share the call's deadline.
const ServiceConfig = `{
  "loadBalancingConfig": [{"round_robin": {}}],
  "methodConfig": [{
    "name": [{"service": "discretion.v1.PolicyService"}],
    "retryPolicy": {
      "maxAttempts": 4,
      "initialBackoff": "0.05s",
      "maxBackoff": "1s",
      "backoffMultiplier": 2,
      "retryableStatusCodes": ["UNAVAILABLE", "CANCELLED"]
    }
  }]
}`

type options struct {
	timeout     time.Duration
	channels    int
	tls         *tls.Config
	metadata    []string
	rostersFrom int
}

// Option configures a Client.
type Option func(*options) error

// WithTimeout is how long a call may take when its context has no deadline (default 2 s).
func WithTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("discretion: WithTimeout(%v): expected a positive duration", d)
		}
		o.timeout = d
		return nil
	}
}

// WithChannels spreads calls over n connections, for servers running several processes on one port.
func WithChannels(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("discretion: WithChannels(%d): expected at least 1", n)
		}
		o.channels = n
		return nil
	}
}

// WithTLS turns on TLS (mutual TLS when config carries a client certificate); plaintext without it.
func WithTLS(config *tls.Config) Option {
	return func(o *options) error {
		o.tls = config
		return nil
	}
}

// WithMetadata sends key, value pairs with every call, e.g. "authorization", "Bearer ...".
func WithMetadata(pairs ...string) Option {
	return func(o *options) error {
		if len(pairs)%2 != 0 {
			return errors.New("discretion: WithMetadata: expected key, value pairs")
		}
		o.metadata = append(o.metadata, pairs...)
		return nil
	}
}

// Client asks one Discretion service. It is safe for concurrent use.
type Client struct {
	conns       []*grpc.ClientConn
	stubs       []v1.PolicyServiceClient
	next        atomic.Uint64
	timeout     time.Duration
	metadata    metadata.MD
	rostersFrom int
}

// New makes a client of the service at target ("127.0.0.1:50051", "dns:///name:50051"). Nothing is
// dialled until the first call.
func New(target string, opts ...Option) (*Client, error) {
	if target == "" {
		return nil, errors.New("discretion: New: expected a target such as 127.0.0.1:50051")
	}
	o := options{timeout: 2 * time.Second, channels: 1, rostersFrom: RostersByReferenceFrom}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	transport := insecure.NewCredentials()
	if o.tls != nil {
		transport = credentials.NewTLS(o.tls)
	}
	dial := []grpc.DialOption{
		grpc.WithTransportCredentials(transport),
		grpc.WithDefaultServiceConfig(ServiceConfig),
		// A server gone without a word (its node lost) is noticed in 80 s; the server accepts pings every 10 s.
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 60 * time.Second, Timeout: 20 * time.Second}),
	}
	c := &Client{timeout: o.timeout, metadata: metadata.Pairs(o.metadata...), rostersFrom: o.rostersFrom}
	for i := 0; i < o.channels; i++ {
		conn, err := grpc.NewClient(target, dial...)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("discretion: New(%q): %w", target, err)
		}
		c.conns = append(c.conns, conn)
		c.stubs = append(c.stubs, v1.NewPolicyServiceClient(conn))
	}
	return c, nil
}

// Close closes every connection.
func (c *Client) Close() error {
	var first error
	for _, conn := range c.conns {
		if err := conn.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

type call struct {
	timeout   time.Duration
	requestID string
}

// CallOption configures one call.
type CallOption func(*call)

// WithCallTimeout is this call's deadline when its context has none.
func WithCallTimeout(d time.Duration) CallOption { return func(c *call) { c.timeout = d } }

// WithRequestID sends your id for the call as x-request-id; the server writes it on the call's
// decision-log lines (1–128 printable ASCII characters).
func WithRequestID(id string) CallOption { return func(c *call) { c.requestID = id } }

var requestID = regexp.MustCompile(`^[\x20-\x7e]{1,128}$`)

func (c *Client) prepare(ctx context.Context, opts []CallOption) (context.Context, context.CancelFunc, v1.PolicyServiceClient, error) {
	settings := call{timeout: c.timeout}
	for _, opt := range opts {
		opt(&settings)
	}
	if settings.timeout <= 0 {
		return nil, nil, nil, fmt.Errorf("discretion: WithCallTimeout(%v): expected a positive duration", settings.timeout)
	}
	md := c.metadata.Copy()
	if settings.requestID != "" {
		if !requestID.MatchString(settings.requestID) {
			return nil, nil, nil, fmt.Errorf("discretion: WithRequestID(%q): 1 to 128 printable ASCII characters", settings.requestID)
		}
		md.Set("x-request-id", settings.requestID)
	}
	ctx = metadata.NewOutgoingContext(ctx, metadata.Join(metadataOf(ctx), md))
	cancel := context.CancelFunc(func() {})
	if _, has := ctx.Deadline(); !has {
		// Every call gets a deadline: a call without one can hang for ever on a stuck server.
		ctx, cancel = context.WithTimeout(ctx, settings.timeout)
	}
	stub := c.stubs[int(c.next.Add(1)-1)%len(c.stubs)]
	return ctx, cancel, stub, nil
}

func metadataOf(ctx context.Context) metadata.MD {
	md, _ := metadata.FromOutgoingContext(ctx)
	return md
}

// Check decides one request. A deny is an answer, not an error: read the response's Decision.
func (c *Client) Check(ctx context.Context, request *v1.CheckRequest, opts ...CallOption) (*v1.CheckResponse, error) {
	ctx, cancel, stub, err := c.prepare(ctx, opts)
	if err != nil {
		return nil, err
	}
	defer cancel()
	response, err := ask(ctx, c, stub.Check, func(refs *rosterRefs) *v1.CheckRequest {
		return withRoster(withSpanUnit(request), refs)
	})
	if err != nil {
		return nil, err
	}
	if err := checked(response, len(request.GetItems()), ""); err != nil {
		return nil, err
	}
	return response, nil
}

// CheckBatch decides several requests in one call: one answer per request, in order.
func (c *Client) CheckBatch(ctx context.Context, requests []*v1.CheckRequest, opts ...CallOption) ([]*v1.CheckResponse, error) {
	ctx, cancel, stub, err := c.prepare(ctx, opts)
	if err != nil {
		return nil, err
	}
	defer cancel()
	response, err := ask(ctx, c, stub.CheckBatch, func(refs *rosterRefs) *v1.CheckBatchRequest {
		batch := &v1.CheckBatchRequest{Checks: make([]*v1.CheckRequest, len(requests))}
		for i, request := range requests {
			batch.Checks[i] = withRoster(withSpanUnit(request), refs)
		}
		return batch
	})
	if err != nil {
		return nil, err
	}
	if len(response.GetResults()) != len(requests) {
		return nil, unexpected("the batch asked %d questions and got %d answers", len(requests), len(response.GetResults()))
	}
	for i, result := range response.GetResults() {
		if err := checked(result, len(requests[i].GetItems()), fmt.Sprintf("results[%d].", i)); err != nil {
			return nil, err
		}
	}
	return response.GetResults(), nil
}

// IsAllowed is true only for DECISION_ALLOW: an allow with obligations must have them fulfilled first.
func (c *Client) IsAllowed(ctx context.Context, request *v1.CheckRequest, opts ...CallOption) (bool, error) {
	response, err := c.Check(ctx, request, opts...)
	if err != nil {
		return false, err
	}
	return response.GetDecision() == v1.Decision_DECISION_ALLOW, nil
}

// ListAgreements lists the agreements the server has loaded (those a tenant may use, under tenants).
func (c *Client) ListAgreements(ctx context.Context, opts ...CallOption) ([]*v1.AgreementInfo, error) {
	ctx, cancel, stub, err := c.prepare(ctx, opts)
	if err != nil {
		return nil, err
	}
	defer cancel()
	response, err := stub.ListAgreements(ctx, &v1.ListAgreementsRequest{})
	if err != nil {
		return nil, translate(err)
	}
	return response.GetAgreements(), nil
}

// GetInteractionPolicy says who may natively quote one post by the group's agreement, as ActivityPub,
// Mastodon and Bluesky each write it (README, "Where quoting happens").
func (c *Client) GetInteractionPolicy(ctx context.Context, request *v1.GetInteractionPolicyRequest, opts ...CallOption) (*v1.GetInteractionPolicyResponse, error) {
	ctx, cancel, stub, err := c.prepare(ctx, opts)
	if err != nil {
		return nil, err
	}
	defer cancel()
	response, err := ask(ctx, c, stub.GetInteractionPolicy, func(refs *rosterRefs) *v1.GetInteractionPolicyRequest {
		return withRoster(request, refs)
	})
	if err != nil {
		return nil, err
	}
	if _, known := v1.QuoteApproval_name[int32(response.GetApproval())]; !known || response.GetApproval() == v1.QuoteApproval_QUOTE_APPROVAL_UNSPECIFIED {
		return nil, unexpected("an approval this client does not know: %v", response.GetApproval())
	}
	if err := checked(response.GetQuote(), 1, "quote."); err != nil {
		return nil, err
	}
	return response, nil
}

// AnswerQuoteRequest answers an ActivityPub QuoteRequest by the group's agreement: an Accept with a
// QuoteAuthorization, a Reject, or pending on the author's approval.
func (c *Client) AnswerQuoteRequest(ctx context.Context, request *v1.AnswerQuoteRequestRequest, opts ...CallOption) (*v1.AnswerQuoteRequestResponse, error) {
	ctx, cancel, stub, err := c.prepare(ctx, opts)
	if err != nil {
		return nil, err
	}
	defer cancel()
	response, err := ask(ctx, c, stub.AnswerQuoteRequest, func(refs *rosterRefs) *v1.AnswerQuoteRequestRequest {
		return withRoster(request, refs)
	})
	if err != nil {
		return nil, err
	}
	switch response.GetAnswer() {
	case v1.QuoteAnswer_QUOTE_ANSWER_ACCEPT:
		if response.GetActivity() == nil {
			return nil, unexpected("an accept without an activity to send")
		}
	case v1.QuoteAnswer_QUOTE_ANSWER_PENDING:
		if response.GetActivity() != nil {
			return nil, unexpected("a pending answer with an activity")
		}
	case v1.QuoteAnswer_QUOTE_ANSWER_REJECT:
	default:
		return nil, unexpected("an answer to a quote request this client does not know: %v", response.GetAnswer())
	}
	if response.GetQuote() != nil {
		if err := checked(response.GetQuote(), 1, "quote."); err != nil {
			return nil, err
		}
	}
	return response, nil
}

// RecheckQuotes names the authorized quotes to detach now: those resting on a consent the post no longer
// holds in force.
func (c *Client) RecheckQuotes(ctx context.Context, request *v1.RecheckQuotesRequest, opts ...CallOption) (*v1.RecheckQuotesResponse, error) {
	ctx, cancel, stub, err := c.prepare(ctx, opts)
	if err != nil {
		return nil, err
	}
	defer cancel()
	response, err := ask(ctx, c, stub.RecheckQuotes, func(refs *rosterRefs) *v1.RecheckQuotesRequest {
		return withRoster(request, refs)
	})
	if err != nil {
		return nil, err
	}
	sent := map[string]bool{}
	for _, quote := range request.GetQuotes() {
		sent[quote.GetAuthorizationId()] = true
	}
	named := map[string]bool{}
	for _, detached := range response.GetDetach() {
		if !sent[detached.GetAuthorizationId()] || named[detached.GetAuthorizationId()] {
			return nil, unexpected("a quote to detach that was not sent, or named twice: %q", detached.GetAuthorizationId())
		}
		named[detached.GetAuthorizationId()] = true
	}
	return response, nil
}

// ask calls send with the message write makes: large rosters by digest (rosters.go), and once more,
// with the rosters the server says it lacks written beside their digests, so that it keeps them. Both
// attempts share the call's deadline.
func ask[Request proto.Message, Response any](ctx context.Context, c *Client,
	send func(context.Context, Request, ...grpc.CallOption) (Response, error), write func(*rosterRefs) Request) (Response, error) {
	refs := c.rosterRefs()
	response, err := send(ctx, write(refs))
	if err != nil {
		if again := refs.again(unknownRosters(err)); again != nil {
			response, err = send(ctx, write(again))
		}
	}
	if err != nil {
		var none Response
		return none, translate(err)
	}
	return response, nil
}

// withSpanUnit asks for spans in UTF-8 bytes, as Go strings are indexed, unless the request says: a
// shallow copy, so the caller's request is not changed and its roster not copied.
func withSpanUnit(request *v1.CheckRequest) *v1.CheckRequest {
	if request == nil || request.GetSpanUnit() != v1.SpanUnit_SPAN_UNIT_UNSPECIFIED {
		return request
	}
	copied := shallow(request)
	copied.SpanUnit = v1.SpanUnit_SPAN_UNIT_UTF8
	return copied
}

// ObligationTypes is every obligation the server can ask for. An answer carrying another is refused: a
// caller cannot fulfil what it does not know, and proceeding without it would leak.
var ObligationTypes = map[string]bool{
	"redact_author_identity":        true,
	"redact_author_affiliation":     true,
	"redact_descriptor":             true,
	"use_agreed_descriptor":         true,
	"redact_identifying_content":    true,
	"redact_participant_identities": true,
	"exclude_items":                 true,
	"require_author_consent":        true,
	"hold_until":                    true,
	"preserve_label":                true,
	"add_notice":                    true,
	"add_attribution":               true,
	"notify_affected_members":       true,
	"encrypt_in_transit":            true,
}

// checked refuses an answer that cannot be right: a decision or item outcome this client does not know
// is not read as anything at all, since acting on a guess could let content through.
func checked(response *v1.CheckResponse, items int, where string) error {
	switch response.GetDecision() {
	case v1.Decision_DECISION_ALLOW, v1.Decision_DECISION_ALLOW_WITH_OBLIGATIONS, v1.Decision_DECISION_DENY:
	default:
		return unexpected("the response's %sdecision is %v, which this client does not know how to act on", where, response.GetDecision())
	}
	if response.GetDecision() == v1.Decision_DECISION_ALLOW && len(response.GetObligations()) > 0 {
		return unexpected("the response's %sdecision is allow but carries obligations", where)
	}
	for i, obligation := range response.GetObligations() {
		if !ObligationTypes[obligation.GetType()] {
			return unexpected("the response's %sobligations[%d].type is %q, which this client does not know how to fulfil", where, i, obligation.GetType())
		}
	}
	if len(response.GetItems()) != items {
		return unexpected("the response's %sitems answer %d items, %d were asked about", where, len(response.GetItems()), items)
	}
	for i, item := range response.GetItems() {
		switch item.GetOutcome() {
		case v1.ItemOutcome_ITEM_OUTCOME_KEPT, v1.ItemOutcome_ITEM_OUTCOME_REDACTED, v1.ItemOutcome_ITEM_OUTCOME_EXCLUDED:
		default:
			return unexpected("the response's %sitems[%d].outcome is %v, which this client does not know", where, i, item.GetOutcome())
		}
	}
	return nil
}
