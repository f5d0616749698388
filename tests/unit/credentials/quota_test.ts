import assert from "node:assert/strict";
import {
  availableAtMs,
  type Candidate,
  choose,
  poolTotals,
  type Quota,
  remainingNow,
  score,
} from "../../../src/credentials/quota.ts";

const NOW = 1_000_000;
const PADDING = 60_000;
const quota = (
  view?: { limit: number; remaining: number; resetAtMs: number },
  parkedUntilMs = 0,
  inFlight = 0,
): Quota => ({ view, parkedUntilMs, inFlight });

Deno.test("remainingNow and availableAtMs: refill at reset, padding only when spent", () => {
  const table: [string, Quota, number, number][] = [
    ["unknown", quota(), Infinity, 0],
    ["known", quota({ limit: 100, remaining: 40, resetAtMs: NOW + 5000 }), 40, 0],
    ["reset passed", quota({ limit: 100, remaining: 40, resetAtMs: NOW - 1 }), 100, 0],
    ["spent", quota({ limit: 100, remaining: 0, resetAtMs: NOW + 5000 }), 0, NOW + 5000 + PADDING],
    [
      "spent, inside padding",
      quota({ limit: 100, remaining: 0, resetAtMs: NOW - 1000 }),
      0,
      NOW - 1000 + PADDING,
    ],
    ["spent, padding over", quota({ limit: 100, remaining: 0, resetAtMs: NOW - PADDING }), 100, 0],
    [
      "parked",
      quota({ limit: 100, remaining: 50, resetAtMs: NOW + 5000 }, NOW + 30_000),
      50,
      NOW + 30_000,
    ],
  ];
  for (const [label, q, remaining, availableAt] of table) {
    assert.equal(remainingNow(q, NOW, PADDING), remaining, label);
    assert.equal(availableAtMs(q, NOW, PADDING), availableAt, label);
  }
});

Deno.test("score: remaining minus in flight; an unknown quota is explored one request at a time", () => {
  const known = { limit: 100, remaining: 40, resetAtMs: NOW + 5000 };
  const table: [string, Quota, number][] = [
    ["known, idle", quota(known), 40],
    ["known, 3 in flight", quota(known, 0, 3), 37],
    ["unknown, idle", quota(), Infinity],
    ["unknown, exploring", quota(undefined, 0, 1), -1],
    ["unknown, 4 in flight", quota(undefined, 0, 4), -4],
  ];
  for (const [label, q, expected] of table) assert.equal(score(q, NOW, PADDING), expected, label);
});

Deno.test("choose: preferred when available, else most remaining, ties round-robin", () => {
  const c = (name: string, score: number, available = true): Candidate => ({
    name,
    score,
    available,
  });
  const table: [string, Candidate[], string | undefined, number, string | undefined][] = [
    ["empty pool", [], undefined, 0, undefined],
    ["none available", [c("A", 5, false), c("B", 9, false)], undefined, 0, undefined],
    ["most remaining", [c("A", 5), c("B", 9), c("C", 7)], undefined, 0, "B"],
    ["skips unavailable", [c("A", 5), c("B", 9, false), c("C", 7)], undefined, 0, "C"],
    ["preferred beats more remaining", [c("A", 5), c("B", 9)], "A", 0, "A"],
    ["unavailable preferred ignored", [c("A", 5, false), c("B", 9)], "A", 0, "B"],
    ["unknown preferred ignored", [c("A", 5), c("B", 9)], "Z", 0, "B"],
    ["tie at cursor 0", [c("A", 9), c("B", 9), c("C", 1)], undefined, 0, "A"],
    ["tie at cursor 1", [c("A", 9), c("B", 9), c("C", 1)], undefined, 1, "B"],
    ["tie at cursor 2 wraps", [c("A", 9), c("B", 9), c("C", 1)], undefined, 2, "A"],
    ["unknown quotas rotate", [c("A", Infinity), c("B", Infinity)], undefined, 7, "B"],
  ];
  for (const [label, candidates, preferred, cursor, expected] of table) {
    assert.equal(choose(candidates, preferred, cursor), expected, label);
  }
});

Deno.test("poolTotals: sums usable credentials, earliest reset; when none, the first ready", () => {
  const a = quota({ limit: 5000, remaining: 100, resetAtMs: NOW + 3_000_000 });
  const b = quota({ limit: 5000, remaining: 4000, resetAtMs: NOW + 1_000_000 });
  const spent = quota({ limit: 1000, remaining: 0, resetAtMs: NOW + 500_000 });
  const parked = quota({ limit: 5000, remaining: 10, resetAtMs: NOW + 10 }, NOW + 60_000);
  const table: [string, Quota[], ReturnType<typeof poolTotals>][] = [
    ["nothing known", [quota(), quota()], undefined],
    ["two usable", [a, b, quota()], { limit: 10_000, remaining: 4100, resetAtMs: NOW + 1_000_000 }],
    ["spent and parked left out", [a, spent, parked], {
      limit: 5000,
      remaining: 100,
      resetAtMs: NOW + 3_000_000,
    }],
    ["none usable", [spent, parked], { limit: 6000, remaining: 0, resetAtMs: NOW + 60_000 }],
  ];
  for (const [label, quotas, expected] of table) {
    assert.deepEqual(poolTotals(quotas, NOW, PADDING), expected, label);
  }
});
