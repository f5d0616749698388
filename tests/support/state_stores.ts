/**
 * The three state stores a shared-state test runs against: this process's own, a real
 * `redis-server`, and the Upstash-compatible REST server over one. The two shared ones are
 * marked unavailable (their tests ignored, with a warning) where `redis-server` is missing.
 */
import { LocalStore } from "../../src/state/local.ts";
import { RedisStore } from "../../src/state/redis.ts";
import type { StateStore } from "../../src/state/store.ts";
import { UpstashStore } from "../../src/state/upstash.ts";
import { REDIS_MISSING, redisAvailable, startRedis } from "./redis.ts";
import { UpstashServer } from "./upstash_server.ts";

const hasRedis = await redisAvailable();
if (!hasRedis) console.warn(REDIS_MISSING);

/** An opened store and how to release it (and its servers). */
export type OpenedStore = { store: StateStore; close(): Promise<void> };

/** `[name, available, open]` for each kind of store. */
export const STATE_STORES: readonly [string, boolean, () => Promise<OpenedStore>][] = [
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

/**
 * A store in front of another that can be taken down (every call rejects, as a refused
 * connection does) and counts the calls that reached it.
 */
export function switchable(inner: StateStore): { store: StateStore; down: boolean; calls: number } {
  const control = { store: inner, down: false, calls: 0 };
  control.store = new Proxy(inner, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function" || property === "close") return value;
      return (...args: unknown[]) => {
        control.calls++;
        if (control.down) return Promise.reject(new Error("ECONNREFUSED"));
        return value.apply(target, args);
      };
    },
  });
  return control;
}
