// Against a real `discretion serve`: tests/clients/test_typescript.py starts it and sets DISCRETION_TARGET.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";

import {
  Action,
  Client,
  QuoteAnswer,
  QuoteApproval,
  Decision,
  DeadlineExceededError,
  DestinationKind,
  InvalidRequestError,
  ItemOutcome,
  UnavailableError,
} from "../src/index.js";
import { chathamQuote } from "./question.js";

const target = process.env.DISCRETION_TARGET;
if (!target) throw new Error("DISCRETION_TARGET names the server these tests ask (make test starts one)");

describe("a real server", () => {
  const client = new Client(target, { timeoutMs: 10_000, channels: 2 });
  after(() => client.close());

  const ann = { id: "u-ann", displayName: "Ann Author", organization: "Northwind Bank" };
  const quoted = (agreement: string) => ({
    group: { id: "g-ts-quotes", adoptions: [{ agreement, version: 1 }], participants: [ann] },
    item: { id: "p-1", author: ann, text: "Rates will rise in March.", link: "https://forum.example/p/1" },
  });

  it("keeps native quotes of a Chatham House post to its author, and lets the words travel", async () => {
    const answer = await client.getInteractionPolicy({ ...quoted("chatham-house"),
                                                      authorUri: "https://forum.example/users/ann" });
    assert.equal(answer.approval, QuoteApproval.NOBODY);
    assert.deepEqual(answer.canQuote?.automaticApproval, ["https://forum.example/users/ann"]);
    assert.equal(answer.quoteApprovalPolicy, "nobody");
    assert.equal(answer.textShare?.decision, Decision.ALLOW);
  });

  it("accepts a quote request for an open post, and detaches a quote whose consent was withdrawn", async () => {
    const activity = { type: "QuoteRequest", id: "https://elsewhere.example/qr/1",
                       actor: "https://elsewhere.example/users/q", object: "https://forum.example/p/1",
                       instrument: "https://elsewhere.example/statuses/9" };
    const answer = await client.answerQuoteRequest({ ...quoted("open-with-opt-out"), activity,
                                                    authorUri: "https://forum.example/users/ann",
                                                    authorizationBaseUri: "https://forum.example/qa" });
    assert.equal(answer.answer, QuoteAnswer.ACCEPT);
    const result = answer.activity?.["result"] as Record<string, unknown> | undefined;
    assert.equal(result?.["type"], "QuoteAuthorization");
    assert.equal(result?.["interactionTarget"], "https://forum.example/p/1");
    const { group, item } = quoted("open-with-opt-out");
    const withdrawn = { by: "u-ann", scope: "share_outside", id: "c-1",
                        grantedAt: { seconds: 1772409600n }, withdrawnAt: { seconds: 1772496000n } };
    const recheck = await client.recheckQuotes({
      group, item: { ...item, consents: [withdrawn] }, authorUri: "https://forum.example/users/ann",
      quotes: [{ authorizationId: "https://forum.example/qa/1", consentId: "c-1" },
               { authorizationId: "https://forum.example/qa/2" }] });
    assert.deepEqual(recheck.detach.map((d) => d.authorizationId), ["https://forum.example/qa/1"]);
  });

  it("answers the README's question: the quote may be used, the speaker and the name in it redacted", async () => {
    const answer = await client.check(chathamQuote(), { requestId: "ts-req-1" });
    assert.equal(answer.decision, Decision.ALLOW_WITH_OBLIGATIONS);
    assert.match(answer.decisionId, /^[0-9a-f]{32}$/);
    assert.deepEqual(answer.obligations.map((o) => o.type).sort(),
                     ["redact_author_identity", "redact_identifying_content"]);
    assert.equal(answer.items[0]?.outcome, ItemOutcome.REDACTED);
    assert.equal(await client.isAllowed(chathamQuote()), false);
  });

  it("counts spans as JavaScript strings do: in UTF-16 code units", async () => {
    const quotedText = "🎉 As Li Chen said, rates will rise.";
    const answer = await client.check(chathamQuote({ quotedText }));
    const spans = answer.obligations.flatMap((o) => o.spans).filter((s) => s.field === "quoted_text");
    assert.ok(spans.length > 0, JSON.stringify(answer.obligations));
    const start = quotedText.indexOf("Li Chen");
    assert.ok(spans.some((s) => s.start === start && quotedText.slice(s.start, s.end) === "Li Chen"),
              JSON.stringify(spans));
  });

  it("answers a batch in order, each decision with its own id", async () => {
    const answers = await client.checkBatch([
      chathamQuote(),
      chathamQuote({ action: Action.SHARE, destination: { kind: DestinationKind.SAME_GROUP }, quotedText: "" }),
    ]);
    assert.deepEqual(answers.map((a) => a.decision), [Decision.ALLOW_WITH_OBLIGATIONS, Decision.ALLOW]);
    assert.notEqual(answers[0]?.decisionId, answers[1]?.decisionId);
  });

  it("refuses a request it cannot understand, naming the field", async () => {
    const request = chathamQuote({ actor: { member: true } });  // who asks is not said
    await assert.rejects(client.checkBatch([chathamQuote(), request]), (error: unknown) => {
      assert.ok(error instanceof InvalidRequestError);
      assert.equal(error.code, "INVALID_ARGUMENT");
      assert.ok(error.fieldViolations.some((v) => v.field === "checks[1].actor.id"),
                JSON.stringify(error.fieldViolations));
      return true;
    });
  });

  it("lists the loaded agreements", async () => {
    const agreements = await client.listAgreements();
    assert.ok(agreements.some((a) => a.id === "chatham-house"), JSON.stringify(agreements.map((a) => a.id)));
  });

  it("gives up at the call's deadline", async () => {
    await assert.rejects(client.check(chathamQuote(), { timeoutMs: 0.001 }), DeadlineExceededError);
  });
});

describe("no server", () => {
  it("is UNAVAILABLE once the retries are spent", async () => {
    const nowhere = new Client("127.0.0.1:1", { timeoutMs: 5_000 });
    try {
      await assert.rejects(nowhere.check(chathamQuote()), UnavailableError);
    } finally {
      nowhere.close();
    }
  });
});
