import assert from "node:assert/strict";
import { buildStatusData, type StatusSources } from "../../../src/endpoints/status/data.ts";
import { refreshSeconds, wantsJson } from "../../../src/endpoints/status/endpoint.ts";
import { byteSize, countdown, renderStatusPage } from "../../../src/endpoints/status/page.tsx";
import type { PoolSnapshot } from "../../../src/credentials/events.ts";
import { PointsHistory } from "../../../src/telemetry/history.ts";
import { ManualClock } from "../../support/clock.ts";

const NOW = Date.UTC(2026, 11, 1, 12, 0, 0);

const POOL: PoolSnapshot = {
  atMs: NOW,
  credentials: [
    { name: "MAIN", kind: "pat", owner: "MAIN", bad: false, unusableUntilMs: 0, resources: [] },
    { name: "OLD", kind: "pat", owner: "OLD", bad: true, unusableUntilMs: 0, resources: [] },
  ],
  owners: [
    {
      name: "MAIN",
      credentials: ["MAIN"],
      frozenUntilMs: NOW + 90_000,
      inFlight: 1,
      queued: 0,
      resources: [{
        resource: "core",
        limit: 5000,
        remaining: 120,
        resetAtMs: NOW + 245_000,
        parkedUntilMs: NOW + 10_000,
        inFlight: 1,
      }],
    },
    { name: "OLD", credentials: ["OLD"], frozenUntilMs: 0, inFlight: 0, queued: 0, resources: [] },
  ],
  tokenCache: { items: 0 },
};

const CI_HOUR = {
  requests: 9,
  pointsSpent: 4,
  pointsSaved: 5,
  pointsByResource: { core: 4 },
  refused: { budget: 2, reserve: 0, rate: 1, concurrency: 0 },
};

function sources(extra: Partial<StatusSources> = {}): StatusSources {
  return {
    nowMs: NOW,
    version: "0.1.0",
    pool: POOL,
    clients: [{ name: "ci", priority: "high" }, { name: "idle", priority: "low" }],
    usage: [{ client: "ci", lastHour: CI_HOUR, sinceStart: CI_HOUR }],
    budgets: [{ client: "ci", limit: 10, remaining: 6, fullAtMs: NOW }],
    cache: { backend: "upstash", problem: "unreachable", failures: 3 },
    history: [{ startMs: NOW, spent: 4, saved: 5, cacheAnswered: 5, cacheMissed: 4 }],
    installations: [],
    ...extra,
  };
}

Deno.test("status data: owners with countdowns, clients with budgets and refusals, cache ratio", () => {
  const data = buildStatusData(sources());
  assert.deepEqual(data.pool.owners[0], {
    name: "MAIN",
    credentials: [{ name: "MAIN", kind: "pat", bad: false, restingSeconds: 0 }],
    coolingDownSeconds: 90,
    inFlight: 1,
    queued: 0,
    resources: [{
      resource: "core",
      limit: 5000,
      remaining: 120,
      resetInSeconds: 245,
      parked: true,
    }],
  });
  assert.equal(data.pool.owners[1].credentials[0].bad, true);
  assert.deepEqual(data.clients, [
    {
      name: "ci",
      priority: "high",
      requests: 9,
      pointsSpent: 4,
      pointsSaved: 5,
      budget: { limit: 10, remaining: 6, used: 4 },
      refused: { budget: 2, reserve: 0, rate: 1, concurrency: 0 },
    },
    {
      name: "idle",
      priority: "low",
      requests: 0,
      pointsSpent: 0,
      pointsSaved: 0,
      refused: { budget: 0, reserve: 0, rate: 0, concurrency: 0 },
    },
  ]);
  assert.deepEqual(data.cache, {
    backend: "upstash",
    healthy: false,
    problem: "unreachable",
    failures: 3,
    hitRatio: 5 / 9,
  });
  assert.equal(data.installations, undefined);
  assert.equal(data.webhooks, undefined);
  assert.equal(data.sharedState, undefined);
});

Deno.test("the page shows bad, cooling, parked and the unhealthy backend", () => {
  const html = renderStatusPage(buildStatusData(sources()));
  assert.match(html, /cooling down 1m 30s/);
  assert.match(html, /OLD \(pat\) bad/);
  assert.match(html, /class="badge warn parked">parked/);
  assert.match(html, /id="cache-health">unreachable/);
  assert.match(html, /<td class="n refused-budget">2<\/td>/);
  assert.match(html, /4m 05s/);
  assert.doesNotMatch(html, /id="installations"|id="webhooks"|id="shared-state"/);
  assert.doesNotMatch(html, /http-equiv="refresh"/);
});

Deno.test("optional sections render when their source is given", () => {
  const html = renderStatusPage(
    buildStatusData(sources({
      installations: [{
        credential: "BOT@acme",
        installationId: "977",
        account: "acme",
        repositorySelection: "selected",
        tokens: [{
          narrowing: { repositories: ["app"], permissions: { contents: "read" } },
          expiresAtMs: NOW + 3000_000,
        }, { expiresAtMs: NOW + 1200_000 }],
      }, { credential: "OLD", installationId: "988", tokens: [] }],
      webhooks: {
        deliveries: Array.from({ length: 30 }, (_, i) => ({
          id: `d-${i}`,
          event: "push",
          repository: "acme/app",
          atMs: NOW - i * 1000,
          outcome: i === 0 ? "processed" : "duplicate",
        })),
        outcomes: { sent: 1, failed: 29 },
      },
      sharedState: { backend: "redis", healthy: true, replicas: 3, lastSyncSecondsAgo: 2 },
    })),
    30,
  );
  assert.match(html, /<tr data-installation="977">[^]*BOT@acme[^]*acme[^]*selected/);
  assert.match(html, /repositories app; contents:read; expires in 50m 00s/);
  assert.match(html, />all; expires in 20m 00s/);
  assert.match(html, /<tr data-installation="988">[^]*OLD[^]*unknown[^]*none cached/);
  assert.match(html, /<tr data-delivery="d-0">[^]*push[^]*acme\/app[^]*2026-12-01T12:00:00.000Z/);
  assert.match(html, /<tr data-delivery="d-19">/);
  assert.doesNotMatch(html, /data-delivery="d-20"/);
  assert.match(html, /data-outcome="failed">failed: 29/);
  assert.match(html, /id="shared-state"[^]*redis[^]*healthy[^]*replicas 3/);
  assert.match(html, /<meta http-equiv="refresh" content="30"/);
});

Deno.test("page text escapes what it shows", () => {
  const html = renderStatusPage(
    buildStatusData(sources({ clients: [{ name: "<script>x</script>", priority: "normal" }] })),
  );
  assert.doesNotMatch(html, /<script>/);
  assert.match(html, /&lt;script&gt;/);
});

Deno.test("refresh, accept, countdown and size formats", () => {
  assert.equal(refreshSeconds(undefined), undefined);
  assert.equal(refreshSeconds("abc"), undefined);
  assert.equal(refreshSeconds("1"), 5);
  assert.equal(refreshSeconds("30"), 30);
  assert.equal(refreshSeconds("999999"), 3600);
  assert.equal(wantsJson("application/json"), true);
  assert.equal(wantsJson("text/html,application/xhtml+xml"), false);
  assert.equal(countdown(0), "now");
  assert.equal(countdown(59), "59s");
  assert.equal(countdown(3725), "1h 02m");
  assert.equal(byteSize(999), "999 B");
  assert.equal(byteSize(19_500), "19.5 kB");
});

Deno.test("history: 60 one-minute buckets, old minutes dropped, bounded", () => {
  const clock = new ManualClock(NOW);
  const history = new PointsHistory(() => clock.now());
  const upstream = { client: "ci", credential: "M", resource: "core", status: 200, seconds: 0 };
  history.sink.upstreamRequest({ ...upstream, points: 2 });
  history.sink.pointsSaved("ci", "core", 1);
  clock.advance(60_000 * 59);
  history.sink.upstreamRequest({ ...upstream, points: 3 });
  let minutes = history.minutes();
  assert.equal(minutes.length, 60);
  assert.deepEqual([minutes[0].spent, minutes[0].saved, minutes[59].spent], [2, 1, 3]);
  clock.advance(60_000);
  minutes = history.minutes();
  assert.equal(minutes.length, 60);
  assert.equal(minutes.reduce((sum, m) => sum + m.spent, 0), 3);
});
