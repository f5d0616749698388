import assert from "node:assert/strict";
import { createPrivateKey } from "node:crypto";
import type { AppSource } from "../../../src/credentials/sources.ts";
import {
  createAppTokens,
  MintError,
  pkcs8,
  type TokenCacheEvent,
  tokenSchedule,
} from "../../../src/credentials/app_tokens.ts";
import { FakeGitHub, generateAppKey } from "../../support/fake_github.ts";

Deno.test("tokenSchedule: renew at 80 % of the lifetime GitHub's clock gives, erring early", () => {
  const sent = Date.parse("2026-01-01T12:00:00.400Z");
  const table: [string | null, string, { renewAtMs: number; expiresAtMs: number }][] = [
    // GitHub's Date has whole seconds: its clock may be up to 1 s later than it says.
    ["Thu, 01 Jan 2026 12:00:00 GMT", "2026-01-01T13:00:00Z", {
      renewAtMs: sent + 0.8 * 3_599_000,
      expiresAtMs: sent + 3_599_000,
    }],
    // GitHub's clock is 10 minutes ahead of ours: the lifetime is what counts.
    ["Thu, 01 Jan 2026 12:10:00 GMT", "2026-01-01T13:10:00Z", {
      renewAtMs: sent + 0.8 * 3_599_000,
      expiresAtMs: sent + 3_599_000,
    }],
    // Without a Date header, the gateway's clock is all there is.
    [null, "2026-01-01T12:00:10.400Z", { renewAtMs: sent + 8000, expiresAtMs: sent + 10_000 }],
    ["Thu, 01 Jan 2026 12:00:00 GMT", "2026-01-01T11:00:00Z", {
      renewAtMs: sent,
      expiresAtMs: sent,
    }],
  ];
  for (const [date, expiresAt, expected] of table) {
    assert.deepEqual(tokenSchedule({ sentAtMs: sent, date, expiresAt }), expected, `${date}`);
  }
});

Deno.test("pkcs8 converts PKCS#1 keys and keeps PKCS#8 ones", async () => {
  for (const format of ["pkcs1", "pkcs8"] as const) {
    const { privateKeyPem } = await generateAppKey(format);
    const converted = pkcs8(privateKeyPem);
    assert.match(converted, /^-----BEGIN PRIVATE KEY-----\n/);
    assert.equal(
      createPrivateKey(converted).export({ type: "pkcs1", format: "pem" }),
      createPrivateKey(privateKeyPem).export({ type: "pkcs1", format: "pem" }),
    );
  }
});

/** A fake GitHub knowing `count` Apps, and their sources as the configuration gives them. */
async function fakeWithApps(
  count: number,
): Promise<{ fake: FakeGitHub; sources: AppSource[] } & AsyncDisposable> {
  const sources: AppSource[] = [];
  const apps = [];
  for (let i = 1; i <= count; i++) {
    const { privateKeyPem, publicKeyPem } = await generateAppKey(i % 2 ? "pkcs1" : "pkcs8");
    apps.push({ id: `${i}`, installationId: `${100 + i}`, publicKeyPem });
    sources.push({
      kind: "app",
      name: `APP${i}`,
      appId: `${i}`,
      installationId: `${100 + i}`,
      privateKey: privateKeyPem,
    });
  }
  const fake = await FakeGitHub.start({ apps });
  return { fake, sources, [Symbol.asyncDispose]: () => fake.close() };
}

Deno.test("token cache: hit until 80 %, then one shared mint; rejection re-mints", async () => {
  await using setup = await fakeWithApps(1);
  const { fake, sources: [app] } = setup;
  let clock = Date.now();
  const events: TokenCacheEvent[] = [];
  const tokens = createAppTokens({
    apiUrl: fake.url,
    maxSize: 10,
    now: () => clock,
    onEvent: (event) => events.push(event),
  });
  const concurrent = await Promise.all(Array.from({ length: 5 }, () => tokens.token(app)));
  assert.equal(new Set(concurrent).size, 1, "concurrent callers share one token");
  assert.equal(fake.mints(), 1, "concurrent callers share one mint");
  const minted = fake.issuedTokens()[0];
  assert.equal(concurrent[0], minted.token);
  assert.equal(tokens.size, 1);
  const renewAt = clock + 0.8 * (minted.expiresAt.getTime() - Date.now());

  clock = renewAt - 5000;
  assert.equal(await tokens.token(app), minted.token);
  assert.equal(fake.mints(), 1);

  clock = renewAt + 2000;
  const renewed = await tokens.token(app);
  assert.notEqual(renewed, minted.token);
  assert.equal(fake.mints(), 2);

  tokens.reject(app, "some other token");
  assert.equal(await tokens.token(app), renewed, "rejecting a stale token changes nothing");
  tokens.reject(app, renewed);
  assert.notEqual(await tokens.token(app), renewed);
  assert.equal(fake.mints(), 3);

  const types = events.map((event) => event.type === "mint" ? `mint:${event.outcome}` : event.type);
  assert.deepEqual(types, [
    ...Array(5).fill("miss"),
    "mint:success",
    "hit",
    "miss",
    "mint:success",
    "eviction",
    "hit",
    "eviction",
    "miss",
    "mint:success",
  ]);
  assert.ok(events.every((event) => event.credential === "APP1"));
});

Deno.test("token cache: a failed mint names the App, says no secret, and is not cached", async () => {
  await using setup = await fakeWithApps(1);
  const { fake, sources: [app] } = setup;
  const events: TokenCacheEvent[] = [];
  const tokens = createAppTokens({
    apiUrl: fake.url,
    maxSize: 10,
    onEvent: (event) => events.push(event),
  });
  const wrong = { ...app, installationId: "999" };
  const error = await tokens.token(wrong).catch((e) => e);
  assert.ok(error instanceof MintError);
  assert.equal(error.credential, "APP1");
  assert.match(error.message, /APP1.*401/);
  assert.doesNotMatch(error.message, /PRIVATE KEY|eyJ/);
  assert.deepEqual(events.at(-1), {
    type: "mint",
    credential: "APP1",
    outcome: "failure",
    narrowed: false,
  });
  assert.equal(tokens.size, 0);
  assert.match(await tokens.token(app), /^ghs_/, "the right installation still mints");
});

Deno.test("token cache: at most maxSize tokens, the least recently used evicted", async () => {
  await using setup = await fakeWithApps(2);
  const { fake, sources: [one, two] } = setup;
  const events: TokenCacheEvent[] = [];
  const tokens = createAppTokens({
    apiUrl: fake.url,
    maxSize: 1,
    onEvent: (event) => events.push(event),
  });
  await tokens.token(one);
  await tokens.token(two);
  assert.equal(tokens.size, 1);
  assert.deepEqual(events.at(-1), { type: "eviction", credential: "APP1", reason: "capacity" });
  await tokens.token(two);
  assert.equal(fake.mints(), 2);
  assert.equal(fake.mints("1") + fake.mints("2"), 2);
});
