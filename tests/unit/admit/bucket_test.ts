import assert from "node:assert/strict";
import { fullBucket, levelAt, take, waitMs } from "../../../src/admit/bucket.ts";

const HOUR = { capacity: 3600, periodMs: 3_600_000 };

Deno.test("a points bucket refills continuously at capacity per hour, never above capacity", () => {
  const rows: [spent: number, afterMs: number, level: number][] = [
    [0, 0, 3600],
    [10, 0, 3590],
    [10, 5000, 3595],
    [10, 10_000, 3600],
    [10, 60_000, 3600],
    [3600, 1000, 1],
  ];
  for (const [spent, afterMs, level] of rows) {
    const bucket = fullBucket(HOUR, 0);
    take(bucket, HOUR, 0, spent);
    assert.equal(levelAt(bucket, HOUR, afterMs), level, `spent ${spent}, ${afterMs} ms later`);
  }
});

Deno.test("a charge may take the bucket below 0 and the client waits it off", () => {
  const bucket = fullBucket(HOUR, 0);
  take(bucket, HOUR, 0, 3600);
  take(bucket, HOUR, 0, 2);
  assert.equal(levelAt(bucket, HOUR, 0), -2);
  assert.equal(waitMs(bucket, HOUR, 0, 1), 3000, "3 points back at 1 a second");
  assert.equal(waitMs(bucket, HOUR, 3000, 1), 0);
});

Deno.test("the wait for a point counts the points held by calls in flight", () => {
  const rows: [level: number, held: number, wait: number][] = [
    [5, 0, 0],
    [5, 4, 0],
    [5, 5, 1000],
    [0.5, 0, 500],
    [0, 3, 4000],
  ];
  for (const [level, held, wait] of rows) {
    const bucket = { tokens: level, atMs: 0 };
    assert.equal(waitMs(bucket, HOUR, 0, 1, held), wait, `level ${level}, held ${held}`);
  }
});

Deno.test("a requests-per-minute bucket refills capacity per minute", () => {
  const minute = { capacity: 6, periodMs: 60_000 };
  const bucket = fullBucket(minute, 0);
  for (let i = 0; i < 6; i++) take(bucket, minute, 0, 1);
  assert.equal(waitMs(bucket, minute, 0, 1), 10_000);
  assert.equal(waitMs(bucket, minute, 10_000, 1), 0);
});
