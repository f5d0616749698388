import assert from "node:assert/strict";
import { createLogger } from "../../../src/log.ts";
import { SharedDeliveryLog } from "../../../src/state/deliveries.ts";
import { GuardedStore } from "../../../src/state/guarded.ts";
import { LocalStore } from "../../../src/state/local.ts";
import type { StateStore } from "../../../src/state/store.ts";
import { STATE_STORES, switchable } from "../../support/state_stores.ts";

const guarded = (store: StateStore) =>
  new GuardedStore(store, {
    readTimeoutMs: 500,
    writeTimeoutMs: 1000,
    logger: createLogger("error", "json", () => {}),
  });

for (const [name, available, open] of STATE_STORES) {
  Deno.test({
    name:
      `${name}: a delivery seen by one replica is a duplicate on another, until the window ends`,
    ignore: !available,
    async fn() {
      const { store, close } = await open();
      try {
        const a = new SharedDeliveryLog(guarded(store), "a", { windowMs: 600 });
        const b = new SharedDeliveryLog(guarded(store), "b", { windowMs: 600 });
        assert.equal(await a.firstSeen("d-1"), true);
        assert.equal(await b.firstSeen("d-1"), false);
        assert.equal(await a.firstSeen("d-1"), false);
        assert.equal(await b.firstSeen("d-2"), true);
        await new Promise((resolve) => setTimeout(resolve, 900));
        assert.equal(await b.firstSeen("d-1"), true, "forgotten after the window");
      } finally {
        await close();
      }
    },
  });
}

Deno.test("delivery log: a redelivery to the same replica is answered without the store", async () => {
  const counted = switchable(new LocalStore());
  const log = new SharedDeliveryLog(guarded(counted.store), "a");
  assert.equal(await log.firstSeen("d-1"), true);
  const calls = counted.calls;
  assert.equal(await log.firstSeen("d-1"), false);
  assert.equal(counted.calls, calls);
});

Deno.test("delivery log: while the store fails each replica decides alone, and it is counted", async () => {
  const store = new LocalStore();
  const toA = switchable(store);
  const guard = guarded(toA.store);
  const a = new SharedDeliveryLog(guard, "a");
  const b = new SharedDeliveryLog(guarded(store), "b");
  toA.down = true;
  assert.equal(await a.firstSeen("d-1"), true);
  assert.equal(await a.firstSeen("d-1"), false, "its own log still dedupes");
  assert.equal(guard.health.healthy, false);
  assert.equal(guard.health.failures, 1);
  assert.equal(await b.firstSeen("d-1"), true, "worked twice rather than lost");
  toA.down = false;
  assert.equal(await a.firstSeen("d-2"), true);
  assert.equal(await b.firstSeen("d-2"), false);
});
