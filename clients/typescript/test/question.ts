// The README's question: Ana quotes Li Chen, in a roundtable held under the Chatham House Rule.
import { Action, DestinationKind, timestampFromDate, type CheckRequestInit } from "../src/index.js";

export const CHEN = { id: "u-chen", displayName: "Li Chen", organization: "Northwind Bank" };

/** The question, with some of its fields replaced. */
export function chathamQuote(overrides: Record<string, unknown> = {}): CheckRequestInit {
  const question: CheckRequestInit = {
    action: Action.QUOTE,
    actor: { id: "u-ana", displayName: "Ana Lopez", organization: "Contoso", member: true },
    group: {
      id: "g-roundtable",
      adoptions: [{ agreement: "chatham-house", version: 1,
                    effectiveFrom: timestampFromDate(new Date("2026-02-01T00:00:00Z")) }],
      participants: [CHEN, { id: "u-ana", displayName: "Ana Lopez", organization: "Contoso" }],
    },
    items: [{ id: "m-1", author: CHEN, postedAt: timestampFromDate(new Date("2026-03-01T10:00:00Z")) }],
    destination: { kind: DestinationKind.PUBLIC },
    attribution: { authorIdentity: true },
    quotedText: "As Li Chen said, rates will rise.",
  };
  return { ...question, ...overrides } as CheckRequestInit;
}
