import assert from "node:assert/strict";
import { FakeGitHub, generateAppKey } from "../support/fake_github.ts";
import { startGateway, type TestGateway } from "../support/gateway.ts";
import { parseExposition } from "../support/prometheus_text.ts";
import { rawRequest } from "../support/raw_http.ts";
import { fakeAndGateway } from "../support/fixtures.ts";

const PAT = "ghp_secret_value_never_shown";
const TWO_CLIENTS = `version: 1
clients:
  - name: ci
    token: ci-token-secret
  - name: bot
    token: bot-token-secret
`;

/** One PAT and the two-client registry; `env` adds configuration. */
function observed(env: Record<string, string>) {
  return fakeAndGateway({
    fake: { pats: { [PAT]: {} } },
    gateway: { registry: TWO_CLIENTS },
    env: { GITHUB_PAT_MAIN: PAT, ...env },
  });
}

const as = (token: string, init: RequestInit = {}): RequestInit => ({
  ...init,
  headers: { authorization: `token ${token}`, ...init.headers },
});

async function get(gw: TestGateway, path: string, token: string): Promise<Response> {
  const response = await fetch(`${gw.url}${path}`, as(token));
  await response.body?.cancel();
  return response;
}

async function scrape(gw: TestGateway, init: RequestInit = {}) {
  const response = await fetch(`${gw.url}/metrics`, init);
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  return parseExposition(await response.text());
}

Deno.test("metrics count requests, cache results, points spent and saved, gauges after a 403", async () => {
  await using setup = await observed({});
  const { gw, fake } = setup;
  for (let i = 0; i < 3; i++) await get(gw, "/repos/acme/app/issues?page=1", "ci-token-secret");
  const fresh = await fetch(
    `${gw.url}/repos/acme/app/issues?page=1`,
    as("ci-token-secret", { headers: { "cache-control": "max-age=60" } }),
  );
  await fresh.body?.cancel();
  await get(gw, "/repos/acme/app", "bot-token-secret");
  await get(gw, "/no/such/thing", "bot-token-secret");
  await get(gw, "/zen", "wrong-token");
  let metrics = await scrape(gw);
  const requests = "github_proxy_client_requests_total";
  const issues = { client: "ci", method: "GET", route: "/repos/{owner}/{repo}/issues" };
  assert.equal(metrics.value(requests, { ...issues, status: "200", cache: "miss" }), 1);
  assert.equal(metrics.value(requests, { ...issues, status: "200", cache: "revalidated" }), 2);
  assert.equal(metrics.value(requests, { ...issues, status: "200", cache: "hit" }), 1);
  assert.equal(metrics.value(requests, { client: "bot", route: "/repos/{owner}/{repo}" }), 1);
  assert.equal(metrics.value(requests, { client: "bot", route: "other", status: "404" }), 1);
  assert.equal(metrics.value(requests, { client: "unauthenticated", status: "401" }), 1);
  assert.equal(metrics.value("github_proxy_client_points_spent_total", { client: "ci" }), 1);
  assert.equal(metrics.value("github_proxy_client_points_saved_total", { client: "ci" }), 3);
  assert.equal(metrics.value("github_proxy_client_points_spent_total", { client: "bot" }), 2);
  assert.equal(metrics.value("github_proxy_client_points_saved_total", { client: "bot" }), 0);
  const upstream = "github_proxy_upstream_requests_total";
  const main = { credential: "MAIN", resource: "core" };
  assert.equal(metrics.value(upstream, { ...main, status: "200" }), 2);
  assert.equal(metrics.value(upstream, { ...main, status: "304" }), 2);
  assert.equal(metrics.value(upstream, { ...main, status: "404" }), 1);
  assert.equal(metrics.value("github_proxy_credential_points_spent_total", main), 3);
  assert.equal(
    metrics.value("github_proxy_client_request_duration_seconds_count", { client: "ci" }),
    4,
  );
  assert.equal(metrics.value("github_proxy_ratelimit_remaining", main), fake.remaining(PAT));
  assert.equal(metrics.value("github_proxy_ratelimit_limit", main), 5000);
  assert.equal(metrics.value("github_proxy_credential_parked", main), 0);
  assert.equal(metrics.types.get("github_proxy_upstream_request_duration_seconds"), "histogram");
  for (
    const name of [
      "github_proxy_token_cache_events_total",
      "github_proxy_token_cache_requests_total",
    ]
  ) {
    assert.equal(metrics.types.get(name), "counter", name);
  }
  assert.equal(metrics.types.get("github_proxy_token_cache_evictions_total"), "counter");
  assert.equal(metrics.types.get("github_proxy_token_cache_items"), "gauge");
  assert.equal(metrics.value("github_proxy_cache_entries"), 2);
  assert.ok(metrics.value("github_proxy_cache_bytes") > 0);
  assert.ok(metrics.value("github_proxy_cache_operation_duration_seconds_count") > 0);

  fake.setRemaining(PAT, "core", 0, Math.floor(Date.now() / 1000) + 600);
  const limited = await get(gw, "/repos/acme/other", "bot-token-secret");
  assert.equal(limited.status, 403);
  metrics = await scrape(gw);
  assert.equal(metrics.value("github_proxy_credential_parked", main), 1);
  assert.equal(metrics.value("github_proxy_ratelimit_remaining", main), 0);
  assert.equal(metrics.value(upstream, { ...main, status: "403" }), 1);
  assert.equal(metrics.value("github_proxy_client_points_spent_total", { client: "bot" }), 2);
  assert.equal(metrics.value(requests, { client: "bot", status: "403" }), 1);
  assert.ok(gw.logs.some((line) => line.includes("below 10 %")));
});

Deno.test("one access log line per request with the fields an operator needs", async () => {
  await using setup = await observed({});
  const { gw } = setup;
  const response = await fetch(
    `${gw.url}/repos/acme/app?access_token=query-secret&page=2`,
    as("ci-token-secret", { headers: { "user-agent": "ops-probe/1.0 (test)" } }),
  );
  await response.body?.cancel();
  const lines = gw.logs.map((line) => JSON.parse(line)).filter((l) => l.msg === "request");
  assert.equal(lines.length, 1);
  const line = lines[0];
  assert.equal(line.client, "ci");
  assert.equal(line.method, "GET");
  assert.equal(line.path, "/repos/acme/app?access_token=&page=");
  assert.equal(line.client_address, "127.0.0.1");
  assert.equal(line.user_agent, "ops-probe/1.0 (test)");
  assert.equal(line.owner, "MAIN");
  assert.equal(line.points, 1);
  assert.ok(!gw.logs.join("\n").includes("query-secret"));
  assert.equal(line.route, "/repos/{owner}/{repo}");
  assert.equal(line.status, 200);
  assert.equal(line.cache, "miss");
  assert.equal(line.credential, "MAIN");
  assert.equal(typeof line.upstream_ms, "number");
  assert.equal(typeof line.total_ms, "number");
  assert.match(line.github_request_id, /^[0-9A-F-]+$/);
  assert.match(line.time, /^\d{4}-\d\d-\d\dT/);
  assert.equal(line.level, "info");
});

Deno.test("no secret appears in logs or metrics", async () => {
  await using setup = await observed({});
  const { gw } = setup;
  await get(gw, "/repos/acme/app", "ci-token-secret");
  await get(gw, "/zen", "bot-token-secret");
  await get(gw, "/zen", "not-a-client-token");
  const metrics = await (await fetch(`${gw.url}/metrics`)).text();
  const usage = await (await fetch(`${gw.url}/usage`, as("ci-token-secret"))).text();
  for (const text of [gw.logs.join("\n"), metrics, usage]) {
    for (const secret of [PAT, "ci-token-secret", "bot-token-secret", "not-a-client-token"]) {
      assert.ok(!text.includes(secret), `secret ${secret} leaked`);
    }
  }
});

Deno.test("metric cardinality stays bounded after 1 000 distinct repository paths", async () => {
  await using setup = await observed({});
  const { gw } = setup;
  const paths = Array.from({ length: 1000 }, (_, i) => `/repos/org${i}/repo${i}/issues/${i}`);
  for (let i = 0; i < paths.length; i += 50) {
    await Promise.all(paths.slice(i, i + 50).map((p) => get(gw, p, "ci-token-secret")));
  }
  const metrics = await scrape(gw);
  assert.equal(metrics.value("github_proxy_client_requests_total", { client: "ci" }), 1000);
  const requestSeries = metrics.series("github_proxy_client_requests_total");
  assert.ok(requestSeries.length <= 3, `${requestSeries.length} series`);
  assert.ok(metrics.samples.length < 300, `${metrics.samples.length} samples in all`);
  for (const sample of metrics.samples) {
    for (const value of Object.values(sample.labels)) assert.ok(!/org\d/.test(value));
  }
});

Deno.test("METRICS_TOKEN protects /metrics with a bearer token", async () => {
  await using setup = await observed({ METRICS_TOKEN: "scrape-me" });
  const { gw } = setup;
  const anonymous = await fetch(`${gw.url}/metrics`);
  assert.equal(anonymous.status, 401);
  assert.match((await anonymous.json()).message, /METRICS_TOKEN/);
  const wrong = await fetch(`${gw.url}/metrics`, { headers: { authorization: "Bearer nope" } });
  assert.equal(wrong.status, 401);
  await wrong.body?.cancel();
  await scrape(gw, { headers: { authorization: "Bearer scrape-me" } });
});

Deno.test("TELEMETRY_COLLECTOR_TYPE=noop and logging serve no /metrics", async () => {
  for (const collector of ["noop", "logging"]) {
    await using setup = await observed({ TELEMETRY_COLLECTOR_TYPE: collector });
    const { gw } = setup;
    const response = await fetch(`${gw.url}/metrics`);
    assert.equal(response.status, 404);
    await response.body?.cancel();
  }
});

Deno.test("/usage reports per-client requests and points, last hour and since start", async () => {
  await using setup = await observed({});
  const { gw } = setup;
  await get(gw, "/repos/acme/app", "ci-token-secret");
  await get(gw, "/repos/acme/app", "ci-token-secret");
  await get(gw, "/zen", "bot-token-secret");
  const response = await fetch(`${gw.url}/usage`, as("ci-token-secret"));
  assert.equal(response.status, 200);
  const usage = await response.json();
  const ci = usage.clients.find((c: { client: string }) => c.client === "ci");
  assert.deepEqual(ci.last_hour, {
    requests: 2,
    points_spent: 1,
    points_saved: 1,
    points_by_resource: { core: 1 },
    refused: { budget: 0, reserve: 0, rate: 0, concurrency: 0 },
  });
  assert.deepEqual(ci.since_start, ci.last_hour);
  assert.equal(usage.clients[0].client, "ci", "ordered by points spent");
  assert.ok(Array.isArray(usage.credentials));
  const anonymous = await fetch(`${gw.url}/usage`);
  assert.equal(anonymous.status, 401);
  await anonymous.body?.cancel();
});

Deno.test("start-up summary names clients and credentials by name and kind, no secrets", async () => {
  await using setup = await observed({});
  const { gw } = setup;
  const start = gw.logs.map((l) => JSON.parse(l)).find((l) => l.msg === "github-proxy starting");
  assert.ok(start);
  assert.deepEqual(start.clients, ["ci", "bot"]);
  assert.deepEqual(start.credentials, [{ name: "MAIN", kind: "pat" }]);
  assert.equal(start.cache, "memory://");
  assert.ok(!gw.logs.join("\n").includes(PAT));
});

Deno.test("App token cache metrics, under the github_proxy_ prefix", async () => {
  const { privateKeyPem, publicKeyPem } = await generateAppKey("pkcs8");
  await using fake = await FakeGitHub.start({
    apps: [{ id: "77", installationId: "977", publicKeyPem }],
  });
  await using gw = await startGateway({
    githubApiUrl: fake.url,
    registry: TWO_CLIENTS,
    env: {
      GITHUB_APP_BOT_ID: "77",
      GITHUB_APP_BOT_INSTALLATION_ID: "977",
      GITHUB_APP_BOT_PEM: privateKeyPem,
    },
  });
  for (let i = 0; i < 3; i++) await get(gw, `/repos/acme/app${i}`, "ci-token-secret");
  const mints = gw.logs.map((l) => JSON.parse(l))
    .filter((l) => l.msg === "GitHub App installation token minted");
  assert.deepEqual(mints.map((l) => l.credential), ["BOT"]);
  const metrics = await scrape(gw);
  assert.equal(metrics.value("github_proxy_token_cache_events_total", { event: "miss" }), 1);
  assert.equal(metrics.value("github_proxy_token_cache_events_total", { event: "hit" }), 2);
  assert.equal(metrics.value("github_proxy_token_cache_requests_total", { status: "success" }), 1);
  assert.equal(metrics.value("github_proxy_token_cache_items"), 1);
  assert.equal(
    metrics.value("github_proxy_upstream_requests_total", { credential: "BOT", status: "200" }),
    3,
  );
});

Deno.test("/usage is allowed only to clients whose scopes allow it", async () => {
  await using fake = await FakeGitHub.start({ pats: { [PAT]: {} } });
  await using gw = await startGateway({
    githubApiUrl: fake.url,
    registry: `version: 1
clients:
  - name: admin
    token: admin-token
    scopes:
      - method: GET
        path: /usage
  - name: reader
    token: reader-token
    scopes:
      - method: GET
        path: /repos/.*
`,
    env: { GITHUB_PAT_MAIN: PAT },
  });
  assert.equal((await get(gw, "/usage", "admin-token")).status, 200);
  assert.equal((await get(gw, "/usage", "reader-token")).status, 403);
  assert.equal(fake.requests.length, 0, "/usage never reaches GitHub");
});

Deno.test("100 unauthenticated requests with invented methods add no metric series", async () => {
  await using setup = await observed({});
  const { gw } = setup;
  const send = async (method: string) => {
    const response = await rawRequest(gw.url, { method, target: "/zen" });
    assert.equal(response.status, 401, method.slice(0, 10));
  };
  await send("M0X");
  const first = await scrape(gw);
  for (let n = 1; n < 99; n++) await send(`M${n}X`);
  await send(`M${"x".repeat(60_000)}X`);
  const after = await scrape(gw);
  assert.equal(after.samples.length, first.samples.length, "series count constant");
  assert.equal(after.series("github_proxy_client_requests_total").length, 1);
  const unauthenticated = { client: "unauthenticated", route: "/zen", status: "401" };
  assert.equal(
    after.value("github_proxy_client_requests_total", { ...unauthenticated, method: "other" }),
    100,
  );
  const logs = gw.logs.join("\n");
  assert.ok(!logs.includes("M42X"), "an invented method is not logged");
  assert.ok(logs.length < 100_000, `${logs.length} characters of log`);
});

Deno.test("methods GitHub has keep their name as label, in any case", async () => {
  await using setup = await observed({});
  const { gw } = setup;
  for (const method of ["get", "DELETE", "Patch"]) {
    const response = await rawRequest(gw.url, { method, target: "/zen" });
    assert.equal(response.status, 401);
  }
  const metrics = await scrape(gw);
  const requests = "github_proxy_client_requests_total";
  assert.equal(metrics.value(requests, { client: "unauthenticated", method: "GET" }), 1);
  assert.equal(metrics.value(requests, { client: "unauthenticated", method: "DELETE" }), 1);
  assert.equal(metrics.value(requests, { client: "unauthenticated", method: "PATCH" }), 1);
});
