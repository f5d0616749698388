import assert from "node:assert/strict";
import { Octokit } from "@octokit/rest";
import { throttling } from "@octokit/plugin-throttling";
import type { PoolEvent } from "../../src/credentials/events.ts";
import { ManualClock } from "../support/clock.ts";
import {
  type FakeApp,
  type FakeGitHub,
  type FakeGitHubOptions,
  generateAppKey,
} from "../support/fake_github.ts";
import { fakeAndGateway } from "../support/fixtures.ts";
import { authed, TEST_TOKEN, type TestGateway } from "../support/gateway.ts";

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** The fake and a gateway that uses a credential again right at its reset (no padding). */
function pool(fake: FakeGitHubOptions, env: Record<string, string>, now?: () => number) {
  return fakeAndGateway({ fake, env: { GITHUB_CREDS_CACHE_TTL_PADDING: "0", ...env }, now });
}

/** Each call spends quota: `no-store` keeps the shared cache from answering repeats. */
async function get(gw: TestGateway, path: string): Promise<Response> {
  const response = await fetch(
    `${gw.url}${path}`,
    authed(undefined, { headers: { "cache-control": "no-store" } }),
  );
  await response.body?.cancel();
  return response;
}

/** A test App: what the fake must know, and the gateway's environment for it. */
async function testApp(name: string, id: string, format: "pkcs1" | "pkcs8", limit?: number) {
  const { privateKeyPem, publicKeyPem } = await generateAppKey(format);
  const app: FakeApp = { id, installationId: `9${id}`, publicKeyPem, limit };
  const env = {
    [`GITHUB_APP_${name}_ID`]: id,
    [`GITHUB_APP_${name}_INSTALLATION_ID`]: `9${id}`,
    [`GITHUB_APP_${name}_PEM`]: privateKeyPem,
  };
  return { app, env };
}

/** What reached the fake for clients: not App token mints, not the pool's owner lookups. */
function calls(fake: FakeGitHub) {
  return fake.requests.filter((r) => !r.path.startsWith("/app/") && r.path !== "/user");
}

function credentialsSeen(fake: FakeGitHub): (string | null)[] {
  return calls(fake).map((r) => r.credential);
}

Deno.test("a PAT that runs dry mid-run is rotated away from with no client-visible error", async () => {
  await using setup = await pool({ pats: { "pat-a": {}, "pat-b": {} } }, {
    GITHUB_PAT_A: "pat-a",
    GITHUB_PAT_B: "pat-b",
  });
  const { fake, gw } = setup;
  for (let i = 0; i < 4; i++) assert.equal((await get(gw, "/repos/o/r")).status, 200);
  // A runs dry behind the pool's back while the pool believes it has the most left.
  fake.setRemaining("pat-a", "core", 0, nowSeconds() + 3600);
  fake.setRemaining("pat-b", "core", 4000);
  fake.clearRequests();
  const statuses = [];
  for (let i = 0; i < 6; i++) statuses.push((await get(gw, "/repos/o/r")).status);
  assert.deepEqual(statuses, Array(6).fill(200));
  assert.deepEqual(fake.requests.map((r) => [r.credential, r.status]), [
    ["pat-a", 403],
    ...Array(6).fill(["pat-b", 200]),
  ]);
  const a = gw.gateway.pool.snapshot().credentials.find((c) => c.name === "A")!;
  const core = a.resources.find((r) => r.resource === "core")!;
  assert.equal(core.remaining, 0);
  assert.ok(core.parkedUntilMs > Date.now() + 3_000_000);
  assert.ok(gw.logs.some((line) => /rate-limited/.test(line) && /"credential":"A"/.test(line)));
});

Deno.test("a PAT spending its last call is rested before GitHub has to refuse it", async () => {
  // Each owner lookup (`GET /user`) spends one of the four.
  await using setup = await pool({ pats: { "pat-a": { limit: 4 }, "pat-b": { limit: 4 } } }, {
    GITHUB_PAT_A: "pat-a",
    GITHUB_PAT_B: "pat-b",
  });
  const { fake, gw } = setup;
  const statuses = [];
  for (let i = 0; i < 6; i++) statuses.push((await get(gw, "/zen")).status);
  assert.deepEqual(statuses, Array(6).fill(200));
  assert.deepEqual(fake.requests.map((r) => r.status), Array(8).fill(200));
  const exhausted = await get(gw, "/zen");
  assert.equal(exhausted.status, 403);
  assert.equal(fake.requests.length, 8, "nothing sent while every credential is spent");
});

Deno.test("clients see the pool's totals in x-ratelimit-*, not one credential's", async () => {
  await using setup = await pool({ pats: { "pat-a": { limit: 100 }, "pat-b": { limit: 50 } } }, {
    GITHUB_PAT_A: "pat-a",
    GITHUB_PAT_B: "pat-b",
  });
  const { fake, gw } = setup;
  const resetB = nowSeconds() + 600;
  fake.setRemaining("pat-b", "core", 20, resetB);
  await get(gw, "/zen");
  const response = await get(gw, "/zen");
  // The owner lookups spent one of each; both calls then went to the fuller A.
  assert.equal(response.headers.get("x-ratelimit-limit"), "150");
  assert.equal(response.headers.get("x-ratelimit-remaining"), String(97 + 19));
  assert.equal(response.headers.get("x-ratelimit-used"), String(150 - 116));
  assert.equal(response.headers.get("x-ratelimit-resource"), "core");
  const reset = Number(response.headers.get("x-ratelimit-reset"));
  assert.ok(reset >= resetB && reset <= resetB + 2, `earliest reset, got ${reset}`);
});

Deno.test("RATE_LIMIT_STATUS=429: the same refusal with status 429, for clients that retry only 429", async () => {
  await using setup = await pool({ pats: { "pat-a": {} } }, {
    GITHUB_PAT_A: "pat-a",
    RATE_LIMIT_STATUS: "429",
  });
  const { fake, gw } = setup;
  fake.setRemaining("pat-a", "core", 0, nowSeconds() + 600);
  for (const expected of ["upstream's 403 learnt", "the pool's own answer"]) {
    const limited = await fetch(`${gw.url}/zen`, authed());
    assert.equal(limited.status, 429, expected);
    assert.match((await limited.json()).message, /^API rate limit exceeded for /);
    assert.equal(limited.headers.get("x-ratelimit-remaining"), "0");
    const retryAfter = Number(limited.headers.get("retry-after"));
    assert.ok(retryAfter > 590 && retryAfter <= 600, `retry-after ${retryAfter}`);
  }
  assert.deepEqual(fake.requests.map((r) => r.status), [403], "GitHub asked once");
});

Deno.test("all credentials dry: GitHub's 403 rate limit with the earliest reset; Octokit's throttling retries after it", async () => {
  // One clock for GitHub and the pool: B's reset cannot pass before the first request lands.
  const clock = new ManualClock();
  await using setup = await pool({ pats: { "pat-a": {}, "pat-b": {} } }, {
    GITHUB_PAT_A: "pat-a",
    GITHUB_PAT_B: "pat-b",
  }, clock.now);
  const { fake, gw } = setup;
  const reset = clock.seconds() + 1;
  fake.setRemaining("pat-a", "core", 0, reset + 60);
  fake.setRemaining("pat-b", "core", 0, reset);
  const limited = await fetch(`${gw.url}/repos/o/r`, authed());
  assert.equal(limited.status, 403);
  const body = await limited.json();
  assert.match(body.message, /^API rate limit exceeded for every credential of github-proxy/);
  assert.match(body.detail, /^the first credential serves core again at /);
  assert.equal(limited.headers.get("x-ratelimit-resource"), "core");
  assert.ok(body.documentation_url.startsWith("https://docs.github.com/"));
  assert.equal(limited.headers.get("x-ratelimit-remaining"), "0");
  const advertised = Number(limited.headers.get("x-ratelimit-reset"));
  assert.ok(advertised >= reset && advertised <= reset + 1, `reset ${advertised} vs ${reset}`);
  const retryAfter = Number(limited.headers.get("retry-after"));
  assert.ok(retryAfter >= 1 && retryAfter <= 3, `retry-after ${retryAfter}`);
  assert.deepEqual(fake.requests.map((r) => [r.credential, r.status]), [
    ["pat-a", 403],
    ["pat-b", 403],
  ]);

  const waits: number[] = [];
  const octokit = new (Octokit.plugin(throttling))({
    auth: TEST_TOKEN,
    baseUrl: gw.url,
    log: { debug() {}, info() {}, warn() {}, error() {} },
    throttle: {
      onRateLimit: (wait: number, _options: unknown, _octokit: unknown, retryCount: number) => {
        waits.push(wait);
        // Octokit sleeps on the real clock; by the time it retries, the shared one is at B's reset.
        clock.set(reset * 1000);
        return retryCount < 2;
      },
      onSecondaryRateLimit: () => false,
    },
  });
  const { data } = await octokit.rest.repos.get({ owner: "o", repo: "r" });
  assert.equal(data.full_name, "o/r");
  assert.equal(waits.length, 1, "one wait, exactly as long as needed");
  assert.ok(waits[0] >= 1 && waits[0] <= 4, `waited ${waits[0]} s`);
  assert.deepEqual(fake.requests.slice(2).map((r) => [r.credential, r.status]), [
    ["pat-b", 200],
  ]);
});

Deno.test("a secondary limit parks one credential; the request, body and all, succeeds on another", async () => {
  const clock = new ManualClock();
  await using setup = await pool({ pats: { "pat-a": {}, "pat-b": {} } }, {
    GITHUB_PAT_A: "pat-a",
    GITHUB_PAT_B: "pat-b",
  }, clock.now);
  const { fake, gw } = setup;
  fake.setRemaining("pat-b", "core", 4000); // A, the fuller, takes the POST
  assert.equal((await get(gw, "/zen")).status, 200, "owners looked up");
  fake.clearRequests();
  fake.triggerSecondaryLimit("pat-a", { retryAfterSeconds: 30 });
  const payload = JSON.stringify({ title: "replayed" });
  const created = await fetch(
    `${gw.url}/repos/o/r/issues`,
    authed(TEST_TOKEN, {
      method: "POST",
      body: payload,
      headers: { "content-type": "application/json" },
    }),
  );
  assert.equal(created.status, 201);
  assert.equal((await created.json()).title, "replayed");
  assert.deepEqual(fake.requests.map((r) => [r.credential, r.status]), [
    ["pat-a", 403],
    ["pat-b", 201],
  ]);
  for (const request of fake.requests) {
    assert.equal(new TextDecoder().decode(request.body), payload);
  }
  for (let i = 0; i < 3; i++) assert.equal((await get(gw, "/zen")).status, 200);
  assert.deepEqual(credentialsSeen(fake).slice(2), ["pat-b", "pat-b", "pat-b"]);
  const frozenFor = (name: string) =>
    gw.gateway.pool.snapshot().owners.find((o) => o.name === name)!.frozenUntilMs - clock.now();
  const parked = frozenFor("A");
  assert.ok(parked > 25_000 && parked <= 30_000, `cooling down for ${parked} ms`);

  // Without retry-after: a minute.
  fake.triggerSecondaryLimit("pat-b", { retryAfterSeconds: null });
  const refused = await fetch(
    `${gw.url}/zen`,
    authed(undefined, { headers: { "cache-control": "no-store" } }),
  );
  assert.equal(refused.status, 403, "both cooling down now");
  assert.match((await refused.json()).message, /^You have exceeded a secondary rate limit/);
  const retryAfter = Number(refused.headers.get("retry-after"));
  assert.ok(retryAfter > 25 && retryAfter <= 30, `retry after the first cooldown, ${retryAfter}`);
  const parkedB = frozenFor("B");
  assert.ok(parkedB > 55_000 && parkedB <= 60_000, `cooling down for ${parkedB} ms`);
});

Deno.test("GraphQL RATE_LIMITED in an HTTP 200 parks the credential; the query succeeds elsewhere", async () => {
  await using setup = await pool({ pats: { "pat-a": {}, "pat-b": {} } }, {
    GITHUB_PAT_A: "pat-a",
    GITHUB_PAT_B: "pat-b",
  });
  const { fake, gw } = setup;
  fake.setRemaining("pat-a", "graphql", 0, nowSeconds() + 600);
  const query = JSON.stringify({ query: "{ viewer { login } }" });
  for (let i = 0; i < 2; i++) {
    const response = await fetch(
      `${gw.url}/graphql`,
      authed(TEST_TOKEN, { method: "POST", body: query }),
    );
    assert.equal(response.status, 200);
    const body = await response.json();
    assert.equal(body.errors, undefined);
    assert.equal(body.data.viewer.login, "fake");
    assert.equal(response.headers.get("x-ratelimit-resource"), "graphql");
  }
  assert.deepEqual(calls(fake).map((r) => [r.credential, r.status]), [
    ["pat-a", 200],
    ["pat-b", 200],
    ["pat-b", 200],
  ]);
  assert.equal(fake.remaining("pat-b", "graphql"), 4998);
  assert.equal(fake.remaining("pat-a", "core"), 4999, "only the owner lookup spent core");
  const a = gw.gateway.pool.snapshot().owners.find((o) => o.name === "A")!;
  const parked = (resource: string) =>
    a.resources.find((r) => r.resource === resource)!.parkedUntilMs > Date.now();
  assert.equal(parked("graphql"), true);
  assert.equal(parked("core"), false, "other resources are not parked");
});

Deno.test("a PAT GitHub refuses is excluded until reload, alerted in the log, never shown", async () => {
  await using setup = await pool({ pats: { "pat-good": {} } }, {
    GITHUB_PAT_A: "pat-revoked-secret",
    GITHUB_PAT_B: "pat-good",
  });
  const { fake, gw } = setup;
  const statuses = [];
  for (let i = 0; i < 4; i++) statuses.push((await get(gw, "/zen")).status);
  assert.deepEqual(statuses, [200, 200, 200, 200]);
  // Refused at its owner lookup, before any client's request.
  assert.deepEqual(fake.requests.map((r) => [r.credential, r.path, r.status]), [
    ["pat-revoked-secret", "/user", 401],
    ["pat-good", "/user", 200],
    ...Array(4).fill(["pat-good", "/zen", 200]),
  ]);
  const alert = gw.logs.map((line) => JSON.parse(line)).find((l) => l.level === "error");
  assert.equal(alert?.credential, "A");
  assert.match(alert?.msg, /excluded until reload/);
  assert.ok(gw.logs.every((line) => !line.includes("pat-revoked-secret")));
  assert.equal(gw.gateway.pool.snapshot().credentials.find((c) => c.name === "A")?.bad, true);
});

Deno.test("when every credential is refused, clients get a 503 that names no secret", async () => {
  await using setup = await pool({}, { GITHUB_PAT_A: "pat-unknown" });
  const { fake, gw } = setup;
  const first = await fetch(`${gw.url}/zen`, authed());
  assert.equal(first.status, 503);
  const body = await first.json();
  assert.match(body.message, /no usable GitHub credential/);
  assert.equal((await get(gw, "/zen")).status, 503);
  assert.equal(fake.requests.length, 1, "a refused PAT is not tried again");
});

Deno.test("App tokens renew at 80 % of their lifetime; no expired token is ever sent", async () => {
  const { app, env } = await testApp("BOT", "11", "pkcs8");
  // Three seconds pass on the clock GitHub and the pool share, 40 ms between requests.
  const clock = new ManualClock();
  await using setup = await pool(
    { apps: [app], installationTokenLifetimeSeconds: 3 },
    env,
    clock.now,
  );
  const { fake, gw } = setup;
  const started = clock.now();
  const statuses = new Set<number>();
  while (clock.now() - started < 3000) {
    statuses.add((await get(gw, "/zen")).status);
    clock.advance(40);
  }
  assert.deepEqual([...statuses], [200]);
  const used = fake.requests.filter((r) => r.path === "/zen");
  assert.ok(used.every((r) => r.status === 200), "GitHub never saw an expired token");
  // A 3 s token is good for at least 2 s by GitHub's clock: renewed every 1.6 s or so.
  const mints = fake.mints("11");
  assert.ok(mints >= 2 && mints <= 4, `${mints} mints in 3 s`);
  const perToken = new Map<string | null, number>();
  for (const r of used) perToken.set(r.credential, (perToken.get(r.credential) ?? 0) + 1);
  assert.ok([...perToken.values()].every((n) => n > 1), "each token served several requests");
});

Deno.test("concurrent first requests share one App token mint", async () => {
  const { app, env } = await testApp("BOT", "12", "pkcs1");
  await using setup = await pool({ apps: [app] }, env);
  const { fake, gw } = setup;
  const events: PoolEvent[] = [];
  gw.gateway.pool.observe((event) => events.push(event));
  const statuses = await Promise.all(
    Array.from({ length: 8 }, async () => (await get(gw, "/zen")).status),
  );
  assert.deepEqual(statuses, Array(8).fill(200));
  assert.equal(fake.mints(), 1);
  assert.equal(events.filter((e) => e.type === "mint").length, 1);
  assert.equal(events.filter((e) => e.type === "answer").length, 8);
  assert.equal(gw.gateway.pool.snapshot().tokenCache.items, 1);
});

Deno.test("a revoked App token is dropped, a new one minted, and the request succeeds", async () => {
  const { app, env } = await testApp("BOT", "13", "pkcs1");
  await using setup = await pool({ apps: [app] }, env);
  const { fake, gw } = setup;
  assert.equal((await get(gw, "/zen")).status, 200);
  const [first] = fake.issuedTokens();
  fake.revokeToken(first.token);
  assert.equal((await get(gw, "/zen")).status, 200);
  assert.equal(fake.mints(), 2);
  const zen = fake.requests.filter((r) => r.path === "/zen");
  assert.deepEqual(zen.map((r) => r.status), [200, 401, 200]);
  assert.equal(zen[1].credential, first.token);
  assert.notEqual(zen[2].credential, first.token);
  assert.equal((await get(gw, "/zen")).status, 200);
  assert.equal(fake.mints(), 2);
});

Deno.test("an App whose token cannot be minted does not take the other credentials down", async () => {
  const { app, env } = await testApp("BROKEN", "14", "pkcs8");
  await using setup = await pool({
    apps: [{ ...app, installationId: "other" }],
    pats: { "pat-b": {} },
  }, { ...env, GITHUB_PAT_B: "pat-b" });
  const { fake, gw } = setup;
  const statuses = [];
  for (let i = 0; i < 3; i++) statuses.push((await get(gw, "/zen")).status);
  assert.deepEqual(statuses, [200, 200, 200]);
  assert.deepEqual(credentialsSeen(fake), ["pat-b", "pat-b", "pat-b"]);
  const mintAttempts = fake.requests.filter((r) => r.path.endsWith("/access_tokens"));
  assert.equal(
    mintAttempts.length,
    1,
    "a failing App rests instead of being retried each time",
  );
  const alert = gw.logs.map((line) => JSON.parse(line)).find((l) => l.level === "error");
  assert.equal(alert?.credential, "BROKEN");
  assert.ok(gw.logs.every((line) => !line.includes("PRIVATE KEY")));
  const broken = gw.gateway.pool.snapshot().credentials.find((c) => c.name === "BROKEN")!;
  assert.ok(broken.unusableUntilMs > Date.now());
});

Deno.test("a mixed pool of two Apps (PKCS#1, PKCS#8) and two PATs balances by remaining quota", async () => {
  const one = await testApp("ONE", "21", "pkcs1", 40);
  const two = await testApp("TWO", "22", "pkcs8", 10);
  await using setup = await pool({
    apps: [one.app, two.app],
    pats: { "pat-a": { limit: 30 }, "pat-b": { limit: 20 } },
  }, { ...one.env, ...two.env, GITHUB_PAT_A: "pat-a", GITHUB_PAT_B: "pat-b" });
  const { fake, gw } = setup;
  for (let i = 0; i < 60; i++) assert.equal((await get(gw, "/zen")).status, 200);
  const byName = Object.fromEntries(
    gw.gateway.pool.snapshot().credentials.map((c) => [
      c.name,
      c.resources.find((r) => r.resource === "core")!.remaining!,
    ]),
  );
  // Each credential is tried once, then the fullest serves until the levels meet.
  assert.equal(byName.TWO, 9, "the App with least quota served only its first request");
  const levels = [byName.ONE, byName.A, byName.B];
  assert.ok(Math.max(...levels) - Math.min(...levels) <= 1, JSON.stringify(byName));
  // 59 calls, and one owner lookup for each PAT.
  assert.equal(levels.reduce((a, b) => a + b), 40 + 30 + 20 - 59 - 2);
  assert.equal(fake.mints("21"), 1);
  assert.equal(fake.mints("22"), 1);
  assert.ok(fake.requests.every((r) => r.status === 200 || r.status === 201));
});

Deno.test("done when: a burst needing more than one credential's quota sees no limit (N = 3)", async () => {
  const pats = { "pat-a": { limit: 25 }, "pat-b": { limit: 25 }, "pat-c": { limit: 25 } };
  await using setup = await pool({ pats }, {
    GITHUB_PAT_A: "pat-a",
    GITHUB_PAT_B: "pat-b",
    GITHUB_PAT_C: "pat-c",
  });
  const { fake, gw } = setup;
  const total = 70;
  const concurrency = 6;
  let next = 0;
  const statuses: number[] = [];
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < total) {
      next++;
      statuses.push((await get(gw, "/repos/o/r")).status);
    }
  }));
  assert.equal(statuses.length, total);
  assert.deepEqual(statuses.filter((s) => s !== 200), []);
  const refused = fake.requests.filter((r) => r.status !== 200).length;
  assert.ok(
    refused <= concurrency,
    `${refused} refusals by GitHub with ${concurrency} in flight`,
  );
  for (const pat of Object.keys(pats)) {
    const served = fake.requests.filter((r) => r.credential === pat && r.status === 200).length;
    assert.ok(served >= 20, `${pat} served ${served}`);
  }
});
