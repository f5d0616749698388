import assert from "node:assert/strict";
import { STATE_STORES as stores } from "../../support/state_stores.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const HOUR = 3_600_000;

for (const [name, available, open] of stores) {
  Deno.test({
    name:
      `${name}: values with a time to live; set-if-absent stores once (a delivery id seen first)`,
    ignore: !available,
    async fn() {
      const { store, close } = await open();
      try {
        assert.equal(await store.get("absent"), undefined);
        await store.set("k", "one", 60_000);
        await store.set("k", "one", 60_000);
        assert.equal(await store.get("k"), "one");
        assert.equal(await store.setIfAbsent("delivery:1", "seen", 500), true);
        assert.equal(await store.setIfAbsent("delivery:1", "again", 500), false);
        assert.equal(await store.get("delivery:1"), "seen");
        await sleep(700);
        assert.equal(await store.get("delivery:1"), undefined);
        assert.equal(await store.setIfAbsent("delivery:1", "later", 500), true);
        await store.delete("k");
        assert.equal(await store.get("k"), undefined);
        await store.ping();
      } finally {
        await close();
      }
    },
  });

  Deno.test({
    name: `${name}: a small map per key with a time to live (stale marks per repository)`,
    ignore: !available,
    async fn() {
      const { store, close } = await open();
      try {
        assert.deepEqual(await store.mapGetAll("stale:octo/repo"), {});
        await store.mapSet("stale:octo/repo", "/repos/octo/repo/pulls", "1000", 60_000);
        await store.mapSet("stale:octo/repo", "/repos/octo/repo/issues", "2000", 60_000);
        await store.mapSet("stale:octo/repo", "/repos/octo/repo/pulls", "3000", 500);
        assert.deepEqual(await store.mapGetAll("stale:octo/repo"), {
          "/repos/octo/repo/pulls": "3000",
          "/repos/octo/repo/issues": "2000",
        });
        await sleep(700);
        assert.deepEqual(await store.mapGetAll("stale:octo/repo"), {});
        // A reader removes the fields their writers abandoned; the others stay.
        for (const field of ["gone-1", "gone-2", "live"]) {
          await store.mapSet("github-proxy:state:pool", field, field, 60_000);
        }
        await store.mapDelete("github-proxy:state:pool", ["gone-1", "gone-2", "never-there"]);
        await store.mapDelete("github-proxy:state:pool", []);
        assert.deepEqual(await store.mapGetAll("github-proxy:state:pool"), { live: "live" });
      } finally {
        await close();
      }
    },
  });

  Deno.test({
    name: `${name}: a bucket spends atomically, refills over its period, never above capacity`,
    ignore: !available,
    async fn() {
      const { store, close } = await open();
      try {
        const rate = { capacity: 100, periodMs: HOUR };
        const t0 = 1_000_000;
        const spends = await Promise.all(
          Array.from({ length: 40 }, () => store.spend("budget:ci", 1, rate, t0, HOUR)),
        );
        // Forty concurrent spends of one: each saw a distinct level, none was lost.
        assert.deepEqual(
          spends.sort((a, b) => a - b),
          Array.from({ length: 40 }, (_, i) => 60 + i),
        );
        assert.equal(await store.spend("budget:ci", 70, rate, t0, HOUR), -10);
        // A quarter of the period refills a quarter of the capacity.
        assert.equal(await store.spend("budget:ci", 0, rate, t0 + HOUR / 4, HOUR), 15);
        assert.equal(await store.spend("budget:ci", -500, rate, t0 + HOUR / 4, HOUR), 100);
        assert.equal(await store.spend("budget:other", 1, rate, t0, HOUR), 99);
      } finally {
        await close();
      }
    },
  });
}
