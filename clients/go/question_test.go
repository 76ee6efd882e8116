package discretion_test

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/discretion/discretion/clients/go/discretionv1"
)

// chathamQuote is the README's question: Ana quotes Li Chen, in a roundtable held under the Chatham House Rule.
func chathamQuote() *v1.CheckRequest {
	chen := &v1.Person{Id: "u-chen", DisplayName: "Li Chen", Organization: "Northwind Bank"}
	return &v1.CheckRequest{
		Action: v1.Action_ACTION_QUOTE,
		Actor:  &v1.Actor{Id: "u-ana", DisplayName: "Ana Lopez", Organization: "Contoso", Member: true},
		Group: &v1.Group{
			Id: "g-roundtable",
			Adoptions: []*v1.Adoption{{Agreement: "chatham-house", Version: 1,
				EffectiveFrom: timestamppb.New(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))}},
			Participants: []*v1.Person{chen, {Id: "u-ana", DisplayName: "Ana Lopez", Organization: "Contoso"}},
		},
		Items: []*v1.Item{{Id: "m-1", Author: chen,
			PostedAt: timestamppb.New(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))}},
		Destination: &v1.Destination{Kind: v1.DestinationKind_DESTINATION_KIND_PUBLIC},
		Attribution: &v1.Attribution{AuthorIdentity: true},
		QuotedText:  "As Li Chen said, rates will rise.",
	}
}
