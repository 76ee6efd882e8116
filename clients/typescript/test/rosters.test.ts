// A large group's roster by reference: the digest every server computes, and the client's second sending of a
// roster the server lacks, against a fake server that keeps rosters as a real one does (end_to_end.test.ts
// asks a real one).
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";

import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";

import {
  CheckBatchRequestSchema,
  CheckBatchResponseSchema,
  CheckRequestSchema,
  CheckResponseSchema,
  Client,
  Decision,
  GroupSchema,
  ItemOutcome,
  PersonSchema,
  RosterUnknownError,
  ServerError,
  rosterDigest,
  type CheckRequest,
  type CheckRequestInit,
  type Group,
  type PersonInit,
} from "../src/index.js";
import { PreconditionFailureSchema } from "../src/gen/google/rpc/error_details_pb.js";
import { StatusSchema } from "../src/gen/google/rpc/status_pb.js";
import { chathamQuote } from "./question.js";
import { serve, type Failure, type Recording } from "./recording.js";

describe("a roster's digest", () => {
  it("is the server's", () => {
    // Both made by the server's own function, discretion.server.rosters.digest, over the same people:
    //   python -c "...; print(rosters.digest([pb.Person(id='a')]))"
    assert.equal(rosterDigest([{ id: "a" }]),
                 "sha256:0733535cc638c8250974cfa5be1a7b81ab8b28bdc178159704bff7924e1549ad");
    //   python -c "...; print(rosters.digest([pb.Person(id='u-zoë', display_name='Zoë Ødegård 李晨',
    //     organization='Société Générale', handles=['@zoe', '@zoë'], is_minor=True, aliases=['Z.Ø.', 'ゾエ'],
    //     organization_aliases=['SG', 'socgen.example']), pb.Person(id='u-b', display_name='B 🎉')]))"
    assert.equal(rosterDigest([RICH, { id: "u-b", displayName: "B 🎉" }]),
                 "sha256:c0800c1c8cb868f2004dc1cceb85fef312f58bbcfa275994081312b9af2f57d8");
    // Nobody: the SHA-256 of no bytes at all.
    assert.equal(rosterDigest([]), "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });

  it("is the same for messages as for plain objects, and leaves out fields this proto does not define", () => {
    const message = create(PersonSchema, RICH);
    // Field 99, a string "x": what a newer proto's Person might carry.
    const newer = fromBinary(PersonSchema, new Uint8Array([...toBinary(PersonSchema, message), 0x9a, 0x06, 1, 0x78]));
    assert.equal(rosterDigest([message]), rosterDigest([RICH]));
    assert.equal(rosterDigest([newer]), rosterDigest([RICH]));
  });
});

const RICH: PersonInit = {
  id: "u-zoë", displayName: "Zoë Ødegård 李晨", organization: "Société Générale", handles: ["@zoe", "@zoë"],
  isMinor: true, aliases: ["Z.Ø.", "ゾエ"], organizationAliases: ["SG", "socgen.example"],
};

/** A roster of `size` people, `tag` making it one no other test sends. */
function roster(size: number, tag: string): PersonInit[] {
  return Array.from({ length: size }, (_, index) => ({ id: `u-${tag}-${index}`, displayName: `Person ${index}` }));
}

function withRoster(participants: PersonInit[] | MessageInitShape<typeof GroupSchema>): CheckRequestInit {
  const group = Array.isArray(participants) ? { id: "g-large", adoptions: [{ agreement: "chatham-house", version: 1 }],
                                                participants } : participants;
  return chathamQuote({ group });
}

/**
 * What a server that keeps rosters does, as the proto says: a digest sent with participants must be theirs
 * and is kept; one sent alone is read from what was kept, or is FAILED_PRECONDITION naming it.
 */
class Keeper {
  held = new Set<string>();
  /** Answer every call with this instead. */
  failure: Failure | undefined;

  answer(method: string, request: Buffer): Uint8Array {
    if (this.failure !== undefined) throw this.failure;
    const checks: CheckRequest[] = method === "Check" ? [fromBinary(CheckRequestSchema, request)]
                                                      : fromBinary(CheckBatchRequestSchema, request).checks;
    const missing: [string, string][] = [];
    checks.forEach((check, index) => {
      const digest = check.group?.rosterDigest ?? "";
      if (digest === "") return;
      if (check.group!.participants.length > 0) {
        assert.equal(digest, rosterDigest(check.group!.participants));
        this.held.add(digest);
      } else if (!this.held.has(digest)) {
        missing.push([method === "Check" ? "group.roster_digest" : `checks[${index}].group.roster_digest`, digest]);
      }
    });
    if (missing.length > 0) throw rosterUnknown(missing);
    const results = checks.map((check) => create(CheckResponseSchema, {
      decision: Decision.ALLOW,
      items: check.items.map((item) => ({ itemId: item.id, outcome: ItemOutcome.KEPT, decision: Decision.ALLOW })),
    }));
    return method === "Check" ? toBinary(CheckResponseSchema, results[0]!)
                              : toBinary(CheckBatchResponseSchema, create(CheckBatchResponseSchema, { results }));
  }
}

/** FAILED_PRECONDITION as the server writes it: a google.rpc.Status with a PreconditionFailure in trailers. */
function rosterUnknown(missing: [string, string][]): Failure {
  const failure = create(PreconditionFailureSchema, {
    violations: missing.map(([field, digest]) => ({ type: "ROSTER_UNKNOWN", subject: digest,
                                                     description: `${field}: send the participants` })),
  });
  const details = `${missing.length} roster(s) unknown here`;
  const status = create(StatusSchema, { code: grpc.status.FAILED_PRECONDITION, message: details,
                                        details: [anyPack(PreconditionFailureSchema, failure)] });
  const metadata = new grpc.Metadata();
  metadata.set("grpc-status-details-bin", Buffer.from(toBinary(StatusSchema, status)));
  return { code: grpc.status.FAILED_PRECONDITION, details, metadata };
}

describe("rosters by reference, against a server that keeps them", () => {
  const keeper = new Keeper();
  let server: Recording;
  let client: Client;

  before(async () => {
    server = await serve(async (method, request) => keeper.answer(method, request));
    client = new Client(server.target, { timeoutMs: 5_000 });
  });
  after(() => {
    client.close();
    server.close();
  });
  beforeEach(() => {
    keeper.held.clear();
    keeper.failure = undefined;
    server.asked.length = 0;
  });

  /** Each request so far, each group as (its digest, how many participants it carried). */
  function asked(): [string, number][][] {
    return server.asked.map(({ method, request }) => {
      const checks = method === "Check" ? [fromBinary(CheckRequestSchema, request)]
                                        : fromBinary(CheckBatchRequestSchema, request).checks;
      return checks.map((check) => [check.group?.rosterDigest ?? "", check.group?.participants.length ?? 0]);
    });
  }

  it("sends a large roster by digest, and beside it only when the server lacks it", async () => {
    const participants = roster(150, "one");
    const digest = rosterDigest(participants);
    assert.equal((await client.check(withRoster(participants))).decision, Decision.ALLOW);
    assert.deepEqual(asked(), [[[digest, 0]], [[digest, 150]]]);
    server.asked.length = 0;
    assert.equal((await client.check(withRoster(participants))).decision, Decision.ALLOW);
    assert.deepEqual(asked(), [[[digest, 0]]]);
  });

  it("sends a roster under the threshold by value, and every roster by value when turned off", async () => {
    await client.check(withRoster(roster(99, "small")));
    const whole = new Client(server.target, { timeoutMs: 5_000, rostersByReferenceFrom: null });
    try {
      await whole.check(withRoster(roster(150, "whole")));
    } finally {
      whole.close();
    }
    const tiny = new Client(server.target, { timeoutMs: 5_000, rostersByReferenceFrom: 2 });
    try {
      await tiny.check(chathamQuote());  // its two participants
    } finally {
      tiny.close();
    }
    const two = rosterDigest([...(chathamQuote().group!.participants as PersonInit[])]);
    assert.deepEqual(asked(), [[["", 99]], [["", 150]], [[two, 0]], [[two, 2]]]);
  });

  it("sends again in a batch only the rosters the server lacks, once", async () => {
    const large = roster(120, "batch");
    const digest = rosterDigest(large);
    const answers = await client.checkBatch([withRoster(large), chathamQuote(), withRoster(large)]);
    assert.deepEqual(answers.map((a) => a.decision), [Decision.ALLOW, Decision.ALLOW, Decision.ALLOW]);
    assert.deepEqual(asked(), [[[digest, 0], ["", 2], [digest, 0]], [[digest, 120], ["", 2], [digest, 120]]]);
  });

  it("leaves the caller's own messages as they were", async () => {
    const group: Group = create(GroupSchema, { id: "g-mine", adoptions: [{ agreement: "chatham-house", version: 1 }],
                                               participants: roster(100, "mine") });
    const request = create(CheckRequestSchema, withRoster(group));
    await client.check(request);
    assert.equal(asked().length, 2);
    assert.equal(request.group, group);
    assert.equal(group.participants.length, 100);
    assert.equal(group.rosterDigest, "");
  });

  it("sends a roster again only once: a server that still lacks it is an error", async () => {
    const participants = roster(100, "forgotten");
    // A server that lacks it whatever it is sent (a correct one never does: a roster sent beside its digest
    // is kept, or the digest refused as not its).
    keeper.failure = rosterUnknown([["group.roster_digest", rosterDigest(participants)]]);
    await assert.rejects(client.check(withRoster(participants)), (error: unknown) => {
      assert.ok(error instanceof RosterUnknownError);
      assert.equal(error.code, "FAILED_PRECONDITION");
      assert.deepEqual(error.digests, [rosterDigest(participants)]);
      return true;
    });
    assert.equal(server.asked.length, 2);
  });

  it("leaves a digest the caller wrote to the caller", async () => {
    const participants = roster(150, "callers");
    const digest = rosterDigest(participants);
    const request = withRoster({ id: "g-callers", adoptions: [{ agreement: "chatham-house", version: 1 }],
                                 rosterDigest: digest });
    await assert.rejects(client.check(request), (error: unknown) =>
      error instanceof RosterUnknownError && error.digests[0] === digest);
    assert.deepEqual(asked(), [[[digest, 0]]]);
  });

  it("sends nothing again for a failed precondition that names no roster", async () => {
    keeper.failure = { code: grpc.status.FAILED_PRECONDITION, details: "not now" };
    await assert.rejects(client.check(withRoster(roster(150, "other"))), (error: unknown) =>
      error instanceof ServerError && !(error instanceof RosterUnknownError) && error.code === "FAILED_PRECONDITION");
    assert.equal(server.asked.length, 1);
  });
});

describe("the roster threshold", () => {
  it("is a whole number of participants, at least 1, or null", () => {
    for (const wrong of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, "100" as unknown as number]) {
      assert.throws(() => new Client("127.0.0.1:1", { rostersByReferenceFrom: wrong }), /rostersByReferenceFrom/);
    }
    new Client("127.0.0.1:1", { rostersByReferenceFrom: null }).close();
    new Client("127.0.0.1:1", { rostersByReferenceFrom: 1 }).close();
  });
});
