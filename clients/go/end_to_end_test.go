package discretion_test

import (
	"context"
	"errors"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	discretion "github.com/discretion/discretion/clients/go"
	v1 "github.com/discretion/discretion/clients/go/discretionv1"
)

// server is the real `discretion serve` tests/clients/test_go.py starts and names in DISCRETION_TARGET.
func server(t *testing.T) *discretion.Client {
	t.Helper()
	target := os.Getenv("DISCRETION_TARGET")
	if target == "" {
		t.Fatal("DISCRETION_TARGET names the server these tests ask (make test starts one)")
	}
	client, err := discretion.New(target, discretion.WithTimeout(10*time.Second), discretion.WithChannels(2))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return client
}

func TestTheREADMEQuestionIsAnsweredWithTheNamesToRedact(t *testing.T) {
	client := server(t)
	answer, err := client.Check(context.Background(), chathamQuote(), discretion.WithRequestID("go-req-1"))
	if err != nil {
		t.Fatal(err)
	}
	if answer.GetDecision() != v1.Decision_DECISION_ALLOW_WITH_OBLIGATIONS {
		t.Fatalf("decision %v, reason %q", answer.GetDecision(), answer.GetReason())
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(answer.GetDecisionId()) {
		t.Fatalf("decision id %q", answer.GetDecisionId())
	}
	var types []string
	for _, o := range answer.GetObligations() {
		types = append(types, o.GetType())
	}
	slices.Sort(types)
	if !slices.Equal(types, []string{"redact_author_identity", "redact_identifying_content"}) {
		t.Fatalf("obligations %v", types)
	}
	if allowed, err := client.IsAllowed(context.Background(), chathamQuote()); err != nil || allowed {
		t.Fatalf("IsAllowed = %v, %v: an allow with obligations is not an allow", allowed, err)
	}
}

func TestSpansCountBytesAsGoStringsDo(t *testing.T) {
	client := server(t)
	request := chathamQuote()
	request.QuotedText = "🎉 Él dijo: as Li Chen said, rates will rise."
	answer, err := client.Check(context.Background(), request)
	if err != nil {
		t.Fatal(err)
	}
	start := strings.Index(request.QuotedText, "Li Chen")
	for _, o := range answer.GetObligations() {
		for _, span := range o.GetSpans() {
			if span.GetField() == "quoted_text" && int(span.GetStart()) == start &&
				request.QuotedText[span.GetStart():span.GetEnd()] == "Li Chen" {
				if request.GetSpanUnit() != v1.SpanUnit_SPAN_UNIT_UNSPECIFIED {
					t.Fatal("the caller's request was changed")
				}
				return
			}
		}
	}
	t.Fatalf("no span of Li Chen at byte %d: %v", start, answer.GetObligations())
}

func TestABatchIsAnsweredInOrder(t *testing.T) {
	client := server(t)
	share := chathamQuote()
	share.Action = v1.Action_ACTION_SHARE
	share.Destination = &v1.Destination{Kind: v1.DestinationKind_DESTINATION_KIND_SAME_GROUP}
	share.QuotedText = ""
	answers, err := client.CheckBatch(context.Background(), []*v1.CheckRequest{chathamQuote(), share})
	if err != nil {
		t.Fatal(err)
	}
	if answers[0].GetDecision() != v1.Decision_DECISION_ALLOW_WITH_OBLIGATIONS ||
		answers[1].GetDecision() != v1.Decision_DECISION_ALLOW {
		t.Fatalf("decisions %v, %v", answers[0].GetDecision(), answers[1].GetDecision())
	}
}

func TestARefusalNamesTheField(t *testing.T) {
	client := server(t)
	nobody := chathamQuote()
	nobody.Actor = &v1.Actor{Member: true}
	_, err := client.CheckBatch(context.Background(), []*v1.CheckRequest{chathamQuote(), nobody})
	var refused *discretion.Error
	if !errors.As(err, &refused) || !errors.Is(err, discretion.ErrInvalidRequest) || refused.Code != "INVALID_ARGUMENT" {
		t.Fatalf("got %v", err)
	}
	if !slices.ContainsFunc(refused.FieldViolations, func(v discretion.FieldViolation) bool {
		return v.Field == "checks[1].actor.id"
	}) {
		t.Fatalf("violations %v", refused.FieldViolations)
	}
}

func TestTheLoadedAgreementsAreListed(t *testing.T) {
	agreements, err := server(t).ListAgreements(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(agreements, func(a *v1.AgreementInfo) bool { return a.GetId() == "chatham-house" }) {
		t.Fatalf("agreements %v", agreements)
	}
}

func TestACallGivesUpAtItsDeadline(t *testing.T) {
	_, err := server(t).Check(context.Background(), chathamQuote(), discretion.WithCallTimeout(time.Microsecond))
	if !errors.Is(err, discretion.ErrDeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
}

func TestNoServerIsUnavailableOnceTheRetriesAreSpent(t *testing.T) {
	client, err := discretion.New("127.0.0.1:1", discretion.WithTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if _, err := client.Check(context.Background(), chathamQuote()); !errors.Is(err, discretion.ErrUnavailable) {
		t.Fatalf("got %v", err)
	}
}
