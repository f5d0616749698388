import assert from "node:assert/strict";
import { DEDUPE_WINDOW_MS, LocalDeliveryLog } from "../../../src/webhooks/deliveries.ts";
import { ManualClock } from "../../support/clock.ts";

Deno.test("delivery log: an id is new once within 24 h, then again after the window", () => {
  const clock = new ManualClock();
  const log = new LocalDeliveryLog({ now: clock.now });
  assert.equal(log.firstSeen("a"), true);
  assert.equal(log.firstSeen("a"), false);
  assert.equal(log.firstSeen("b"), true);
  clock.advance(DEDUPE_WINDOW_MS - 1);
  assert.equal(log.firstSeen("a"), false);
  clock.advance(1);
  assert.equal(log.firstSeen("a"), true);
});

Deno.test("delivery log: bounded, the oldest ids are forgotten first", () => {
  const log = new LocalDeliveryLog({ maxIds: 2 });
  for (const id of ["a", "b", "c"]) assert.equal(log.firstSeen(id), true);
  assert.equal(log.firstSeen("c"), false);
  assert.equal(log.firstSeen("a"), true);
});
