import assert from "node:assert/strict";
import { RefusedNarrowings } from "../../../src/credentials/refused_narrowings.ts";
import { ManualClock } from "../../support/clock.ts";

Deno.test("refused narrowings: recalled until they expire, then forgotten", () => {
  const clock = new ManualClock();
  const refusals = new RefusedNarrowings(4, 3_600_000, clock.now);
  assert.equal(refusals.recall("a"), undefined);
  refusals.remember("a", "repository gone");
  clock.advance(3_600_000 - 1);
  assert.equal(refusals.recall("a"), "repository gone");
  clock.advance(1);
  assert.equal(refusals.recall("a"), undefined);
  assert.equal(refusals.size, 0);
});

Deno.test("refused narrowings: bounded, the oldest goes first; clear forgets all", () => {
  const clock = new ManualClock();
  const refusals = new RefusedNarrowings(2, 3_600_000, clock.now);
  refusals.remember("a", "1");
  refusals.remember("b", "2");
  refusals.remember("a", "3");
  refusals.remember("c", "4");
  assert.deepEqual(["a", "b", "c"].map((key) => refusals.recall(key)), ["3", undefined, "4"]);
  assert.equal(refusals.size, 2);
  refusals.clear();
  assert.deepEqual(["a", "c"].map((key) => refusals.recall(key)), [undefined, undefined]);
});
