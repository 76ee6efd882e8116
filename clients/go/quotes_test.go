package discretion_test

import (
	"context"
	"testing"
	"time"

	v1 "github.com/discretion/discretion/clients/go/discretionv1"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func quotedPost(agreement string) (*v1.Group, *v1.Item) {
	ann := &v1.Person{Id: "u-ann", DisplayName: "Ann Author", Organization: "Northwind Bank"}
	group := &v1.Group{Id: "g-go-quotes", Participants: []*v1.Person{ann},
		Adoptions: []*v1.Adoption{{Agreement: agreement, Version: 1,
			EffectiveFrom: timestamppb.New(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))}}}
	item := &v1.Item{Id: "p-1", Author: ann, Text: "Rates will rise in March.", Link: "https://forum.example/p/1",
		PostedAt: timestamppb.New(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))}
	return group, item
}

func TestAChathamHousePostIsQuotedNativelyByNobodyButItsAuthor(t *testing.T) {
	client := server(t)
	group, item := quotedPost("chatham-house")
	answer, err := client.GetInteractionPolicy(context.Background(), &v1.GetInteractionPolicyRequest{
		Group: group, Item: item, AuthorUri: "https://forum.example/users/ann"})
	if err != nil {
		t.Fatal(err)
	}
	if answer.GetApproval() != v1.QuoteApproval_QUOTE_APPROVAL_NOBODY || answer.GetQuoteApprovalPolicy() != "nobody" {
		t.Fatalf("approval %v, Mastodon %q", answer.GetApproval(), answer.GetQuoteApprovalPolicy())
	}
	if got := answer.GetCanQuote().GetAutomaticApproval(); len(got) != 1 || got[0] != "https://forum.example/users/ann" {
		t.Fatalf("canQuote automaticApproval %v", got)
	}
	if answer.GetTextShare().GetDecision() != v1.Decision_DECISION_ALLOW {
		t.Fatalf("text share %v: the words may travel without the name", answer.GetTextShare().GetDecision())
	}
}

func TestAQuoteRequestForAnOpenPostIsAcceptedAndAWithdrawnConsentDetachesItsQuote(t *testing.T) {
	client := server(t)
	group, item := quotedPost("open-with-opt-out")
	activity, err := structpb.NewStruct(map[string]any{
		"type": "QuoteRequest", "id": "https://elsewhere.example/qr/1", "actor": "https://elsewhere.example/users/q",
		"object": "https://forum.example/p/1", "instrument": "https://elsewhere.example/statuses/9"})
	if err != nil {
		t.Fatal(err)
	}
	answer, err := client.AnswerQuoteRequest(context.Background(), &v1.AnswerQuoteRequestRequest{
		Group: group, Item: item, Activity: activity, AuthorUri: "https://forum.example/users/ann",
		AuthorizationBaseUri: "https://forum.example/qa"})
	if err != nil {
		t.Fatal(err)
	}
	result := answer.GetActivity().GetFields()["result"].GetStructValue().GetFields()
	if answer.GetAnswer() != v1.QuoteAnswer_QUOTE_ANSWER_ACCEPT || result["type"].GetStringValue() != "QuoteAuthorization" ||
		result["interactingObject"].GetStringValue() != "https://elsewhere.example/statuses/9" {
		t.Fatalf("answer %v, activity %v", answer.GetAnswer(), answer.GetActivity())
	}
	item.Consents = []*v1.Consent{{By: "u-ann", Scope: "share_outside", Id: "c-1",
		GrantedAt:   timestamppb.New(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)),
		WithdrawnAt: timestamppb.New(time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC))}}
	recheck, err := client.RecheckQuotes(context.Background(), &v1.RecheckQuotesRequest{
		Group: group, Item: item, AuthorUri: "https://forum.example/users/ann",
		Quotes: []*v1.IssuedQuote{{AuthorizationId: "https://forum.example/qa/1", ConsentId: "c-1"},
			{AuthorizationId: "https://forum.example/qa/2"}}})
	if err != nil {
		t.Fatal(err)
	}
	if detach := recheck.GetDetach(); len(detach) != 1 || detach[0].GetAuthorizationId() != "https://forum.example/qa/1" {
		t.Fatalf("detach %v", detach)
	}
}
