import assert from "node:assert/strict";
import { FakeGitHub } from "../support/fake_github.ts";
import { authed, startGateway, type TestGateway } from "../support/gateway.ts";
import { rawRequest } from "../support/raw_http.ts";
import { startSlowProxy } from "../support/slow_proxy.ts";
import { fakeAndGateway } from "../support/fixtures.ts";
import { until } from "../support/until.ts";

const PAT = "pat-one";
const OTHER_PAT = "pat-two";
const WIDGET = "/repos/acme/widget";

/** Two PATs, one pinned, and WIDGET served; the cache backend is memory unless named. */
function cached(options: { backend?: string; env?: Record<string, string>; registry?: string }) {
  return fakeAndGateway({
    fake: { pats: { [PAT]: {}, [OTHER_PAT]: {} } },
    resources: { [WIDGET]: { name: "widget", stars: 1 } },
    gateway: { registry: options.registry },
    env: {
      GITHUB_PAT_ONE: PAT,
      CACHE_BACKEND_URL: options.backend ?? "memory://",
      ...options.env,
    },
  });
}

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
}

async function get(
  gw: TestGateway,
  path: string,
  headers: Record<string, string> = {},
  method = "GET",
): Promise<Answer> {
  const response = await fetch(`${gw.url}${path}`, authed(undefined, { method, headers }));
  return { status: response.status, headers: response.headers, body: await response.text() };
}

function upstreamCalls(fake: FakeGitHub, path: string) {
  return fake.requests.filter((request) => request.path === path);
}

for (const backend of ["memory://", "denokv://"]) {
  Deno.test(`${backend}: 20 GETs of a resource cost one rate-limit point`, async () => {
    await using setup = await cached({ backend });
    const { fake, gw } = setup;
    const answers: Answer[] = [];
    for (let i = 0; i < 20; i++) answers.push(await get(gw, WIDGET));
    assert.ok(answers.every((a) => a.status === 200));
    assert.ok(answers.every((a) => a.body === answers[0].body));
    assert.deepEqual(JSON.parse(answers[0].body), { name: "widget", stars: 1 });
    assert.equal(fake.remaining(PAT), 4999);
    const calls = upstreamCalls(fake, WIDGET);
    assert.equal(calls.length, 20);
    assert.deepEqual(calls.map((c) => c.status), [200, ...Array(19).fill(304)]);
    assert.equal(answers[0].headers.get("cache-status"), "github-proxy; fwd=uri-miss; stored");
    assert.equal(
      answers[19].headers.get("cache-status"),
      "github-proxy; fwd=stale; fwd-status=304",
    );
    assert.equal(answers[19].headers.get("etag"), answers[0].headers.get("etag"));
    assert.equal(answers[19].headers.get("content-type"), "application/json; charset=utf-8");
    assert.equal(answers[19].headers.get("x-ratelimit-remaining"), "4999");
    assert.ok(answers[19].headers.get("x-github-request-id"));
    assert.notEqual(
      answers[19].headers.get("x-github-request-id"),
      answers[0].headers.get("x-github-request-id"),
    );
  });
}

Deno.test("a mutated resource is served new and stored again", async () => {
  await using setup = await cached({});
  const { fake, gw } = setup;
  await get(gw, WIDGET);
  fake.mutate(WIDGET, { name: "widget", stars: 2 });
  const changed = await get(gw, WIDGET);
  assert.deepEqual(JSON.parse(changed.body), { name: "widget", stars: 2 });
  assert.equal(
    changed.headers.get("cache-status"),
    "github-proxy; fwd=stale; fwd-status=200; stored",
  );
  const again = await get(gw, WIDGET);
  assert.deepEqual(JSON.parse(again.body), { name: "widget", stars: 2 });
  assert.equal(upstreamCalls(fake, WIDGET).at(-1)!.status, 304);
  assert.equal(fake.remaining(PAT), 4998);
});

Deno.test("a client If-None-Match with the gateway's ETag gets a 304 that never reaches GitHub", async () => {
  await using setup = await cached({});
  const { fake, gw } = setup;
  const first = await get(gw, WIDGET);
  const etag = first.headers.get("etag")!;
  assert.match(etag, /^W\/"[0-9a-f]{64}"$/);
  const conditional = await get(gw, WIDGET, { "if-none-match": etag });
  assert.equal(conditional.status, 304);
  assert.equal(conditional.body, "");
  assert.equal(conditional.headers.get("etag"), etag);
  const sent = upstreamCalls(fake, WIDGET).at(-1)!;
  assert.equal(sent.status, 304);
  assert.ok(!sent.headers.get("if-none-match")!.includes(etag.slice(2)));

  fake.mutate(WIDGET, { name: "widget", stars: 3 });
  const stale = await get(gw, WIDGET, { "if-none-match": etag });
  assert.equal(stale.status, 200);
  assert.deepEqual(JSON.parse(stale.body), { name: "widget", stars: 3 });
  assert.notEqual(stale.headers.get("etag"), etag);
});

Deno.test("a cold client-conditional request is answered in full and poisons nothing", async () => {
  await using setup = await cached({});
  const { fake, gw } = setup;
  const cold = await get(gw, WIDGET, {
    "if-none-match": '"something-the-client-had"',
    "if-modified-since": new Date().toUTCString(),
  });
  assert.equal(cold.status, 200);
  assert.deepEqual(JSON.parse(cold.body), { name: "widget", stars: 1 });
  const sent = upstreamCalls(fake, WIDGET)[0];
  assert.equal(sent.headers.get("if-none-match"), null);
  assert.equal(sent.headers.get("if-modified-since"), null);
  const plain = await get(gw, WIDGET);
  assert.equal(plain.status, 200);
  assert.deepEqual(JSON.parse(plain.body), { name: "widget", stars: 1 });
});

Deno.test("HEAD: cold is forwarded and not stored; warm is served from the GET entry", async () => {
  await using setup = await cached({});
  const { fake, gw } = setup;
  const cold = await get(gw, WIDGET, {}, "HEAD");
  assert.equal(cold.status, 200);
  assert.equal(cold.body, "");
  assert.equal(upstreamCalls(fake, WIDGET)[0].method, "HEAD");
  const first = await get(gw, WIDGET);
  assert.equal(first.headers.get("cache-status"), "github-proxy; fwd=uri-miss; stored");
  assert.deepEqual(JSON.parse(first.body), { name: "widget", stars: 1 });

  const warm = await get(gw, WIDGET, {}, "HEAD");
  assert.equal(warm.status, 200);
  assert.equal(warm.body, "");
  assert.equal(warm.headers.get("etag"), first.headers.get("etag"));
  assert.equal(upstreamCalls(fake, WIDGET).at(-1)!.method, "GET");
  const after = await get(gw, WIDGET);
  assert.equal(after.body, first.body);
});

Deno.test("repeated query parameters are distinct keys and reach GitHub as sent", async () => {
  await using setup = await cached({});
  const { fake, gw } = setup;
  const a = await get(gw, "/echo/binary?size=3&size=5");
  const b = await get(gw, "/echo/binary?size=5&size=3");
  const c = await get(gw, "/echo/binary?size=3");
  assert.equal(a.body.length, 3);
  assert.equal(b.body.length, 5);
  assert.equal(c.body.length, 3);
  for (const answer of [a, b, c]) {
    assert.equal(answer.headers.get("cache-status"), "github-proxy; fwd=uri-miss; stored");
  }
  assert.deepEqual(
    upstreamCalls(fake, "/echo/binary").map((r) => r.rawQuery),
    ["size=3&size=5", "size=5&size=3", "size=3"],
  );
});

Deno.test("Link headers of stored entries lead back through the gateway", async () => {
  await using setup = await cached({});
  const { gw } = setup;
  const path = "/repos/acme/app/issues?per_page=10";
  await get(gw, path);
  const revalidated = await get(gw, path);
  assert.equal(
    revalidated.headers.get("cache-status"),
    "github-proxy; fwd=stale; fwd-status=304",
  );
  assert.match(
    revalidated.headers.get("link")!,
    new RegExp(`^<${gw.url}/repos/acme/app/issues\\?per_page=10&page=2>; rel="next"`),
  );
  const enterprise = await get(gw, `/api/v3${path}`);
  assert.match(enterprise.headers.get("link")!, new RegExp(`^<${gw.url}/api/v3/repos/`));
});

Deno.test("the Accept header and API version are part of the key", async () => {
  await using setup = await cached({});
  const { gw } = setup;
  await get(gw, WIDGET, { accept: "application/vnd.github+json" });
  const other = await get(gw, WIDGET, { accept: "application/vnd.github.raw+json" });
  assert.equal(other.headers.get("cache-status"), "github-proxy; fwd=uri-miss; stored");
  const version = await get(gw, WIDGET, {
    accept: "application/vnd.github+json",
    "x-github-api-version": "2022-11-28",
  });
  assert.equal(version.headers.get("cache-status"), "github-proxy; fwd=uri-miss; stored");
  const same = await get(gw, WIDGET, { accept: "application/vnd.github+json" });
  assert.equal(same.headers.get("cache-status"), "github-proxy; fwd=stale; fwd-status=304");
});

Deno.test("Connection: X-GitHub-Api-Version cannot strip the keyed version from the upstream call", async () => {
  await using setup = await cached({});
  const { fake, gw } = setup;
  const version = "2026-03-10";
  const poisoner = await rawRequest(gw.url, {
    method: "GET",
    target: WIDGET,
    headers: {
      authorization: "token test-token",
      connection: "X-GitHub-Api-Version",
      "x-github-api-version": version,
    },
  });
  assert.equal(poisoner.status, 200);
  assert.deepEqual(
    upstreamCalls(fake, WIDGET).map((r) => r.headers.get("x-github-api-version")),
    [version],
  );
  const other = await get(gw, WIDGET, { "x-github-api-version": version });
  assert.equal(other.headers.get("cache-status"), "github-proxy; fwd=stale; fwd-status=304");
  assert.equal(other.headers.get("x-github-api-version-selected"), version);
});

Deno.test("an answer with Cache-Control: no-store is not stored nor served again", async () => {
  await using setup = await cached({});
  const { fake, gw } = setup;
  const secret = "/repos/acme/volatile";
  fake.setResource(secret, { value: 1 }, { headers: { "cache-control": "no-store" } });
  const first = await get(gw, secret);
  assert.equal(first.status, 200);
  assert.equal(first.headers.get("cache-status"), "github-proxy; fwd=uri-miss");
  fake.mutate(secret, { value: 2 });
  const second = await get(gw, secret, { "cache-control": "max-age=600" });
  assert.deepEqual(JSON.parse(second.body), { value: 2 });
  assert.equal(second.headers.get("cache-status"), "github-proxy; fwd=uri-miss");
  const calls = upstreamCalls(fake, secret);
  assert.equal(calls.length, 2);
  assert.equal(calls[1].headers.get("if-none-match"), null, "nothing held to revalidate");
});

Deno.test("GitHub's private, max-age=60 answers are still stored and revalidated", async () => {
  await using setup = await cached({});
  const { fake, gw } = setup;
  const path = "/repos/acme/private";
  const cacheControl = "private, max-age=60, s-maxage=60";
  fake.setResource(path, { value: 1 }, { headers: { "cache-control": cacheControl } });
  const first = await get(gw, path);
  assert.equal(first.headers.get("cache-status"), "github-proxy; fwd=uri-miss; stored");
  const second = await get(gw, path);
  assert.equal(second.headers.get("cache-status"), "github-proxy; fwd=stale; fwd-status=304");
  assert.equal(upstreamCalls(fake, path).length, 2);
});

for (const status of [404, 500]) {
  Deno.test(`a ${status} from GitHub is passed on and does not overwrite the entry`, async () => {
    await using setup = await cached({});
    const { fake, gw } = setup;
    const good = await get(gw, WIDGET);
    fake.setResource(WIDGET, { message: "broken" }, { status });
    const failed = await get(gw, WIDGET);
    assert.equal(failed.status, status);
    assert.deepEqual(JSON.parse(failed.body), { message: "broken" });
    assert.equal(
      failed.headers.get("cache-status"),
      `github-proxy; fwd=stale; fwd-status=${status}`,
    );
    fake.setResource(WIDGET, { name: "widget", stars: 1 });
    const again = await get(gw, WIDGET);
    assert.equal(again.status, 200);
    assert.equal(again.body, good.body);
    assert.equal(again.headers.get("cache-status"), "github-proxy; fwd=stale; fwd-status=304");
  });
}

Deno.test("requests with Cookie or X-GitHub-OTP bypass the cache", async () => {
  await using setup = await cached({});
  const { gw } = setup;
  const headers: Record<string, string>[] = [{ cookie: "a=b" }, { "x-github-otp": "123456" }];
  for (const header of headers) {
    const answer = await get(gw, WIDGET, header);
    assert.equal(answer.status, 200);
    assert.equal(answer.headers.get("cache-status"), "github-proxy; fwd=bypass");
  }
  const plain = await get(gw, WIDGET);
  assert.equal(plain.headers.get("cache-status"), "github-proxy; fwd=uri-miss; stored");
});

Deno.test("freshness opt-in: Cache-Control max-age serves locally with Age; no-cache revalidates", async () => {
  await using setup = await cached({});
  const { fake, gw } = setup;
  const first = await get(gw, WIDGET);
  const calls = upstreamCalls(fake, WIDGET).length;
  const fresh = await get(gw, WIDGET, { "cache-control": "max-age=60" });
  assert.equal(fresh.status, 200);
  assert.equal(fresh.body, first.body);
  assert.match(fresh.headers.get("cache-status")!, /^github-proxy; hit; ttl=\d+$/);
  assert.match(fresh.headers.get("age")!, /^\d+$/);
  assert.equal(upstreamCalls(fake, WIDGET).length, calls);
  const conditional = await get(gw, WIDGET, {
    "cache-control": "max-age=60",
    "if-none-match": first.headers.get("etag")!,
  });
  assert.equal(conditional.status, 304);
  assert.equal(upstreamCalls(fake, WIDGET).length, calls);
  const revalidated = await get(gw, WIDGET, { "cache-control": "no-cache" });
  assert.equal(
    revalidated.headers.get("cache-status"),
    "github-proxy; fwd=stale; fwd-status=304",
  );
  assert.equal(revalidated.headers.get("age"), null);
  assert.equal(upstreamCalls(fake, WIDGET).length, calls + 1);
});

Deno.test("freshness opt-in from the registry's cache.max_age, overridden by no-cache", async () => {
  const registry = `version: 1
clients:
  - name: tester
    token: test-token
    cache: {max_age: 300}
`;
  await using setup = await cached({ registry });
  const { fake, gw } = setup;
  await get(gw, WIDGET);
  const fresh = await get(gw, WIDGET);
  assert.match(fresh.headers.get("cache-status")!, /^github-proxy; hit; ttl=\d+$/);
  assert.equal(upstreamCalls(fake, WIDGET).length, 1);
  const forced = await get(gw, WIDGET, { "cache-control": "no-cache" });
  assert.equal(forced.headers.get("cache-status"), "github-proxy; fwd=stale; fwd-status=304");
  assert.equal(upstreamCalls(fake, WIDGET).length, 2);
});

Deno.test("50 concurrent cold GETs make one upstream call", async () => {
  await using fake = await FakeGitHub.start({ pats: { [PAT]: {} } });
  fake.setResource(WIDGET, { name: "widget" });
  await using slow = startSlowProxy(fake.url, 300);
  await using gw = await startGateway({ githubApiUrl: slow.url, env: { GITHUB_PAT_ONE: PAT } });
  const answers = await Promise.all(Array.from({ length: 50 }, () => get(gw, WIDGET)));
  assert.ok(answers.every((a) => a.status === 200 && a.body === answers[0].body));
  assert.equal(upstreamCalls(fake, WIDGET).length, 1);
  const statuses = answers.map((a) => a.headers.get("cache-status"));
  assert.equal(statuses.filter((s) => s === "github-proxy; fwd=uri-miss; stored").length, 1);
  assert.equal(
    statuses.filter((s) => s === "github-proxy; fwd=uri-miss; stored; collapsed").length,
    49,
  );
});

Deno.test("concurrent GETs of a body over the size cap each get all of it, unstored", async () => {
  await using fake = await FakeGitHub.start({ pats: { [PAT]: {} } });
  await using slow = startSlowProxy(fake.url, 100);
  await using gw = await startGateway({ githubApiUrl: slow.url, env: { GITHUB_PAT_ONE: PAT } });
  const size = 9 * 1024 * 1024;
  const path = `/echo/binary?size=${size}`;
  const answers = await Promise.all([1, 2, 3].map(async () => {
    const response = await fetch(`${gw.url}${path}`, authed());
    return { headers: response.headers, bytes: new Uint8Array(await response.arrayBuffer()) };
  }));
  for (const answer of answers) {
    assert.equal(answer.bytes.length, size);
    assert.equal(answer.bytes[size - 1], (size - 1) % 251);
    assert.equal(answer.headers.get("cache-status"), "github-proxy; fwd=uri-miss");
  }
  const again = await get(gw, path, {}, "HEAD");
  assert.equal(again.headers.get("cache-status"), "github-proxy; fwd=bypass");
});

Deno.test("an upstream body that breaks off is a 502, not an internal error", async () => {
  const broken = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"partial":'));
      },
      pull(controller) {
        controller.error(new Error("connection lost"));
      },
    });
    return new Response(body, { headers: { etag: 'W/"x"', "content-type": "application/json" } });
  });
  const gw = await startGateway({ githubApiUrl: `http://127.0.0.1:${broken.addr.port}` });
  try {
    const answer = await get(gw, WIDGET);
    assert.equal(answer.status, 502);
    assert.equal(JSON.parse(answer.body).message, "GitHub could not be reached");
  } finally {
    await gw.close();
    await broken.shutdown();
  }
});

Deno.test("a waiter whose client goes away does not cancel the shared upstream call", async () => {
  await using fake = await FakeGitHub.start({ pats: { [PAT]: {} } });
  fake.setResource(WIDGET, { name: "widget" });
  // GitHub answers late enough for both clients to be waiting when the first leaves.
  await using slow = startSlowProxy(fake.url, 1000);
  await using gw = await startGateway({ githubApiUrl: slow.url, env: { GITHUB_PAT_ONE: PAT } });
  const leaving = new AbortController();
  const first = fetch(`${gw.url}${WIDGET}`, authed(undefined, { signal: leaving.signal }));
  await until(() => gw.gateway.cache.waiting === 1, "the first client's call");
  const second = get(gw, WIDGET);
  // The second joins before the first leaves: a flight no one waits for is cancelled.
  await until(() => gw.gateway.cache.waiting === 2, "the second client joining the call");
  leaving.abort();
  await assert.rejects(first);
  const answer = await second;
  assert.equal(answer.status, 200);
  assert.deepEqual(JSON.parse(answer.body), { name: "widget" });
  assert.equal(upstreamCalls(fake, WIDGET).length, 1);
  const later = await get(gw, WIDGET);
  assert.equal(later.headers.get("cache-status"), "github-proxy; fwd=stale; fwd-status=304");
});

Deno.test("a 2 MB body round-trips through Deno KV", async () => {
  await using setup = await cached({ backend: "denokv://" });
  const { fake, gw } = setup;
  const path = `/echo/binary?size=${2 * 1024 * 1024}`;
  const first = await fetch(`${gw.url}${path}`, authed());
  const firstBytes = new Uint8Array(await first.arrayBuffer());
  assert.equal(first.headers.get("cache-status"), "github-proxy; fwd=uri-miss; stored");
  const second = await fetch(`${gw.url}${path}`, authed());
  const secondBytes = new Uint8Array(await second.arrayBuffer());
  assert.equal(second.headers.get("cache-status"), "github-proxy; fwd=stale; fwd-status=304");
  assert.equal(secondBytes.length, 2 * 1024 * 1024);
  assert.deepEqual(secondBytes, firstBytes);
  assert.equal(upstreamCalls(fake, "/echo/binary").at(-1)!.status, 304);
});

Deno.test("two gateways sharing a Deno KV file share entries across credentials", async () => {
  const fake = await FakeGitHub.start({ pats: { [PAT]: {}, [OTHER_PAT]: {} } });
  fake.setResource(WIDGET, { name: "widget" });
  const dir = await Deno.makeTempDir({ prefix: "github-proxy-kv-" });
  const backend = `denokv://${dir}/shared.kv`;
  const one = await startGateway({
    githubApiUrl: fake.url,
    env: { GITHUB_PAT_ONE: PAT, CACHE_BACKEND_URL: backend },
  });
  const two = await startGateway({
    githubApiUrl: fake.url,
    env: { GITHUB_PAT_TWO: OTHER_PAT, CACHE_BACKEND_URL: backend },
  });
  try {
    const stored = await get(one, WIDGET);
    assert.equal(stored.headers.get("cache-status"), "github-proxy; fwd=uri-miss; stored");
    const shared = await get(two, WIDGET);
    assert.equal(shared.headers.get("cache-status"), "github-proxy; fwd=stale; fwd-status=304");
    assert.equal(shared.body, stored.body);
    assert.equal(shared.headers.get("etag"), stored.headers.get("etag"));
    assert.equal(upstreamCalls(fake, WIDGET).at(-1)!.credential, OTHER_PAT);
    assert.equal(fake.remaining(OTHER_PAT), 5000);
    assert.equal(fake.remaining(PAT), 4999);
    const back = await get(one, WIDGET);
    assert.equal(back.headers.get("cache-status"), "github-proxy; fwd=stale; fwd-status=304");
    assert.equal(fake.remaining(PAT), 4999);
  } finally {
    await one.close();
    await two.close();
    await fake.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an unknown cache scheme stops start-up and lists the known ones", async () => {
  await using fake = await FakeGitHub.start();
  await assert.rejects(
    startGateway({ githubApiUrl: fake.url, env: { CACHE_BACKEND_URL: "memcached://cache:11211" } }),
    (error: Error) => {
      assert.equal(error.name, "ConfigError");
      assert.match(error.message, /unknown scheme "memcached:\/\/"/);
      const schemes = [
        "denokv://",
        "memory://",
        "inmemory://",
        "upstash://",
        "redis://",
        "rediss://",
      ];
      for (const known of schemes) {
        assert.ok(error.message.includes(known), known);
      }
      return true;
    },
  );
});
