/**
 * DESIGN §8 owners and §11 secondary-limit prevention end to end, against a fake GitHub whose
 * budgets belong to accounts and whose secondary limits (a concurrency cap, a write-rate rule, a
 * cooldown that grows when the account sends during it) answer as GitHub's do.
 */
import assert from "node:assert/strict";
import type { PoolEvent } from "../../src/credentials/events.ts";
import { FakeGitHub, type FakeGitHubOptions } from "../support/fake_github.ts";
import { authed, startGateway, TEST_TOKEN, type TestGateway } from "../support/gateway.ts";
import { parseExposition } from "../support/prometheus_text.ts";

/** A gateway in front of a fake GitHub; `await using` closes both when the test ends. */
async function openPool(fakeOptions: FakeGitHubOptions, env: Record<string, string>) {
  const fake = await FakeGitHub.start(fakeOptions);
  const gw = await startGateway({
    githubApiUrl: fake.url,
    env: { GITHUB_CREDS_CACHE_TTL_PADDING: "0", ...env },
  });
  return {
    fake,
    gw,
    async [Symbol.asyncDispose]() {
      await gw.close();
      await fake.close();
    },
  };
}

/** An uncached read: `no-store` keeps the shared cache from answering repeats. */
async function get(gw: TestGateway, path = "/zen"): Promise<Response> {
  const response = await fetch(
    `${gw.url}${path}`,
    authed(TEST_TOKEN, { headers: { "cache-control": "no-store" } }),
  );
  await response.body?.cancel();
  return response;
}

function logged(gw: TestGateway): Record<string, unknown>[] {
  return gw.logs.map((line) => JSON.parse(line));
}

/** `n` concurrent uncached reads, all served, none meeting a secondary limit at the fake. */
async function burst(fake: FakeGitHub, gw: TestGateway, n: number): Promise<void> {
  const statuses = await Promise.all(
    Array.from({ length: n }, () => get(gw).then((r) => r.status)),
  );
  assert.deepEqual(statuses, Array(n).fill(200));
  assert.equal(fake.secondaryLimitAnswers, 0);
}

/** A POST through the gateway; its status. */
async function post(gw: TestGateway, path: string, body: unknown): Promise<number> {
  const response = await fetch(
    `${gw.url}${path}`,
    authed(TEST_TOKEN, { method: "POST", body: JSON.stringify(body) }),
  );
  await response.body?.cancel();
  return response.status;
}

/** The same small GraphQL query through the gateway. */
function viewerQuery(gw: TestGateway): Promise<Response> {
  return fetch(
    `${gw.url}/graphql`,
    authed(TEST_TOKEN, { method: "POST", body: JSON.stringify({ query: "{ viewer { login } }" }) }),
  );
}

/** What reached the fake for clients, not the pool's owner lookups. */
const calls = (fake: FakeGitHub) => fake.requests.filter((r) => r.path !== "/user");

Deno.test("two PATs of one user are one budget: totals count it once, start-up warns", async () => {
  await using pool = await openPool(
    {
      pats: {
        "pat-a": { login: "octocat", limit: 100 },
        "pat-b": { login: "octocat", limit: 100 },
        "pat-c": { login: "hubot", limit: 50 },
      },
    },
    { GITHUB_PAT_A: "pat-a", GITHUB_PAT_B: "pat-b", GITHUB_PAT_C: "pat-c" },
  );
  const { fake, gw } = pool;
  const first = await get(gw);
  assert.equal(first.status, 200);
  assert.deepEqual(
    fake.requests.filter((r) => r.path === "/user").map((r) => [r.credential, r.status]).sort(),
    [["pat-a", 200], ["pat-b", 200], ["pat-c", 200]],
    "each PAT's owner looked up once, before the first call",
  );
  for (let i = 0; i < 9; i++) assert.equal((await get(gw)).status, 200);
  const last = await get(gw);
  // 100 for octocat (both its PATs) + 50 for hubot, not 250.
  assert.equal(last.headers.get("x-ratelimit-limit"), "150");
  const remaining = fake.remaining("pat-a") + fake.remaining("pat-c");
  assert.equal(last.headers.get("x-ratelimit-remaining"), String(remaining));
  assert.equal(fake.remaining("pat-a"), fake.remaining("pat-b"), "GitHub's one budget");
  assert.equal(fake.requests.filter((r) => r.path === "/user").length, 3, "remembered");

  const warning = logged(gw).find((line) => /same GitHub account/.test(String(line.msg)));
  assert.deepEqual(warning?.credentials, ["A", "B"]);
  assert.match(String(warning?.msg), /add no quota/);
  assert.ok(gw.logs.every((line) => !/pat-[abc]/.test(line)), "no token in the log");
  const owners = gw.gateway.pool.snapshot().owners.map((o) => [o.name, o.credentials]);
  assert.deepEqual(owners, [["A", ["A", "B"]], ["C", ["C"]]]);
});

Deno.test("a PAT whose owner cannot be learnt counts as its own owner, logged", async () => {
  await using pool = await openPool(
    { pats: { "pat-a": {}, "pat-b": {} } },
    { GITHUB_PAT_A: "pat-a", GITHUB_PAT_B: "pat-b" },
  );
  const { fake, gw } = pool;
  fake.setResource("/user", { message: "Server Error" }, { status: 500 });
  assert.equal((await get(gw)).status, 200);
  const lines = logged(gw).filter((line) =>
    /owner of a credential not learnt/.test(String(line.msg))
  );
  assert.deepEqual(lines.map((line) => [line.credential, line.status]).sort(), [
    ["A", 500],
    ["B", 500],
  ]);
  const owners = gw.gateway.pool.snapshot().owners.map((o) => o.credentials);
  assert.deepEqual(owners, [["A"], ["B"]]);
  assert.equal((await get(gw)).status, 200);
  assert.equal(fake.requests.filter((r) => r.path === "/user").length, 2, "asked once");
});

Deno.test("a burst of 60 concurrent requests meets no secondary limit (fake cap 30)", async () => {
  await using pool = await openPool(
    {
      pats: { "pat-a": { login: "octocat" }, "pat-b": { login: "octocat" } },
      secondary: { concurrency: 30 },
      latencyMs: 50,
    },
    { GITHUB_PAT_A: "pat-a", GITHUB_PAT_B: "pat-b" },
  );
  const { fake, gw } = pool;
  await burst(fake, gw, 60);
  assert.equal(calls(fake).length, 60, "no retries were needed");
  assert.ok(
    fake.peakInFlight <= 25,
    `UPSTREAM_CONCURRENCY per owner, got ${fake.peakInFlight}`,
  );
});

Deno.test("UPSTREAM_CONCURRENCY bounds what one owner has in flight", async () => {
  await using pool = await openPool(
    {
      pats: { "pat-a": {} },
      secondary: { concurrency: 3 },
      latencyMs: 30,
    },
    { GITHUB_PAT_A: "pat-a", UPSTREAM_CONCURRENCY: "3" },
  );
  const { fake, gw } = pool;
  await burst(fake, gw, 12);
  assert.equal(fake.peakInFlight, 3);
});

Deno.test("writes are paced one a second per owner: GitHub's write-rate rule never trips", async () => {
  await using pool = await openPool(
    {
      pats: { "pat-a": { login: "octocat" }, "pat-b": { login: "octocat" } },
      secondary: { minWriteIntervalMs: 900 },
    },
    { GITHUB_PAT_A: "pat-a", GITHUB_PAT_B: "pat-b" },
  );
  const { fake, gw } = pool;
  const started = Date.now();
  const issue = (title: string) => post(gw, "/repos/o/r/issues", { title });
  const statuses = await Promise.all([
    issue("1"),
    issue("2"),
    post(gw, "/graphql", { query: "mutation { addStar(input: {}) { clientMutationId } }" }),
    issue("3"),
    viewerQuery(gw).then(async (r) => (await r.body?.cancel(), r.status)),
  ]);
  assert.deepEqual(statuses, [201, 201, 200, 201, 200]);
  assert.equal(fake.secondaryLimitAnswers, 0);
  const writes = calls(fake).filter((r) =>
    r.path !== "/graphql" || new TextDecoder().decode(r.body).includes("mutation")
  );
  assert.equal(writes.length, 4);
  const queryAt = calls(fake).findIndex((r) => new TextDecoder().decode(r.body).includes("viewer"));
  assert.ok(queryAt < 2, "a GraphQL query is a read: it does not wait for the writes");
  assert.ok(Date.now() - started >= 2900, "four writes take three seconds");
});

Deno.test("a secondary 403 freezes the owner; nothing is sent on it until the cooldown ends", async () => {
  await using pool = await openPool({
    pats: {
      "pat-x1": { login: "octocat" },
      "pat-x2": { login: "octocat" },
      "pat-y": { login: "hubot" },
    },
    // The gateway is told it may send 4 at once; GitHub allows 2.
    secondary: { concurrency: 2, cooldownSeconds: 2 },
    latencyMs: 100,
  }, {
    GITHUB_PAT_X1: "pat-x1",
    GITHUB_PAT_X2: "pat-x2",
    GITHUB_PAT_Y: "pat-y",
    UPSTREAM_CONCURRENCY: "4",
  });
  const { fake, gw } = pool;
  fake.setRemaining("pat-y", "core", 50); // octocat, the fuller, takes the burst
  assert.equal((await get(gw)).status, 200);
  fake.clearRequests();
  const burst = await Promise.all(Array.from({ length: 4 }, () => get(gw)));
  assert.deepEqual(burst.map((r) => r.status), [200, 200, 200, 200], "retried on hubot");
  const frozenAt = Date.now();
  // The fourth arrived while GitHub's cooldown, started by the third, ran: before the gateway
  // could know. From the first 403 on, nothing more may reach octocat.
  const extensions = fake.cooldownExtensions;
  const limited = calls(fake).filter((r) => r.status === 403);
  assert.equal(limited.length, 2);
  assert.ok(limited.every((r) => r.credential === "pat-x1" || r.credential === "pat-x2"));

  fake.clearRequests();
  for (let i = 0; i < 5; i++) assert.equal((await get(gw)).status, 200);
  assert.ok(Date.now() - frozenAt < 1800, "still inside the cooldown");
  assert.deepEqual(new Set(calls(fake).map((r) => r.credential)), new Set(["pat-y"]));

  const metrics = parseExposition(await (await fetch(`${gw.url}/metrics`)).text());
  const cooldown = metrics.value("github_proxy_owner_cooldown_seconds", { owner: "X1" });
  assert.ok(cooldown >= 1 && cooldown <= 2, `cooldown gauge ${cooldown}`);
  assert.equal(metrics.value("github_proxy_owner_cooldown_seconds", { owner: "Y" }), 0);
  const lines = logged(gw).filter((line) => /cooling down/.test(String(line.msg)));
  assert.equal(lines.length, 1, "two 403s, one cooldown, one line");
  assert.equal(lines[0].owner, "X1");
  assert.deepEqual(lines[0].credentials, ["X1", "X2"]);

  await new Promise((resolve) => setTimeout(resolve, 2100 - (Date.now() - frozenAt)));
  fake.setRemaining("pat-y", "core", 1);
  assert.equal((await get(gw)).status, 200);
  assert.match(calls(fake).at(-1)!.credential!, /^pat-x/, "back after the cooldown");
  assert.equal(fake.cooldownExtensions, extensions, "the gateway never sent during a cooldown");
});

Deno.test("a secondary limit with no other owner: a rate refusal with the cooldown as Retry-After", async () => {
  await using pool = await openPool(
    {
      pats: { "pat-a": {} },
      secondary: { concurrency: 1, cooldownSeconds: 30 },
      latencyMs: 100,
    },
    { GITHUB_PAT_A: "pat-a", UPSTREAM_CONCURRENCY: "2" },
  );
  const { fake, gw } = pool;
  const burst = await Promise.all([get(gw), get(gw)]);
  assert.deepEqual(burst.map((r) => r.status).sort(), [200, 403]);
  const refused = await fetch(`${gw.url}/zen`, authed());
  assert.equal(refused.status, 403);
  assert.equal(refused.headers.get("retry-after"), "30");
  assert.equal(refused.headers.get("x-ratelimit-remaining"), "0");
  const body = await refused.json();
  assert.match(body.message, /^You have exceeded a secondary rate limit/);
  assert.ok(!JSON.stringify(body).includes("pat-a"));
  assert.equal(calls(fake).length, 2, "the refused one was not sent");
  assert.equal(fake.cooldownExtensions, 0);
});

Deno.test("GraphQL queries costing 5 points are charged 5", async () => {
  await using pool = await openPool(
    { pats: { "pat-a": {} }, graphqlCost: 5 },
    { GITHUB_PAT_A: "pat-a" },
  );
  const { fake, gw } = pool;
  const points: number[] = [];
  const stop = gw.gateway.pool.observe((event: PoolEvent) => {
    if (event.type === "answer") points.push(event.points);
  });
  const query = async () => {
    const response = await viewerQuery(gw);
    assert.equal(response.status, 200);
    await response.body?.cancel();
  };
  for (let i = 0; i < 3; i++) await query();
  fake.setGraphqlCost(2);
  await query();
  stop();
  // The first answer has nothing to compare with: charged at least 1.
  assert.deepEqual(points, [1, 5, 5, 2]);
  assert.equal(fake.pointsSpent("pat-a"), 17);
  const usage = await (await fetch(`${gw.url}/usage`, authed())).json();
  const tester = usage.clients.find((c: { client: string }) => c.client === "tester");
  assert.equal(tester.since_start.points_spent, 13);
});

Deno.test("GraphQL rate limits in either spelling park the owner, even with points left", async () => {
  for (const spelling of ["RATE_LIMIT", "RATE_LIMITED"] as const) {
    await using pool = await openPool(
      {
        pats: { "pat-a": {}, "pat-b": {} },
        graphqlCost: 5,
        graphqlRateLimitSpelling: spelling,
      },
      { GITHUB_PAT_A: "pat-a", GITHUB_PAT_B: "pat-b" },
    );
    const { fake, gw } = pool;
    const send = () => viewerQuery(gw);
    fake.setRemaining("pat-b", "graphql", 1000);
    for (let i = 0; i < 2; i++) await (await send()).body?.cancel(); // both quotas learnt
    // A, believed the fuller, has 3 points left: too few for a query costing 5.
    fake.setRemaining("pat-a", "graphql", 3, Math.floor(Date.now() / 1000) + 600);
    fake.clearRequests();
    const first = await send();
    const body = await first.json();
    assert.equal(first.status, 200);
    assert.equal(body.errors, undefined, `${spelling}: retried on B`);
    assert.equal(body.data.viewer.login, "fake");
    assert.deepEqual(calls(fake).map((r) => [r.credential, r.status]), [
      ["pat-a", 200],
      ["pat-b", 200],
    ]);
    const a = gw.gateway.pool.snapshot().owners.find((o) => o.name === "A")!;
    const graphql = a.resources.find((r) => r.resource === "graphql")!;
    assert.ok(graphql.parkedUntilMs > Date.now() + 500_000, `${spelling} parks A until reset`);
  }
});

Deno.test("the last successful GraphQL query, remaining 0, is no rate limit", async () => {
  await using pool = await openPool(
    { pats: { "pat-a": {} }, graphqlCost: 5 },
    { GITHUB_PAT_A: "pat-a" },
  );
  const { fake, gw } = pool;
  fake.setRemaining("pat-a", "graphql", 5);
  const response = await viewerQuery(gw);
  assert.equal(response.status, 200);
  assert.equal((await response.json()).data.viewer.login, "fake");
  assert.equal(response.headers.get("x-ratelimit-remaining"), "0");
  assert.equal(calls(fake).length, 1, "not retried");
  const a = gw.gateway.pool.snapshot().owners[0];
  assert.equal(a.resources.find((r) => r.resource === "graphql")!.parkedUntilMs, 0);
});
