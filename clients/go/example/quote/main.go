// May Ana quote Li Chen in public? The README's example, run by the tests against a real server.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	discretion "github.com/discretion/discretion/clients/go"
	v1 "github.com/discretion/discretion/clients/go/discretionv1"
)

func main() {
	target := os.Getenv("DISCRETION_TARGET")
	if target == "" {
		target = "127.0.0.1:50051"
	}
	client, err := discretion.New(target, discretion.WithTimeout(2*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	chen := &v1.Person{Id: "u-chen", DisplayName: "Li Chen", Organization: "Northwind Bank"}
	answer, err := client.Check(context.Background(), &v1.CheckRequest{
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
	})
	if err != nil {
		log.Fatal(err) // no decision: do not proceed
	}
	fmt.Println(answer.GetDecision())
	for _, obligation := range answer.GetObligations() {
		var spans []string
		for _, span := range obligation.GetSpans() {
			spans = append(spans, fmt.Sprintf("%s[%d:%d]", span.GetField(), span.GetStart(), span.GetEnd()))
		}
		fmt.Println(strings.TrimRight("  "+obligation.GetType()+" "+strings.Join(spans, " "), " "))
	}
}
