// Against a real `discretion serve`: tests/clients/test_typescript.py starts it and sets DISCRETION_TARGET.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";

import {
  Action,
  Client,
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
