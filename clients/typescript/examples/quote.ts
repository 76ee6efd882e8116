// May Ana quote Li Chen in public? The README's example, run by the tests against a real server.
import { Action, Client, Decision, DestinationKind, timestampFromDate } from "@discretion/client";

const chen = { id: "u-chen", displayName: "Li Chen", organization: "Northwind Bank" };
const client = new Client(process.env.DISCRETION_TARGET ?? "127.0.0.1:50051", { timeoutMs: 2000 });
try {
  const answer = await client.check({
    action: Action.QUOTE,
    actor: { id: "u-ana", displayName: "Ana Lopez", organization: "Contoso", member: true },
    group: {
      id: "g-roundtable",
      adoptions: [{ agreement: "chatham-house", version: 1,
                    effectiveFrom: timestampFromDate(new Date("2026-02-01T00:00:00Z")) }],
      participants: [chen, { id: "u-ana", displayName: "Ana Lopez", organization: "Contoso" }],
    },
    items: [{ id: "m-1", author: chen, postedAt: timestampFromDate(new Date("2026-03-01T10:00:00Z")) }],
    destination: { kind: DestinationKind.PUBLIC },
    attribution: { authorIdentity: true },
    quotedText: "As Li Chen said, rates will rise.",
  });
  console.log(Decision[answer.decision]);
  for (const obligation of answer.obligations) {
    const spans = obligation.spans.map((span) => `${span.field}[${span.start}:${span.end}]`);
    console.log(`  ${obligation.type} ${spans.join(" ")}`.trimEnd());
  }
} finally {
  client.close();
}
