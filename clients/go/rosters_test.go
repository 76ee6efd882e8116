package discretion_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	discretion "github.com/discretion/discretion/clients/go"
	v1 "github.com/discretion/discretion/clients/go/discretionv1"
)

func TestRosterDigestsAreTheServers(t *testing.T) {
	// Each expected digest is what the server computes for the same people:
	//   .venv/bin/python -c "import sys; sys.path.insert(0,'service'); from discretion.server import rosters;
	//     from discretion.server._gen.discretion.v1 import policy_pb2 as pb; print(rosters.digest([...]))"
	// with the people written below as pb.Person(...).
	for _, vector := range []struct {
		people []*v1.Person
		digest string
	}{
		{[]*v1.Person{{Id: "a"}}, "sha256:0733535cc638c8250974cfa5be1a7b81ab8b28bdc178159704bff7924e1549ad"},
		{[]*v1.Person{{Id: "u-zoë", DisplayName: "Zoë Łukasiewicz-李晨", Organization: "Nørdwind Bank",
			Handles: []string{"@zoe", "@李晨"}, IsMinor: true, Aliases: []string{"Z.Ł.", "ゾーイ"},
			OrganizationAliases: []string{"NWB", "nørdwind.example"}}, {Id: "b", DisplayName: "Bo"}},
			"sha256:edfdb975be78d10446cb885adb3fe0daef174abe4130a2a6693c2045d0f0d5b6"},
		{nil, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	} {
		if got, err := discretion.RosterDigest(vector.people); err != nil || got != vector.digest {
			t.Errorf("RosterDigest(%v) = %q, %v; the server's is %q", vector.people, got, err, vector.digest)
		}
	}
}

func TestFieldsThisProtoDoesNotDefineAreNotInTheDigest(t *testing.T) {
	person := &v1.Person{Id: "a"}
	person.ProtoReflect().SetUnknown(protowire.AppendString(protowire.AppendTag(nil, 99, protowire.BytesType), "later"))
	got, err := discretion.RosterDigest([]*v1.Person{{Id: "z"}, person})
	want, _ := discretion.RosterDigest([]*v1.Person{{Id: "z"}, {Id: "a"}})
	if err != nil || got != want {
		t.Fatalf("%q, %v: want %q", got, err, want)
	}
	if len(person.ProtoReflect().GetUnknown()) == 0 {
		t.Fatal("the caller's person lost what it carried")
	}
}

// people is a roster of n made-up participants whose ids carry tag (so a server has never seen it), with
// names no test's text contains.
func people(n int, tag string) []*v1.Person {
	first := []string{"Amara", "Bojan", "Chiara", "Dmitri", "Emeka", "Farah", "Goran", "Hana", "Ilse", "Jonas"}
	last := []string{"Abara", "Brennan", "Castell", "Duarte", "Eklund", "Fontaine", "Grieve", "Haddad", "Ivers",
		"Jaskó", "Kovač", "Lindqvist", "Moreau", "Nakamura", "Okonkwo"}
	organizations := []string{"Fabrikam", "Tailspin Toys", "Litware", "Adventure Works", "Proseware"}
	roster := make([]*v1.Person, n)
	for i := range roster {
		roster[i] = &v1.Person{Id: fmt.Sprintf("u-%s-%03d", tag, i),
			DisplayName:  first[i%len(first)] + " " + last[i/len(first)%len(last)],
			Organization: organizations[i%len(organizations)]}
	}
	return roster
}

// keeper is a server that keeps rosters as the real one does, and answers anything a client accepts: what
// it records is every attempt as it arrived.
type keeper struct {
	v1.UnimplementedPolicyServiceServer
	mu    sync.Mutex
	kept  map[string]bool
	stuck bool // answers every digest as unknown, even beside its roster: no server should
	asked []proto.Message
}

func (k *keeper) resolve(request proto.Message, groups ...*v1.Group) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.asked = append(k.asked, request)
	failure := &errdetails.PreconditionFailure{}
	var keep []string
	for i, group := range groups {
		field := "group.roster_digest"
		if len(groups) > 1 {
			field = fmt.Sprintf("checks[%d].group.roster_digest", i)
		}
		switch digest := group.GetRosterDigest(); {
		case digest == "":
		case len(group.GetParticipants()) > 0 && !k.stuck:
			if theirs, _ := discretion.RosterDigest(group.GetParticipants()); theirs != digest {
				return status.Errorf(codes.InvalidArgument, "%s is not the participants' digest", field)
			}
			keep = append(keep, digest)
		case !k.kept[digest]:
			failure.Violations = append(failure.Violations, &errdetails.PreconditionFailure_Violation{
				Type: "ROSTER_UNKNOWN", Subject: digest, Description: field + ": a roster unknown here"})
		}
	}
	if len(failure.Violations) > 0 {
		unknown, _ := status.New(codes.FailedPrecondition, "rosters unknown here").WithDetails(failure)
		return unknown.Err()
	}
	for _, digest := range keep {
		k.kept[digest] = true
	}
	return nil
}

func allowed(items int) *v1.CheckResponse {
	answer := &v1.CheckResponse{Decision: v1.Decision_DECISION_ALLOW, DecisionId: "ab"}
	for range items {
		answer.Items = append(answer.Items, &v1.ItemResult{Outcome: v1.ItemOutcome_ITEM_OUTCOME_KEPT})
	}
	return answer
}

func (k *keeper) Check(_ context.Context, r *v1.CheckRequest) (*v1.CheckResponse, error) {
	return allowed(len(r.GetItems())), k.resolve(r, r.GetGroup())
}

func (k *keeper) CheckBatch(_ context.Context, r *v1.CheckBatchRequest) (*v1.CheckBatchResponse, error) {
	var groups []*v1.Group
	answer := &v1.CheckBatchResponse{}
	for _, check := range r.GetChecks() {
		groups = append(groups, check.GetGroup())
		answer.Results = append(answer.Results, allowed(len(check.GetItems())))
	}
	return answer, k.resolve(r, groups...)
}

func (k *keeper) GetInteractionPolicy(_ context.Context, r *v1.GetInteractionPolicyRequest) (*v1.GetInteractionPolicyResponse, error) {
	return &v1.GetInteractionPolicyResponse{Approval: v1.QuoteApproval_QUOTE_APPROVAL_NOBODY, Quote: allowed(1)},
		k.resolve(r, r.GetGroup())
}

func (k *keeper) AnswerQuoteRequest(_ context.Context, r *v1.AnswerQuoteRequestRequest) (*v1.AnswerQuoteRequestResponse, error) {
	return &v1.AnswerQuoteRequestResponse{Answer: v1.QuoteAnswer_QUOTE_ANSWER_REJECT}, k.resolve(r, r.GetGroup())
}

func (k *keeper) RecheckQuotes(_ context.Context, r *v1.RecheckQuotesRequest) (*v1.RecheckQuotesResponse, error) {
	return &v1.RecheckQuotesResponse{}, k.resolve(r, r.GetGroup())
}

// attempts is what each attempt carried, as "digest/participants sent", in order: "-/2" is a roster of
// two by value, "sha256:…/0" a digest alone.
func (k *keeper) attempts() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	var seen []string
	for _, request := range k.asked {
		var groups []*v1.Group
		if batch, ok := request.(*v1.CheckBatchRequest); ok {
			for _, check := range batch.GetChecks() {
				groups = append(groups, check.GetGroup())
			}
		} else {
			groups = append(groups, request.(interface{ GetGroup() *v1.Group }).GetGroup())
		}
		var written []string
		for _, group := range groups {
			digest := group.GetRosterDigest()
			if digest == "" {
				digest = "-"
			}
			written = append(written, fmt.Sprintf("%s/%d", digest, len(group.GetParticipants())))
		}
		seen = append(seen, strings.Join(written, " "))
	}
	k.asked = nil
	return seen
}

func serveKeeper(t *testing.T, options ...discretion.Option) (*keeper, *discretion.Client) {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	server := grpc.NewServer()
	k := &keeper{kept: map[string]bool{}}
	v1.RegisterPolicyServiceServer(server, k)
	go server.Serve(listener)
	t.Cleanup(server.Stop)
	client, err := discretion.New(listener.Addr().String(), append([]discretion.Option{discretion.WithTimeout(5 * time.Second)}, options...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return k, client
}

func TestALargeRosterIsSentOnceThenByItsDigestByEveryMethod(t *testing.T) {
	group, item := quotedPost("chatham-house")
	group.Participants = people(150, "every-method")
	digest, _ := discretion.RosterDigest(group.Participants)
	check := chathamQuote()
	check.Group = group
	ctx := context.Background()
	for method, call := range map[string]func(*discretion.Client) error{
		"Check": func(c *discretion.Client) error { _, err := c.Check(ctx, check); return err },
		"CheckBatch": func(c *discretion.Client) error {
			_, err := c.CheckBatch(ctx, []*v1.CheckRequest{check})
			return err
		},
		"GetInteractionPolicy": func(c *discretion.Client) error {
			_, err := c.GetInteractionPolicy(ctx, &v1.GetInteractionPolicyRequest{Group: group, Item: item})
			return err
		},
		"AnswerQuoteRequest": func(c *discretion.Client) error {
			_, err := c.AnswerQuoteRequest(ctx, &v1.AnswerQuoteRequestRequest{Group: group, Item: item})
			return err
		},
		"RecheckQuotes": func(c *discretion.Client) error {
			_, err := c.RecheckQuotes(ctx, &v1.RecheckQuotesRequest{Group: group, Item: item})
			return err
		},
	} {
		k, client := serveKeeper(t)
		before := proto.Clone(check)
		if err := call(client); err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		if err := call(client); err != nil {
			t.Fatalf("%s, again: %v", method, err)
		}
		alone, beside := digest+"/0", digest+"/150"
		if got := k.attempts(); !slices.Equal(got, []string{alone, beside, alone}) {
			t.Errorf("%s: attempts %v, want the digest alone, then with the roster, then alone", method, got)
		}
		if !proto.Equal(check, before) || group.GetRosterDigest() != "" || len(group.GetParticipants()) != 150 {
			t.Fatalf("%s: the caller's request was changed", method)
		}
	}
}

func TestABatchSendsAgainOnlyTheRostersTheServerLacks(t *testing.T) {
	k, client := serveKeeper(t)
	known, unknown := chathamQuote(), chathamQuote()
	known.Group.Participants = people(120, "known")
	unknown.Group.Participants = people(130, "unknown")
	small := chathamQuote()
	if _, err := client.Check(context.Background(), known); err != nil {
		t.Fatal(err)
	}
	k.attempts()
	knownDigest, _ := discretion.RosterDigest(known.Group.Participants)
	unknownDigest, _ := discretion.RosterDigest(unknown.Group.Participants)
	// The same group twice in a batch is one roster, digested once and sent once.
	if _, err := client.CheckBatch(context.Background(), []*v1.CheckRequest{known, unknown, small, unknown}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		strings.Join([]string{knownDigest + "/0", unknownDigest + "/0", "-/2", unknownDigest + "/0"}, " "),
		strings.Join([]string{knownDigest + "/0", unknownDigest + "/130", "-/2", unknownDigest + "/130"}, " "),
	}
	if got := k.attempts(); !slices.Equal(got, want) {
		t.Fatalf("attempts\n%v\nwant\n%v", got, want)
	}
}

func TestRostersGoByValueBelowTheSizeOrWhenTurnedOff(t *testing.T) {
	request := chathamQuote()
	request.Group.Participants = people(150, "by-value")
	for _, c := range []struct {
		options     []discretion.Option
		size        int
		byReference bool
	}{
		{nil, 99, false},
		{nil, 100, true},
		{[]discretion.Option{discretion.WithRostersByReferenceFrom(0)}, 150, false},
		{[]discretion.Option{discretion.WithRostersByReferenceFrom(2)}, 2, true},
	} {
		k, client := serveKeeper(t, c.options...)
		sent := proto.Clone(request).(*v1.CheckRequest)
		sent.Group.Participants = sent.Group.Participants[:c.size]
		if _, err := client.Check(context.Background(), sent); err != nil {
			t.Fatal(err)
		}
		want := []string{fmt.Sprintf("-/%d", c.size)}
		if c.byReference {
			digest, _ := discretion.RosterDigest(sent.Group.Participants)
			want = []string{digest + "/0", fmt.Sprintf("%s/%d", digest, c.size)}
		}
		if got := k.attempts(); !slices.Equal(got, want) {
			t.Errorf("%d participants, options %v: attempts %v, want %v", c.size, c.options, got, want)
		}
	}
}

func TestADigestTheCallerWroteIsSentAsWritten(t *testing.T) {
	k, client := serveKeeper(t)
	request := chathamQuote()
	request.Group.Participants = people(150, "written")
	request.Group.RosterDigest, _ = discretion.RosterDigest(request.Group.Participants)
	if _, err := client.Check(context.Background(), request); err != nil {
		t.Fatal(err)
	}
	request.Group.Participants = nil
	if _, err := client.Check(context.Background(), request); err != nil {
		t.Fatal(err)
	}
	k.kept = map[string]bool{}
	_, err := client.Check(context.Background(), request)
	if got := k.attempts(); len(got) != 3 || !errors.Is(err, discretion.ErrServer) {
		t.Fatalf("attempts %v, error %v: a roster the caller left out is not the client's to send", got, err)
	}
}

func TestARosterStillUnknownOnceSentIsAnError(t *testing.T) {
	k, client := serveKeeper(t)
	k.stuck = true
	request := chathamQuote()
	request.Group.Participants = people(150, "stuck")
	_, err := client.Check(context.Background(), request)
	var failed *discretion.Error
	if !errors.As(err, &failed) || !errors.Is(err, discretion.ErrServer) || failed.Code != "FAILED_PRECONDITION" {
		t.Fatalf("got %v", err)
	}
	if got := k.attempts(); len(got) != 2 {
		t.Fatalf("attempts %v: the roster is sent once, not again and again", got)
	}
}

func TestRostersByReferenceFromIsANumberOfParticipants(t *testing.T) {
	if _, err := discretion.New("127.0.0.1:1", discretion.WithRostersByReferenceFrom(-1)); err == nil {
		t.Fatal("a negative size was accepted")
	}
}

// recorder stands between a client and the real server, passing every call on as it came and keeping
// each request's bytes, so a test reads what was sent on the wire.
type recorder struct {
	mu   sync.Mutex
	sent [][]byte
}

type passBytes struct{}

func (passBytes) Marshal(v any) ([]byte, error)      { return *v.(*[]byte), nil }
func (passBytes) Unmarshal(data []byte, v any) error { *v.(*[]byte) = slices.Clone(data); return nil }
func (passBytes) Name() string                       { return "proto" }

func record(t *testing.T, target string) (*recorder, string) {
	t.Helper()
	upstream, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { upstream.Close() })
	r := &recorder{}
	server := grpc.NewServer(grpc.ForceServerCodec(passBytes{}),
		grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
			method, _ := grpc.MethodFromServerStream(stream)
			var request, response []byte
			if err := stream.RecvMsg(&request); err != nil {
				return err
			}
			r.mu.Lock()
			r.sent = append(r.sent, request)
			r.mu.Unlock()
			// One connection upstream: every call reaches the same worker, and so the rosters it kept.
			if err := upstream.Invoke(stream.Context(), method, &request, &response, grpc.ForceCodec(passBytes{})); err != nil {
				return err // its status, with the details that name unknown rosters
			}
			return stream.SendMsg(&response)
		}))
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go server.Serve(listener)
	t.Cleanup(server.Stop)
	return r, listener.Addr().String()
}

// groups are the (digest, participants) of each Check request recorded since the last look.
func (r *recorder) groups(t *testing.T) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var seen []string
	for _, sent := range r.sent {
		request := &v1.CheckRequest{}
		if err := proto.Unmarshal(sent, request); err != nil {
			t.Fatal(err)
		}
		seen = append(seen, fmt.Sprintf("%s/%d", request.GetGroup().GetRosterDigest(), len(request.GetGroup().GetParticipants())))
	}
	r.sent = nil
	return seen
}

func TestALargeChathamHouseRosterGoesByReferenceAndDecidesAsByValue(t *testing.T) {
	target := os.Getenv("DISCRETION_TARGET")
	if target == "" {
		t.Fatal("DISCRETION_TARGET names the server these tests ask (make test starts one)")
	}
	request := chathamQuote()
	roster := people(148, fmt.Sprint(time.Now().UnixNano())) // a roster this server has never been sent
	roster = slices.Insert(roster, 77, request.Group.Participants...)
	request.Group.Participants = roster
	digest, _ := discretion.RosterDigest(roster)

	byValue, err := discretion.New(target, discretion.WithTimeout(10*time.Second), discretion.WithRostersByReferenceFrom(0))
	if err != nil {
		t.Fatal(err)
	}
	defer byValue.Close()
	want, err := byValue.Check(context.Background(), request)
	if err != nil {
		t.Fatal(err)
	}
	redacted := false
	for _, o := range want.GetObligations() {
		for _, span := range o.GetSpans() {
			redacted = redacted || o.GetType() == "redact_identifying_content" &&
				request.QuotedText[span.GetStart():span.GetEnd()] == "Li Chen"
		}
	}
	if len(roster) != 150 || !redacted {
		t.Fatalf("by value, %d participants: %v", len(roster), want)
	}

	r, through := record(t, target)
	first, second := client(t, through), client(t, through)
	for i, c := range []struct {
		client *discretion.Client
		sent   []string
	}{
		{first, []string{digest + "/0", digest + "/150"}}, // a server without the roster: sent once it asks
		{first, []string{digest + "/0"}},                  // the same client again: the digest alone
		{second, []string{digest + "/0"}},                 // another client: the server kept the roster
	} {
		got, err := c.client.Check(context.Background(), request)
		if err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
		if sent := r.groups(t); !slices.Equal(sent, c.sent) {
			t.Fatalf("call %d sent %v, want %v", i+1, sent, c.sent)
		}
		got.DecisionId, want.DecisionId = "", ""
		if !proto.Equal(got, want) {
			t.Fatalf("call %d decided\n%v\nby value\n%v", i+1, got, want)
		}
	}
}

func client(t *testing.T, target string) *discretion.Client {
	t.Helper()
	c, err := discretion.New(target, discretion.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
