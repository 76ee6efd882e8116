// Against a real `discretion serve`: tests/clients/test_typescript.py starts it and sets DISCRETION_TARGET.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";

import { fromBinary } from "@bufbuild/protobuf";

import {
  Action,
  CheckBatchRequestSchema,
  CheckRequestSchema,
  Client,
  QuoteAnswer,
  QuoteApproval,
  Decision,
  DeadlineExceededError,
  DestinationKind,
  InvalidRequestError,
  ItemOutcome,
  UnavailableError,
  AnswerQuoteRequestRequestSchema,
  GetInteractionPolicyRequestSchema,
  RecheckQuotesRequestSchema,
  rosterDigest,
  timestampFromDate,
  type CheckResponse,
  type Group,
} from "../src/index.js";
import { chathamQuote } from "./question.js";
import { forward, type Recording } from "./recording.js";

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

describe("a large group's roster, by reference", () => {
  // 150 people, one of whom the quote names; one id is this run's, so no earlier run's roster is held.
  const FIRST = ["Amara", "Bruno", "Chiara", "Dmitri", "Elif", "Farid", "Greta", "Hiroshi", "Ines", "Jonas",
                 "Kavya", "Lars", "Mei", "Nadia", "Oskar"];
  const LAST = ["Okafor", "Lindqvist", "Moreau", "Tanaka", "Castillo", "Novak", "Haddad", "Brennan", "Silva",
                "Kowalczyk"];
  const participants = FIRST.flatMap((first, i) => LAST.map((last, j) => ({
    id: i + j === 0 ? `u-${randomUUID()}` : `u-${first}-${last}`.toLowerCase(),
    displayName: `${first} ${last}`, organization: ["Northwind Bank", "Contoso", "Fabrikam"][(i + j) % 3]!,
  })));
  const named = "Greta Tanaka";
  const quotedText = `As ${named} said, rates will rise.`;
  const group = { id: "g-ts-large", participants,
                  adoptions: [{ agreement: "chatham-house", version: 1,
                                effectiveFrom: timestampFromDate(new Date("2026-02-01T00:00:00Z")) }] };
  const question = chathamQuote({ group, quotedText });
  const digest = rosterDigest(participants);

  let proxy: Recording;
  const clients: Client[] = [];
  const client = (options = {}) => {
    const made = new Client(proxy.target, { timeoutMs: 10_000, ...options });
    clients.push(made);
    return made;
  };
  before(async () => { proxy = await forward(target); });
  after(() => {
    for (const made of clients) made.close();
    proxy.close();
  });

  /** The groups of the requests that reached the server since the last look: (digest, participants sent). */
  function sent(): [string, number][][] {
    const one = { Check: CheckRequestSchema, GetInteractionPolicy: GetInteractionPolicyRequestSchema,
                  AnswerQuoteRequest: AnswerQuoteRequestRequestSchema, RecheckQuotes: RecheckQuotesRequestSchema };
    const groups = proxy.asked.splice(0).map(({ method, request }) =>
      method === "CheckBatch" ? fromBinary(CheckBatchRequestSchema, request).checks.map((c) => c.group)
        : [fromBinary(one[method as keyof typeof one], request).group]);
    return groups.map((each) => each.map((g?: Group) => [g?.rosterDigest ?? "", g?.participants.length ?? 0]));
  }
  /** A call by reference: named first, and sent beside the name only if this server's replica lacked it. */
  function byReferenceOnce(requests: [string, number][][]): void {
    assert.ok([1, 2].includes(requests.length), JSON.stringify(requests));
    assert.deepEqual(requests, [[[digest, 0]], [[digest, 150]]].slice(0, requests.length));
  }
  const decided = (answer: CheckResponse) => ({ ...answer, decisionId: "" });

  it("decides a Chatham House quote as by value, the roster sent once and then named", async () => {
    assert.equal(participants.length, 150);
    const byValue = await client({ rostersByReferenceFrom: null }).check(question);
    assert.deepEqual(sent(), [[["", 150]]]);
    const spans = byValue.obligations.filter((o) => o.type === "redact_identifying_content")
      .flatMap((o) => o.spans).filter((s) => s.field === "quoted_text");
    assert.ok(spans.some((s) => quotedText.slice(s.start, s.end) === named), JSON.stringify(byValue.obligations));

    const first = client();
    // A server that never had the roster: named, refused, sent beside the digest, decided; one call to the caller.
    assert.deepEqual(decided(await first.check(question)), decided(byValue));
    assert.deepEqual(sent(), [[[digest, 0]], [[digest, 150]]]);
    // Then named alone, by this client and by another.
    assert.deepEqual(decided(await first.check(question)), decided(byValue));
    assert.deepEqual(sent(), [[[digest, 0]]]);
    assert.deepEqual(decided(await client().check(question, { requestId: "ts-roster-2" })), decided(byValue));
    assert.deepEqual(sent(), [[[digest, 0]]]);
  });

  it("names the roster in a batch and in every quote call, with the answers it gives by value", async () => {
    const byReference = client();
    const byValue = client({ rostersByReferenceFrom: null });
    const batch = [question, chathamQuote(), chathamQuote({ group, action: Action.SHARE, quotedText: "",
                                                            destination: { kind: DestinationKind.SAME_GROUP } })];
    const answers = await byReference.checkBatch(batch);
    assert.deepEqual(sent(), [[[digest, 0], ["", 2], [digest, 0]]]);
    assert.deepEqual(answers.map(decided), (await byValue.checkBatch(batch)).map(decided));
    assert.deepEqual(answers.map((a) => a.decision),
                     [Decision.ALLOW_WITH_OBLIGATIONS, Decision.ALLOW_WITH_OBLIGATIONS, Decision.ALLOW]);
    assert.deepEqual(sent(), [[["", 150], ["", 2], ["", 150]]]);

    const ann = participants[0]!;
    const item = { id: "p-1", author: ann, text: "Rates will rise in March.", link: "https://forum.example/p/1" };
    const authorUri = "https://forum.example/users/ann";
    const policy = async (asker: Client) => {
      const answer = await asker.getInteractionPolicy({ group, item, authorUri });
      return [answer.approval, answer.canQuote, answer.quoteApprovalPolicy, answer.textShare?.decision];
    };
    // Each answer by reference, then by value: the roster named first, and sent whole only by value.
    const same = async <T>(ask: (asker: Client) => Promise<T>) => {
      const named = await ask(byReference);
      byReferenceOnce(sent());
      assert.deepEqual(named, await ask(byValue));
      assert.deepEqual(sent(), [[["", 150]]]);
    };
    await same(policy);
    const activity = { type: "QuoteRequest", id: "https://elsewhere.example/qr/1",
                       actor: "https://elsewhere.example/users/q", object: "https://forum.example/p/1",
                       instrument: "https://elsewhere.example/statuses/9" };
    const quoteAnswer = async (asker: Client) => (await asker.answerQuoteRequest({
      group, item, activity, authorUri, authorizationBaseUri: "https://forum.example/qa" })).answer;
    await same(quoteAnswer);
    const recheck = async (asker: Client) => (await asker.recheckQuotes({
      group, item, authorUri, quotes: [{ authorizationId: "https://forum.example/qa/1" }] })).detach;
    await same(recheck);
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
