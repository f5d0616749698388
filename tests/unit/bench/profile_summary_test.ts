import assert from "node:assert/strict";
import { type CpuProfile, formatSelfTimes, selfTimes } from "../../../bench/profile_summary.ts";

const frame = (functionName: string, url: string, lineNumber = 0) => ({
  functionName,
  url,
  lineNumber,
});

/** Samples of 1 ms: three in `hash`, two in a native op, one in each `serve` function. */
const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame("(root)", "") },
    { id: 2, callFrame: frame("hash", "file:///app/src/digest.ts", 9) },
    { id: 3, callFrame: frame("op_write", "") },
    { id: 4, callFrame: frame("serveEntry", "file:///app/src/cache/serve.ts", 99) },
    { id: 5, callFrame: frame("", "file:///app/src/cache/serve.ts", 20) },
  ],
  samples: [2, 3, 2, 4, 2, 3, 5],
  timeDeltas: [1000, 1000, 1000, 1000, 1000, 1000, 1000],
};

Deno.test("selfTimes: samples merged by function and file, most first, with their share", () => {
  const times = selfTimes(profile);
  assert.deepEqual(times.map((t) => [t.entry, t.ms]), [
    ["hash src/digest.ts:10", 3],
    ["op_write", 2],
    ["serveEntry src/cache/serve.ts:100", 1],
    ["(anonymous) src/cache/serve.ts:21", 1],
  ]);
  assert.equal(times[0].share, 3 / 7);
  assert.equal(
    formatSelfTimes(times, 1),
    " 42.9 %       3 ms  hash src/digest.ts:10",
  );
});

Deno.test("selfTimes by file: a layer's small functions add up", () => {
  assert.deepEqual(selfTimes(profile, "file").map((t) => [t.entry, t.ms]), [
    ["src/digest.ts", 3],
    ["op_write", 2],
    ["src/cache/serve.ts", 2],
  ]);
});
