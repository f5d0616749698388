import assert from "node:assert/strict";
import {
  type Baseline,
  combine,
  type Measurement,
  percentile,
  ratios,
  regressions,
} from "../../../bench/stats.ts";

Deno.test("percentile: nearest rank over ascending samples", () => {
  const samples = Array.from({ length: 100 }, (_, i) => i + 1);
  const cases: [readonly number[], number, number][] = [
    [samples, 0.5, 50],
    [samples, 0.99, 99],
    [samples, 1, 100],
    [samples, 0, 1],
    [[7], 0.99, 7],
    [[1, 2], 0.5, 1],
  ];
  for (const [sorted, p, expected] of cases) assert.equal(percentile(sorted, p), expected);
  assert.ok(Number.isNaN(percentile([], 0.5)));
});

Deno.test("combine: throughput over all rounds' time, percentiles averaged, errors summed", () => {
  const measured = combine("row", [
    { requests: 1000, elapsedMs: 1000, p50Ms: 1, p99Ms: 4, errors: 0 },
    { requests: 3000, elapsedMs: 1000, p50Ms: 3, p99Ms: 8, errors: 2 },
  ]);
  assert.deepEqual(measured, {
    name: "row",
    requestsPerSecond: 2000,
    p50Ms: 2,
    p99Ms: 6,
    errors: 2,
  });
});

const row = (name: string, requestsPerSecond: number): Measurement => ({
  name,
  requestsPerSecond,
  p50Ms: 1,
  p99Ms: 2,
  errors: 0,
});

Deno.test("ratios: of over over, named by both rows; a skipped row leaves its ratio out", () => {
  const measured = [row("gateway", 900), row("bare", 1000)];
  assert.deepEqual(
    ratios([
      { of: "gateway", over: "bare", target: 0.9 },
      { of: "nginx", over: "bare" },
    ], measured),
    [{ of: "gateway", over: "bare", target: 0.9, name: "gateway / bare", value: 0.9 }],
  );
});

Deno.test("regressions: more than 15 % under the baseline fails, or a ratio not measured", () => {
  const baseline: Baseline = {
    machine: "test",
    date: "2025-01-01",
    commit: "abc",
    ratios: { "a / b": 0.5, "c / d": 1, "e / f": 0.4 },
  };
  const measured = [
    { of: "a", over: "b", name: "a / b", value: 0.426 }, // 0.85 × 0.5 = 0.425: still fine
    { of: "c", over: "d", name: "c / d", value: 0.84 }, // under 0.85
  ];
  assert.deepEqual(regressions(baseline, measured), [
    "c / d: 0.84 is under 0.85 (baseline 1)",
    "e / f: not measured in this run (baseline 0.4)",
  ]);
  assert.deepEqual(
    regressions(baseline, [...measured.slice(0, 1), { ...measured[1], value: 2 }, {
      of: "e",
      over: "f",
      name: "e / f",
      value: 0.4,
    }]),
    [],
  );
});
