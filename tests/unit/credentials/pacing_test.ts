import assert from "node:assert/strict";
import {
  admission,
  nextWriteAtMs,
  recentWrites,
  WRITE_INTERVAL_MS,
  WRITES_PER_MINUTE,
} from "../../../src/credentials/pacing.ts";

const NOW = 10_000_000;

Deno.test("admission: a free slot goes unless someone waits first; the queue is bounded", () => {
  const table: [label: string, inFlight: number, queued: number, result: string][] = [
    ["idle", 0, 0, "go"],
    ["one slot left", 24, 0, "go"],
    ["all slots taken", 25, 0, "wait"],
    ["a slot free but others wait (FIFO)", 10, 3, "wait"],
    ["queue one short of full", 25, 99, "wait"],
    ["queue full", 25, 100, "full"],
  ];
  for (const [label, inFlight, queued, result] of table) {
    assert.equal(admission(inFlight, queued, 25, 100), result, label);
  }
});

Deno.test("nextWriteAtMs: one a second, 80 a minute, never before now", () => {
  const everySecond = (count: number, from: number) =>
    Array.from({ length: count }, (_, i) => from + i * WRITE_INTERVAL_MS);
  const table: [label: string, booked: number[], at: number][] = [
    ["first write", [], NOW],
    ["last one long ago", [NOW - 5000], NOW],
    ["last one 300 ms ago", [NOW - 300], NOW + 700],
    ["booked ahead", [NOW + 2000, NOW + 3000], NOW + 4000],
    ["79 in the minute", everySecond(79, NOW - 79_000), NOW],
    // 80 sent 0.5 s apart: the 81st waits until the oldest of them is a minute old.
    ["80 in the minute", everySecond(80, NOW - 40_000).map((t, i) => t - i * 500), NOW + 20_000],
  ];
  for (const [label, booked, at] of table) assert.equal(nextWriteAtMs(booked, NOW), at, label);
  assert.equal(WRITES_PER_MINUTE, 80);
});

Deno.test("a burst of writes booked one after another never breaks either rule", () => {
  let booked: number[] = [];
  let clock = NOW;
  const sent: number[] = [];
  for (let i = 0; i < 200; i++) {
    booked = recentWrites(booked, clock);
    const at = nextWriteAtMs(booked, clock);
    booked.push(at);
    sent.push(at);
    clock += 100; // a new write arrives every 100 ms
  }
  for (let i = 1; i < sent.length; i++) {
    assert.ok(sent[i] - sent[i - 1] >= WRITE_INTERVAL_MS, `write ${i} too soon`);
  }
  for (let i = WRITES_PER_MINUTE; i < sent.length; i++) {
    assert.ok(sent[i] - sent[i - WRITES_PER_MINUTE] >= 60_000, `write ${i}: over 80 a minute`);
  }
});

Deno.test("recentWrites keeps the last minute and what is booked ahead", () => {
  assert.deepEqual(recentWrites([NOW - 61_000, NOW - 60_000, NOW - 59_999, NOW + 5], NOW), [
    NOW - 59_999,
    NOW + 5,
  ]);
});
