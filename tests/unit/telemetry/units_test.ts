import assert from "node:assert/strict";
import { methodLabel, shownMethod } from "../../../src/http/method.ts";
import { cacheResult } from "../../../src/telemetry/access_log.ts";
import type { CacheEvent } from "../../../src/cache/policy.ts";
import { createRouteMatcher, UNKNOWN_ROUTE } from "../../../src/telemetry/routes.ts";
import { UsageTracker } from "../../../src/telemetry/usage.ts";
import { createTelemetry } from "../../../src/telemetry/mod.ts";
import { createLogger } from "../../../src/log.ts";

Deno.test("paths collapse to GitHub's published route templates", () => {
  const routeOf = createRouteMatcher();
  const table: [string, string][] = [
    ["/repos/acme/app/issues", "/repos/{owner}/{repo}/issues"],
    ["/repos/ACME/App/Issues", "/repos/{owner}/{repo}/issues"],
    ["/repos/acme/app/issues/12", "/repos/{owner}/{repo}/issues/{issue_number}"],
    ["/repos/acme/app/pulls/3/reviews", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews"],
    ["/repos/acme/app/contents/docs/a/b.md", "/repos/{owner}/{repo}/contents/{path}"],
    ["/repos/acme/app/git/refs/heads/feature/x", "/repos/{owner}/{repo}/git/refs/{ref}"],
    [
      "/orgs/acme/actions/runners/registration-token",
      "/orgs/{org}/actions/runners/registration-token",
    ],
    ["/user", "/user"],
    ["/users/octocat", "/users/{username}"],
    ["/search/code", "/search/code"],
    ["/graphql", "/graphql"],
    ["/zen", "/zen"],
    ["/", "/"],
    ["/definitely/not/github", UNKNOWN_ROUTE],
    ["/repos/acme", UNKNOWN_ROUTE],
    ["/users//x", UNKNOWN_ROUTE],
  ];
  for (const [path, route] of table) assert.equal(routeOf(path), route, path);
});

Deno.test("the cache result is read from the cache's event", () => {
  const forward = { kind: "forward", stored: false, collapsed: false, backendDown: false } as const;
  const table: [CacheEvent | undefined, string][] = [
    [undefined, "bypass"],
    [{ kind: "bypass" }, "bypass"],
    [{ kind: "hit", ttlSeconds: 12 }, "hit"],
    [{ ...forward, reason: "stale", status: 304 }, "revalidated"],
    [{ ...forward, reason: "uri-miss", status: 200, stored: true }, "miss"],
    [{ ...forward, reason: "stale", status: 200, stored: true }, "miss"],
    [{ ...forward, reason: "uri-miss", status: 200, collapsed: true }, "coalesced"],
  ];
  for (const [event, result] of table) {
    assert.equal(cacheResult(event), result, JSON.stringify(event));
  }
});

Deno.test("usage keeps the last hour in minute buckets and the total since start", () => {
  let now = Date.UTC(2026, 0, 1, 12, 0, 0);
  const usage = new UsageTracker(() => now);
  const request = { method: "GET", route: "/", status: 200, cache: "miss" as const, seconds: 0 };
  usage.sink.clientRequest({ client: "ci", ...request });
  usage.sink.upstreamRequest({
    client: "ci",
    credential: "A",
    resource: "core",
    status: 200,
    seconds: 0,
    points: 1,
  });
  usage.sink.pointsSaved("ci", 4);
  usage.sink.admitRefusal("ci", "budget");
  now += 30 * 60_000;
  usage.sink.clientRequest({ client: "ci", ...request });
  usage.sink.clientRequest({ client: "bot", ...request });
  const none = { budget: 0, reserve: 0, rate: 0, concurrency: 0 };
  const first = {
    requests: 2,
    pointsSpent: 1,
    pointsSaved: 4,
    pointsByResource: { core: 1 },
    refused: { ...none, budget: 1 },
  };
  assert.deepEqual(usage.clients().find((c) => c.client === "ci")?.lastHour, first);
  now += 31 * 60_000;
  const ci = usage.clients().find((c) => c.client === "ci")!;
  assert.deepEqual(ci.lastHour, {
    requests: 1,
    pointsSpent: 0,
    pointsSaved: 0,
    pointsByResource: {},
    refused: none,
  });
  assert.deepEqual(ci.sinceStart, first);
  now += 120 * 60_000;
  assert.deepEqual(usage.clients()[0].lastHour, {
    requests: 0,
    pointsSpent: 0,
    pointsSaved: 0,
    pointsByResource: {},
    refused: none,
  });
});

Deno.test("the logging collector writes usage summaries instead of metrics", async () => {
  const lines: string[] = [];
  const telemetry = createTelemetry(
    "logging",
    { quotas: () => [] },
    createLogger("info", "json", (line) => lines.push(line)),
    20,
  );
  telemetry.sink.clientRequest({
    client: "ci",
    method: "GET",
    route: "/zen",
    status: 200,
    cache: "bypass",
    seconds: 0.01,
  });
  await new Promise((resolve) => setTimeout(resolve, 60));
  telemetry.close();
  assert.equal(telemetry.prometheus, undefined);
  const summary = lines.map((l) => JSON.parse(l)).find((l) => l.msg === "usage summary");
  assert.ok(summary, "a summary was logged");
  assert.equal(summary.clients[0].client, "ci");
  assert.equal(summary.clients[0].lastHour.requests, 1);
});

Deno.test("method labels come from a fixed set; shown methods are cut", () => {
  const labels: [string, string][] = [
    ["GET", "GET"],
    ["get", "GET"],
    ["Options", "OPTIONS"],
    ["DELETE", "DELETE"],
    ["PROPFIND", "other"],
    ["M1X", "other"],
    [`GET${"T".repeat(60_000)}`, "other"],
  ];
  for (const [method, label] of labels) {
    assert.equal(methodLabel(method), label, method.slice(0, 9));
  }
  assert.equal(shownMethod("DELETE"), "DELETE");
  assert.equal(shownMethod("A".repeat(17)), `${"A".repeat(16)}…`);
});
