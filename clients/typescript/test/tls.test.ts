// Mutual TLS against a real server with tenants: tests/clients/conftest.py starts it and makes the certificates.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";

import { Client, Decision, PermissionDeniedError, UnauthenticatedError, UnavailableError } from "../src/index.js";
import { chathamQuote } from "./question.js";

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is set by make test (tests/clients/conftest.py)`);
  return value;
}

function as(who: string | undefined): Client {
  const tls = who === undefined ? { rootCertificates: readFileSync(env("DISCRETION_TLS_CA")) } : {
    rootCertificates: readFileSync(env("DISCRETION_TLS_CA")),
    certificateChain: readFileSync(env(`DISCRETION_TLS_${who}_CERT`)),
    privateKey: readFileSync(env(`DISCRETION_TLS_${who}_KEY`)),
  };
  return new Client(env("DISCRETION_TLS_TARGET"), { timeoutMs: 10_000, tls });
}

async function asking(who: string | undefined, check: (client: Client) => Promise<void>): Promise<void> {
  const client = as(who);
  try {
    await check(client);
  } finally {
    client.close();
  }
}

describe("mutual TLS, the certificate naming the tenant", () => {
  it("answers the tenant that owns the group", () => asking("FORUM", async (client) => {
    assert.equal((await client.check(chathamQuote())).decision, Decision.ALLOW_WITH_OBLIGATIONS);
  }));

  it("refuses another tenant's question about the group", () => asking("NEWSROOM", async (client) => {
    await assert.rejects(client.check(chathamQuote()), PermissionDeniedError);
  }));

  it("refuses a certificate that names no tenant", () => asking("STRANGER", async (client) => {
    await assert.rejects(client.check(chathamQuote()), UnauthenticatedError);
  }));

  it("cannot connect without a client certificate", () => asking(undefined, async (client) => {
    await assert.rejects(client.check(chathamQuote()), UnavailableError);
  }));
});
