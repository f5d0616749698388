/**
 * `POST /webhooks/github` end to end (DESIGN §12): signatures, dedupe, ping, the endpoint's
 * absence without a secret, the body cap; invalidation seen by a freshness client, the 2-second
 * rule; `webhooks:` rules dispatched through the pool as client `webhooks`, retried on a 5xx;
 * what metrics, logs and `/usage` show.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../support/clock.ts";
import { type FakeAndGateway, fakeAndGateway } from "../support/fixtures.ts";
import { authed, TEST_TOKEN } from "../support/gateway.ts";
import { type Exposition, parseExposition } from "../support/prometheus_text.ts";
import { sendDelivery } from "../support/webhook_sender.ts";

const OLD_SECRET = "old-hook-secret";
const SECRET = "new-hook-secret";
const FRESH_TOKEN = "fresh-token";
const PAT = "pat-a";

const REGISTRY = `version: 1
clients:
  - name: tester
    token: ${TEST_TOKEN}
  - name: fresh
    token: ${FRESH_TOKEN}
    cache:
      max_age: 600
webhooks:
  - on: repository.created
    dispatch:
      repository: acme/github-cop
      workflow: configure.yml
      ref: main
      inputs: { repo: "{{ event.repository.name }}", owner: "{{ event.repository.owner.login }}" }
`;

/** The registry's one rule, as metrics and logs name it. */
const RULE = "webhooks[0] repository.created";

const CREATED = {
  action: "created",
  repository: { name: "new-app", full_name: "acme/new-app", owner: { login: "acme" } },
  organization: { login: "acme" },
};

/** Another repository's `created` event: a body of its own, so not a replay of `CREATED`. */
function created(name: string) {
  return { ...CREATED, repository: { ...CREATED.repository, name, full_name: `acme/${name}` } };
}

interface Options {
  readonly secret?: string;
  readonly now?: () => number;
  readonly onInstallationsChanged?: () => void;
  /** `CACHE_BACKEND_URL` (default memory://). */
  readonly backend?: string;
}

async function setup(options: Options = {}): Promise<FakeAndGateway> {
  const fx = await fakeAndGateway({
    fake: { pats: { [PAT]: {} } },
    env: {
      GITHUB_PAT_A: PAT,
      ...(options.backend ? { CACHE_BACKEND_URL: options.backend } : {}),
      ...(options.secret === ""
        ? {}
        : { GITHUB_WEBHOOK_SECRET: options.secret ?? `${OLD_SECRET},${SECRET}` }),
    },
    now: options.now,
    gateway: {
      registry: REGISTRY,
      webhooks: { retryDelayMs: 5, onInstallationsChanged: options.onInstallationsChanged },
    },
  });
  fx.fake.dispatches.addWorkflow("acme/github-cop", "configure.yml", { inputs: ["repo", "owner"] });
  return fx;
}

async function read(fx: FakeAndGateway, path: string, token = FRESH_TOKEN) {
  const response = await fetch(`${fx.gw.url}${path}`, authed(token));
  return {
    status: response.status,
    body: await response.json(),
    cache: response.headers.get("cache-status"),
  };
}

function upstreamCalls(fx: FakeAndGateway, path: string): number {
  return fx.fake.requests.filter((r) => r.path === path).length;
}

/** The rule's dispatches sent and failed, as `/metrics` counts them. */
function dispatchOutcomes(metrics: Exposition) {
  const count = (outcome: string) =>
    metrics.value("github_proxy_webhook_dispatches_total", { rule: RULE, outcome });
  return { sent: count("sent"), failed: count("failed") };
}

async function scrape(fx: FakeAndGateway) {
  return parseExposition(await (await fetch(`${fx.gw.url}/metrics`)).text());
}

Deno.test("webhooks: a delivery signed under either secret is taken, whatever the header's spelling", async () => {
  await using fx = await setup();
  const variants = [
    { secret: OLD_SECRET },
    { secret: SECRET },
    { secret: SECRET, signatureHeader: "x-hub-signature-256" },
    { secret: SECRET, signatureHeader: "X-HUB-SIGNATURE-256", upperHex: true },
  ];
  for (const [n, variant] of variants.entries()) {
    // Each its own body: one body twice is a replay, whatever its id (the next test).
    const payload = { starred_at: `2026-01-0${n + 1}T00:00:00Z` };
    const { response } = await sendDelivery(fx.gw.url, { event: "star", payload, ...variant });
    assert.equal(response.status, 202, JSON.stringify(variant));
    assert.deepEqual(await response.json(), { message: "accepted" });
  }
  await fx.gw.gateway.webhooks.settled();
  const metrics = await scrape(fx);
  assert.equal(
    metrics.value("github_proxy_webhook_deliveries_total", { event: "star", outcome: "processed" }),
    4,
  );
  assert.equal(metrics.value("github_proxy_webhook_signature_failures_total"), 0);
});

Deno.test("webhooks: a missing or wrong signature is 401 and nothing at all happens", async () => {
  await using fx = await setup();
  const id = crypto.randomUUID();
  const forgeries = [
    { secret: null },
    { secret: "not-the-secret" },
    { secret: SECRET, tamper: (body: Uint8Array) => body.map((b, i) => i === 20 ? b ^ 1 : b) },
    { secret: null, headers: { authorization: `token ${TEST_TOKEN}` } },
  ];
  for (const forgery of forgeries) {
    const { response } = await sendDelivery(fx.gw.url, {
      event: "repository",
      payload: CREATED,
      id,
      ...forgery,
    });
    assert.equal(response.status, 401);
    const body = await response.json();
    assert.equal(body.message, "Bad credentials");
    assert.match(body.detail, /X-Hub-Signature-256/);
  }
  await fx.gw.gateway.webhooks.settled();
  assert.equal(fx.fake.dispatches.calls.length, 0);
  let metrics = await scrape(fx);
  assert.equal(metrics.value("github_proxy_webhook_signature_failures_total"), 4);
  assert.equal(metrics.value("github_proxy_webhook_deliveries_total"), 0);
  assert.ok(fx.gw.logs.every((line) => !line.includes(SECRET) && !line.includes("new-app")));
  // The refused deliveries left no dedupe entry: the genuine one is worked.
  const { response } = await sendDelivery(fx.gw.url, {
    event: "repository",
    payload: CREATED,
    id,
    secret: SECRET,
  });
  assert.equal(response.status, 202);
  await fx.gw.gateway.webhooks.settled();
  assert.equal(fx.fake.dispatches.calls.length, 1);
  metrics = await scrape(fx);
  assert.equal(
    metrics.value("github_proxy_webhook_deliveries_total", {
      event: "repository",
      outcome: "processed",
    }),
    1,
  );
});

Deno.test("webhooks: ping is 200; a body over 25 MB is 413; a delivery without its headers is 400", async () => {
  await using fx = await setup();
  const ping = await sendDelivery(fx.gw.url, {
    event: "ping",
    payload: { zen: "Design for failure." },
    secret: SECRET,
  });
  assert.equal(ping.response.status, 200);
  assert.deepEqual(await ping.response.json(), { message: "pong" });
  const big = new Uint8Array(25 * 1024 * 1024 + 1).fill(0x20);
  const tooLarge = await sendDelivery(fx.gw.url, { event: "push", payload: big, secret: SECRET });
  assert.equal(tooLarge.response.status, 413);
  assert.equal((await tooLarge.response.json()).message, "Payload too large");
  const unnamed = await sendDelivery(fx.gw.url, { event: "", payload: {}, secret: SECRET });
  assert.equal(unnamed.response.status, 400);
  await unnamed.response.body?.cancel();
  const metrics = await scrape(fx);
  assert.equal(
    metrics.value("github_proxy_webhook_deliveries_total", { event: "ping", outcome: "ping" }),
    1,
  );
  assert.equal(metrics.value("github_proxy_webhook_signature_failures_total"), 0);
});

Deno.test("webhooks: without GITHUB_WEBHOOK_SECRET the endpoint answers 404, with or without a client token", async () => {
  await using fx = await setup({ secret: "" });
  const withToken: Record<string, string>[] = [{}, { authorization: `token ${TEST_TOKEN}` }];
  for (const headers of withToken) {
    const { response } = await sendDelivery(fx.gw.url, {
      event: "ping",
      payload: {},
      secret: SECRET,
      headers,
    });
    assert.equal(response.status, 404);
    assert.equal((await response.json()).message, "Not Found");
  }
  assert.equal(fx.fake.requests.filter((r) => r.path.includes("webhooks")).length, 0);
});

Deno.test("webhooks: a rule sends exactly one dispatch with the rendered inputs; a redelivery or a replay sends none", async () => {
  await using fx = await setup();
  const first = await sendDelivery(fx.gw.url, {
    event: "repository",
    payload: CREATED,
    secret: SECRET,
  });
  assert.equal(first.response.status, 202);
  await fx.gw.gateway.webhooks.settled();
  const again = await sendDelivery(fx.gw.url, {
    event: "repository",
    payload: CREATED,
    secret: SECRET,
    id: first.id,
  });
  assert.equal(again.response.status, 202);
  assert.deepEqual(await again.response.json(), { message: "already received" });
  // The signed body replayed under a fresh id (the signature does not cover it), hex in any case.
  for (const upperHex of [false, true]) {
    const replay = await sendDelivery(fx.gw.url, {
      event: "repository",
      payload: CREATED,
      secret: SECRET,
      upperHex,
    });
    assert.notEqual(replay.id, first.id);
    assert.equal(replay.response.status, 202);
    assert.deepEqual(await replay.response.json(), { message: "already received" });
  }
  await fx.gw.gateway.webhooks.settled();
  assert.deepEqual(
    fx.fake.dispatches.calls.map(({ method, path, body, credential, status }) => ({
      method,
      path,
      body,
      credential,
      status,
    })),
    [{
      method: "POST",
      path: "/repos/acme/github-cop/actions/workflows/configure.yml/dispatches",
      body: { ref: "main", inputs: { repo: "new-app", owner: "acme" } },
      credential: PAT,
      status: 204,
    }],
  );
  // Another action of the same event does not match the rule.
  await sendDelivery(fx.gw.url, {
    event: "repository",
    payload: { ...CREATED, action: "deleted" },
    secret: SECRET,
  });
  await fx.gw.gateway.webhooks.settled();
  assert.equal(fx.fake.dispatches.calls.length, 1);
  const metrics = await scrape(fx);
  assert.deepEqual(dispatchOutcomes(metrics), { sent: 1, failed: 0 });
  assert.equal(
    metrics.value("github_proxy_webhook_deliveries_total", {
      event: "repository",
      outcome: "duplicate",
    }),
    3,
  );
  // Made as the built-in client: its points are its own.
  assert.equal(metrics.value("github_proxy_client_points_spent_total", { client: "webhooks" }), 1);
  const sent = fx.gw.logs.map((line) => JSON.parse(line)).find((line) =>
    line.msg === "webhook dispatch sent"
  );
  assert.equal(sent?.delivery, first.id);
  assert.equal(sent?.rule, RULE);
});

Deno.test("webhooks: a rule whose field is missing is skipped and logged with the delivery id", async () => {
  await using fx = await setup();
  const { id } = await sendDelivery(fx.gw.url, {
    event: "repository",
    payload: { action: "created", repository: { name: "x" } },
    secret: SECRET,
  });
  await fx.gw.gateway.webhooks.settled();
  assert.equal(fx.fake.dispatches.calls.length, 0);
  const skipped = fx.gw.logs.map((line) => JSON.parse(line)).find((line) =>
    line.msg === "webhook rule skipped"
  );
  assert.equal(skipped?.delivery, id);
  assert.equal(skipped?.reason, "event.repository.owner.login is not in the payload");
  const metrics = await scrape(fx);
  assert.equal(metrics.value("github_proxy_webhook_dispatches_total", { outcome: "skipped" }), 1);
});

Deno.test("webhooks: a dispatch answered 5xx is retried until GitHub takes it; a 404 is final", async () => {
  await using fx = await setup();
  fx.fake.dispatches.failNext(2, 502);
  await sendDelivery(fx.gw.url, { event: "repository", payload: CREATED, secret: SECRET });
  await fx.gw.gateway.webhooks.settled();
  assert.deepEqual(fx.fake.dispatches.calls.map((call) => call.status), [502, 502, 204]);
  // A workflow the repository does not have: GitHub's 404, not retried.
  fx.fake.dispatches.calls.length = 0;
  fx.fake.dispatches.removeWorkflow("acme/github-cop", "configure.yml");
  await sendDelivery(fx.gw.url, { event: "repository", payload: created("app-2"), secret: SECRET });
  await fx.gw.gateway.webhooks.settled();
  assert.deepEqual(fx.fake.dispatches.calls.map((call) => call.status), [404]);
  const failed = fx.gw.logs.map((line) => JSON.parse(line)).find((line) =>
    line.msg === "webhook dispatch failed"
  );
  assert.equal(failed?.status, 404);
  assert.equal(failed?.message, "Not Found");
  fx.fake.dispatches.addWorkflow("acme/github-cop", "configure.yml");
  fx.fake.dispatches.calls.length = 0;
  fx.fake.dispatches.failNext(10, 503);
  await sendDelivery(fx.gw.url, { event: "repository", payload: created("app-3"), secret: SECRET });
  await fx.gw.gateway.webhooks.settled();
  assert.equal(fx.fake.dispatches.calls.length, 4, "bounded attempts");
  const metrics = await scrape(fx);
  assert.deepEqual(dispatchOutcomes(metrics), { sent: 1, failed: 2 });
});

// Deno KV sits behind the near tier, which answers freshness clients: the marks still hold.
for (const backend of ["memory://", "denokv://"]) {
  Deno.test(`webhooks (${backend}): a freshness client sees a change after its event; another repository stays fresh`, async () => {
    await using fx = await setup({ backend });
    fx.fake.setResource("/repos/acme/app/commits", [{ sha: "old" }]);
    fx.fake.setResource("/repos/acme/lib/commits", [{ sha: "lib" }]);
    assert.deepEqual((await read(fx, "/repos/acme/app/commits")).body, [{ sha: "old" }]);
    assert.deepEqual((await read(fx, "/repos/acme/lib/commits")).body, [{ sha: "lib" }]);
    fx.fake.mutate("/repos/acme/app/commits", [{ sha: "new" }]);
    fx.fake.mutate("/repos/acme/lib/commits", [{ sha: "lib2" }]);
    // Without an event, max_age 600 serves what it has.
    assert.deepEqual((await read(fx, "/repos/acme/app/commits")).body, [{ sha: "old" }]);
    await sendDelivery(fx.gw.url, {
      event: "push",
      payload: { ref: "refs/heads/main", repository: { full_name: "acme/app" } },
      secret: SECRET,
    });
    await fx.gw.gateway.webhooks.settled();
    const appBefore = upstreamCalls(fx, "/repos/acme/app/commits");
    const libBefore = upstreamCalls(fx, "/repos/acme/lib/commits");
    const app = await read(fx, "/repos/acme/app/commits");
    assert.deepEqual(app.body, [{ sha: "new" }]);
    assert.match(app.cache ?? "", /fwd=stale/);
    const lib = await read(fx, "/repos/acme/lib/commits");
    assert.deepEqual(lib.body, [{ sha: "lib" }], "no event for acme/lib: still served fresh");
    assert.match(lib.cache ?? "", /; hit/);
    assert.equal(upstreamCalls(fx, "/repos/acme/app/commits"), appBefore + 1);
    assert.equal(upstreamCalls(fx, "/repos/acme/lib/commits"), libBefore);
    const metrics = await scrape(fx);
    assert.equal(metrics.value("github_proxy_webhook_invalidations_total", { event: "push" }), 1);
  });
}

Deno.test("webhooks: the 2-second rule — revalidations under 2 s after the event do not clear it", async () => {
  const clock = new ManualClock();
  await using fx = await setup({ now: clock.now });
  fx.fake.setResource("/repos/acme/app/releases", [{ tag: "v1" }]);
  await read(fx, "/repos/acme/app/releases");
  clock.advance(10_000);
  await sendDelivery(fx.gw.url, {
    event: "release",
    payload: { action: "published", repository: { full_name: "acme/app" } },
    secret: SECRET,
  });
  await fx.gw.gateway.webhooks.settled();
  const calls = () => upstreamCalls(fx, "/repos/acme/app/releases");
  const before = calls();
  // GitHub's answer may still be the old one for a moment: each read asks again.
  for (const ms of [500, 500, 900]) {
    clock.advance(ms);
    assert.match((await read(fx, "/repos/acme/app/releases")).cache ?? "", /fwd=stale/);
  }
  assert.equal(calls(), before + 3);
  // 2.1 s after the event a revalidation clears the mark, and the entry is fresh again.
  clock.advance(200);
  assert.match((await read(fx, "/repos/acme/app/releases")).cache ?? "", /fwd=stale/);
  await fx.gw.gateway.cache.drain(); // the entry's touch is written behind the answer
  clock.advance(100);
  assert.match((await read(fx, "/repos/acme/app/releases")).cache ?? "", /; hit/);
  assert.equal(calls(), before + 4);
});

Deno.test("webhooks: installation events call the embedder's hook (a failing one is logged); /usage lists the last deliveries", async () => {
  let changed = 0;
  await using fx = await setup({
    onInstallationsChanged: () => {
      changed++;
      throw new Error("the embedder's hook failed");
    },
  });
  const deliveries: [string, unknown][] = [
    ["installation_repositories", { action: "added", installation: { id: 1 } }],
    ["installation", { action: "created" }],
    ["repository", CREATED],
    ["ping", {}],
  ];
  const ids: string[] = [];
  for (const [event, payload] of deliveries) {
    ids.push((await sendDelivery(fx.gw.url, { event, payload, secret: SECRET })).id);
    await fx.gw.gateway.webhooks.settled();
  }
  assert.equal(changed, 2);
  const failures = fx.gw.logs.map((line) => JSON.parse(line)).filter((line) =>
    line.msg === "webhook: installations could not be read again"
  );
  assert.deepEqual(failures.map((line) => line.delivery), ids.slice(0, 2));
  const usage = await (await fetch(`${fx.gw.url}/usage`, authed())).json();
  const listed = usage.webhooks.last_deliveries;
  assert.deepEqual(
    listed.map((d: { event: string; outcome: string }) => [d.event, d.outcome]),
    [
      ["ping", "ping"],
      ["repository", "processed"],
      ["installation", "processed"],
      ["installation_repositories", "processed"],
    ],
  );
  assert.equal(listed[1].repository, "acme/new-app");
  assert.equal(listed[1].action, "created");
  assert.deepEqual(listed.map((d: { id: string }) => d.id), ids.toReversed());
  assert.ok(!JSON.stringify(usage).includes("owner"), "no payload on /usage");
});
