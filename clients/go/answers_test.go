package discretion_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	discretion "github.com/discretion/discretion/clients/go"
	v1 "github.com/discretion/discretion/clients/go/discretionv1"
)

// fake answers each Check with what a test chose: answers no correct server gives, which is the one thing
// a real server cannot be made to do.
type fake struct {
	v1.UnimplementedPolicyServiceServer
	answer *v1.CheckResponse
	asked  *v1.CheckRequest
}

func (f *fake) Check(_ context.Context, request *v1.CheckRequest) (*v1.CheckResponse, error) {
	f.asked = request
	return f.answer, nil
}

func serveFake(t *testing.T) (*fake, *discretion.Client) {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	server := grpc.NewServer()
	f := &fake{}
	v1.RegisterPolicyServiceServer(server, f)
	go server.Serve(listener)
	t.Cleanup(server.Stop)
	client, err := discretion.New(listener.Addr().String(), discretion.WithTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return f, client
}

func TestAnAnswerThatCannotBeRightIsRefused(t *testing.T) {
	f, client := serveFake(t)
	kept := &v1.ItemResult{ItemId: "m-1", Outcome: v1.ItemOutcome_ITEM_OUTCOME_KEPT, Decision: v1.Decision_DECISION_ALLOW}
	for what, answer := range map[string]*v1.CheckResponse{
		"a decision this client does not know": {Decision: v1.Decision(42), Items: []*v1.ItemResult{kept}},
		"an unspecified decision":              {Items: []*v1.ItemResult{kept}},
		"an allow carrying obligations": {Decision: v1.Decision_DECISION_ALLOW, Items: []*v1.ItemResult{kept},
			Obligations: []*v1.Obligation{{Type: "redact_author_identity"}}},
		"fewer item results than items": {Decision: v1.Decision_DECISION_ALLOW},
		"an obligation this client does not know how to fulfil": {Decision: v1.Decision_DECISION_ALLOW_WITH_OBLIGATIONS,
			Items:       []*v1.ItemResult{kept},
			Obligations: []*v1.Obligation{{Type: "redact_author_identity"}, {Type: "send_to_regulator"}}},
		"an item outcome this client does not know": {Decision: v1.Decision_DECISION_ALLOW,
			Items: []*v1.ItemResult{{ItemId: "m-1", Outcome: v1.ItemOutcome(9)}}},
	} {
		f.answer = answer
		_, err := client.Check(context.Background(), chathamQuote())
		if !errors.Is(err, discretion.ErrUnexpectedAnswer) || !errors.Is(err, discretion.ErrServer) {
			t.Errorf("%s: got %v", what, err)
		}
	}
}

func TestSpansAreAskedInUTF8UnlessTheRequestSays(t *testing.T) {
	f, client := serveFake(t)
	f.answer = &v1.CheckResponse{Decision: v1.Decision_DECISION_ALLOW, DecisionId: "ab",
		Items: []*v1.ItemResult{{ItemId: "m-1", Outcome: v1.ItemOutcome_ITEM_OUTCOME_KEPT}}}
	request := chathamQuote()
	before := proto.Clone(request)
	answer, err := client.Check(context.Background(), request)
	if err != nil || answer.GetDecisionId() != "ab" {
		t.Fatalf("%v, %v", answer, err)
	}
	if f.asked.GetSpanUnit() != v1.SpanUnit_SPAN_UNIT_UTF8 {
		t.Fatalf("span unit sent: %v", f.asked.GetSpanUnit())
	}
	if !proto.Equal(request, before) {
		t.Fatal("the caller's request was changed")
	}
	request.SpanUnit = v1.SpanUnit_SPAN_UNIT_CODE_POINT
	if _, err := client.Check(context.Background(), request); err != nil || f.asked.GetSpanUnit() != v1.SpanUnit_SPAN_UNIT_CODE_POINT {
		t.Fatalf("span unit sent: %v (%v)", f.asked.GetSpanUnit(), err)
	}
}

func TestArgumentsThatCannotBeSentAreRefusedBeforeAnyCall(t *testing.T) {
	for _, options := range [][]discretion.Option{
		{discretion.WithTimeout(0)}, {discretion.WithChannels(0)}, {discretion.WithMetadata("authorization")},
	} {
		if _, err := discretion.New("127.0.0.1:1", options...); err == nil {
			t.Errorf("options %v were accepted", options)
		}
	}
	if _, err := discretion.New(""); err == nil {
		t.Error("an empty target was accepted")
	}
	client, err := discretion.New("127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	for _, id := range []string{"line\nbreak", string(make([]byte, 129))} {
		if _, err := client.Check(context.Background(), chathamQuote(), discretion.WithRequestID(id)); err == nil {
			t.Errorf("request id %q was accepted", id)
		}
	}
}
