import assert from "node:assert/strict";
import { LocalStore } from "../../../src/state/local.ts";
import { RedisStore } from "../../../src/state/redis.ts";
import type { StateStore } from "../../../src/state/store.ts";
import { UpstashStore } from "../../../src/state/upstash.ts";
import { REDIS_MISSING, redisAvailable, startRedis } from "../../support/redis.ts";
import { UpstashServer } from "../../support/upstash_server.ts";

const hasRedis = await redisAvailable();
if (!hasRedis) console.warn(REDIS_MISSING);

type Opened = { store: StateStore; close(): Promise<void> };
const stores: [string, boolean, () => Promise<Opened>][] = [
  ["local", true, () => {
    const store = new LocalStore();
    return Promise.resolve({ store, close: () => store.close() });
  }],
  ["redis", hasRedis, async () => {
    const redis = await startRedis();
    const store = await RedisStore.open(`redis://127.0.0.1:${redis.port}/1`);
    return {
      store,
      async close() {
        await store.close();
        await redis.close();
      },
    };
  }],
  ["upstash", hasRedis, async () => {
    const redis = await startRedis();
    const server = await UpstashServer.start(redis.port, "t");
    const store = UpstashStore.open(server.backendUrl, "t");
    return {
      store,
      async close() {
        await store.close();
        await server.close();
        await redis.close();
      },
    };
  }],
];

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
        assert.equal(await store.setIfAbsent("delivery:1", "seen", 150), true);
        assert.equal(await store.setIfAbsent("delivery:1", "again", 150), false);
        assert.equal(await store.get("delivery:1"), "seen");
        await sleep(250);
        assert.equal(await store.get("delivery:1"), undefined);
        assert.equal(await store.setIfAbsent("delivery:1", "later", 150), true);
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
        await store.mapSet("stale:octo/repo", "/repos/octo/repo/pulls", "3000", 200);
        assert.deepEqual(await store.mapGetAll("stale:octo/repo"), {
          "/repos/octo/repo/pulls": "3000",
          "/repos/octo/repo/issues": "2000",
        });
        await sleep(300);
        assert.deepEqual(await store.mapGetAll("stale:octo/repo"), {});
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
