import assert from "node:assert/strict";
import { UsageTracker } from "../../../src/telemetry/usage.ts";

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
  usage.sink.pointsSaved("ci", "core", 4);
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
