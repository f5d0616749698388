import assert from "node:assert/strict";
import { FakeGitHub } from "../../../support/fake_github.ts";
import { authed, startGateway, type TestGateway } from "../../../support/gateway.ts";
import { freePort, REDIS_MISSING, redisAvailable, startRedis } from "../../../support/redis.ts";
import { UpstashServer } from "../../../support/upstash_server.ts";

const PAT = "pat-one";
const OTHER_PAT = "pat-two";
const TOKEN = "upstash-test-token";
const WIDGET = "/repos/acme/widget";
const hasRedis = await redisAvailable();
if (!hasRedis) console.warn(REDIS_MISSING);

function gatewayOn(fake: FakeGitHub, backendUrl: string, pat: [string, string]) {
  return startGateway({
    githubApiUrl: fake.url,
    env: { [pat[0]]: pat[1], CACHE_BACKEND_URL: backendUrl, UPSTASH_REDIS_REST_TOKEN: TOKEN },
  });
}

async function get(gw: TestGateway, path: string) {
  const response = await fetch(`${gw.url}${path}`, authed());
  return {
    status: response.status,
    headers: response.headers,
    bytes: new Uint8Array(await response.arrayBuffer()),
  };
}

Deno.test({
  name: "two gateways sharing one Upstash endpoint share entries",
  ignore: !hasRedis,
  fn: async () => {
    await using redis = await startRedis();
    await using upstash = await UpstashServer.start(redis.port, TOKEN);
    await using fake = await FakeGitHub.start({ pats: { [PAT]: {}, [OTHER_PAT]: {} } });
    fake.setResource(WIDGET, { name: "widget" });
    await using one = await gatewayOn(fake, upstash.backendUrl, ["GITHUB_PAT_ONE", PAT]);
    await using two = await gatewayOn(fake, upstash.backendUrl, ["GITHUB_PAT_TWO", OTHER_PAT]);
    const stored = await get(one, WIDGET);
    assert.equal(stored.headers.get("cache-status"), "github-proxy; fwd=uri-miss; stored");
    const shared = await get(two, WIDGET);
    assert.equal(
      shared.headers.get("cache-status"),
      "github-proxy; fwd=stale; fwd-status=304",
    );
    assert.deepEqual(shared.bytes, stored.bytes);
    assert.equal(fake.remaining(OTHER_PAT), 5000);
    assert.equal(fake.remaining(PAT), 4999);
    assert.ok(upstash.commands.some(([name]) => name === "MULTI"));
    assert.ok(upstash.commands.some(([name]) => name === "HMGET"));
    const ready = await fetch(`${two.url}/readyz`);
    assert.equal(ready.status, 200);
    await ready.body?.cancel();
  },
});

Deno.test({
  name: "a 2 MB body round-trips through Upstash",
  ignore: !hasRedis,
  fn: async () => {
    await using redis = await startRedis();
    await using upstash = await UpstashServer.start(redis.port, TOKEN);
    await using fake = await FakeGitHub.start({ pats: { [PAT]: {} } });
    await using gw = await gatewayOn(fake, upstash.backendUrl, ["GITHUB_PAT_ONE", PAT]);
    const path = `/echo/binary?size=${2 * 1024 * 1024}`;
    const first = await get(gw, path);
    assert.equal(first.headers.get("cache-status"), "github-proxy; fwd=uri-miss; stored");
    const second = await get(gw, path);
    assert.equal(
      second.headers.get("cache-status"),
      "github-proxy; fwd=stale; fwd-status=304",
    );
    assert.equal(second.bytes.length, 2 * 1024 * 1024);
    assert.deepEqual(second.bytes, first.bytes);
  },
});

Deno.test("an Upstash endpoint that is down: requests still succeed, the failure is counted and logged once", async () => {
  await using fake = await FakeGitHub.start({ pats: { [PAT]: {} } });
  fake.setResource(WIDGET, { name: "widget" });
  const down = `upstash+http://127.0.0.1:${freePort()}`;
  await using gw = await gatewayOn(fake, down, ["GITHUB_PAT_ONE", PAT]);
  for (let i = 0; i < 5; i++) {
    const answer = await get(gw, WIDGET);
    assert.equal(answer.status, 200);
    assert.deepEqual(JSON.parse(new TextDecoder().decode(answer.bytes)), { name: "widget" });
    assert.equal(
      answer.headers.get("cache-status"),
      "github-proxy; fwd=uri-miss; detail=backend-unavailable",
    );
  }
  assert.ok(gw.gateway.cache.backendFailures >= 1);
  const warnings = gw.logs.filter((line) => line.includes("cache backend failing"));
  assert.equal(warnings.length, 1);
  assert.ok(!warnings[0].includes(TOKEN));
  // Requests are served without the cache, so the replica stays in its load balancer.
  const ready = await fetch(`${gw.url}/readyz`);
  assert.equal(ready.status, 200);
  const body = await ready.json();
  assert.equal(body.status, "degraded");
  assert.deepEqual(body.cache, { backend: "upstash", status: "unreachable" });
  assert.equal(body.shared_state.status, "failing");
  const metrics = await (await fetch(`${gw.url}/metrics`)).text();
  assert.match(metrics, /github_proxy_cache_backend_up 0/);
  assert.match(metrics, /github_proxy_shared_state_up\{store="upstash"\} 0/);
  assert.match(metrics, /github_proxy_shared_state_failures_total\{store="upstash"\} [1-9]/);
});

Deno.test("Upstash without UPSTASH_REDIS_REST_TOKEN stops start-up", async () => {
  await using fake = await FakeGitHub.start();
  await assert.rejects(
    startGateway({
      githubApiUrl: fake.url,
      env: { CACHE_BACKEND_URL: "upstash+http://127.0.0.1:1" },
    }),
    /UPSTASH_REDIS_REST_TOKEN is required/,
  );
});
