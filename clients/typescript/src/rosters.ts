/**
 * A large group's roster sent once per server, then named by its digest (`Group.rosterDigest`).
 *
 * A roster of thousands is most of a request, and a server that kept it from an earlier call needs only its
 * digest: SHA-256 of the `discretion.v1.Roster` of the participants, written deterministically. A server that
 * does not hold it answers FAILED_PRECONDITION naming the digest, and the client sends the request again with
 * the participants beside it, which the server then keeps: the caller never sees the exchange. Each replica
 * behind one address fills its own store on its first call.
 *
 * Digests are computed on each call, not kept by the participants array: an array or a person can be changed
 * in place, so the same array is no sign of the same roster, and a stale digest would have the server decide
 * with a roster the caller no longer sends. Digesting costs one serialization of the roster, which sending
 * it by value would cost anyway.
 */

import { createHash } from "node:crypto";

import { create, toBinary, type MessageInitShape } from "@bufbuild/protobuf";

import { RosterSchema, type Group, type PersonSchema } from "./gen/discretion/v1/policy_pb.js";

/** Rosters of fewer participants go by value: their bytes cost less than a second round trip might. */
export const BY_REFERENCE_FROM = 100;

export type PersonInit = MessageInitShape<typeof PersonSchema>;

/**
 * The digest the server computes for these participants: `sha256:` and the lowercase hex SHA-256 of the
 * `discretion.v1.Roster` holding them, fields in number order and empty ones left out (what `toBinary` writes).
 * Unknown fields are not the roster's: the server drops them before digesting.
 */
export function rosterDigest(participants: readonly PersonInit[]): string {
  const roster = create(RosterSchema, { participants: [...participants] });
  const bytes = toBinary(RosterSchema, roster, { writeUnknownFields: false });
  return "sha256:" + createHash("sha256").update(bytes).digest("hex");
}

/**
 * One call's groups and how to write them: each roster of `from` participants or more by its digest, alone
 * at first, and beside its participants once the server has said it lacks it. A group whose caller wrote a
 * digest is left as written: that caller sends its rosters by reference itself.
 */
export class RosterRefs {
  private readonly groups: readonly (Group | undefined)[];
  private readonly digests: (string | undefined)[];

  constructor(groups: readonly (Group | undefined)[], from: number | null) {
    this.groups = groups;
    this.digests = groups.map((group) =>
      from === null || group === undefined || group.rosterDigest !== "" || group.participants.length < from
        ? undefined : rosterDigest(group.participants));
  }

  /** Whether any group goes by its digest. */
  get any(): boolean {
    return this.digests.some((digest) => digest !== undefined);
  }

  /** Whether the server lacks a roster this call sent by digest alone, so that sending it again helps. */
  lacks(named: readonly string[]): boolean {
    return named.some((digest) => this.digests.includes(digest));
  }

  /** The groups to write: by digest, with the participants only of the rosters in `send`. */
  write(send: ReadonlySet<string> = new Set()): (Group | undefined)[] {
    // New group objects: the caller's own messages (which `create` passes through) are never changed.
    return this.groups.map((group, index) => {
      const digest = this.digests[index];
      if (group === undefined || digest === undefined) return group;
      return { ...group, rosterDigest: digest, participants: send.has(digest) ? group.participants : [] };
    });
  }
}
