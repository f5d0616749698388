/**
 * The shared state on Redis or Valkey (`redis://`, `rediss://`), over its own connection with
 * the cache backend's options: failing fast while the server is away, reconnecting behind.
 */
import { closeRedis, connectRedis, type RedisClient } from "../cache/backends/redis.ts";
import { type BucketRate, SPEND_SCRIPT, type StateStore } from "./store.ts";

export class RedisStore implements StateStore {
  readonly kind = "redis";

  constructor(private readonly redis: RedisClient) {}

  /** A store on the server `url` names, after a bounded wait for the first connection. */
  static async open(url: string): Promise<RedisStore> {
    const { client, connected } = connectRedis(url);
    await connected();
    return new RedisStore(client);
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.redis.get(key)) ?? undefined;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await this.redis.set(key, value, { PX: Math.ceil(ttlMs) });
  }

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(key, value, { PX: Math.ceil(ttlMs), NX: true })) === "OK";
  }

  async delete(key: string): Promise<void> {
    await this.redis.del(key);
  }

  async mapSet(key: string, field: string, value: string, ttlMs: number): Promise<void> {
    await this.redis.multi().hSet(key, field, value).pExpire(key, Math.ceil(ttlMs)).exec();
  }

  async mapGetAll(key: string): Promise<Record<string, string>> {
    return { ...await this.redis.hGetAll(key) };
  }

  async mapDelete(key: string, fields: readonly string[]): Promise<void> {
    if (fields.length > 0) await this.redis.hDel(key, [...fields]);
  }

  async spend(
    key: string,
    points: number,
    rate: BucketRate,
    nowMs: number,
    ttlMs: number,
  ): Promise<number> {
    const left = await this.redis.eval(SPEND_SCRIPT, {
      keys: [key],
      arguments: [points, rate.capacity, rate.periodMs, Math.floor(nowMs), Math.ceil(ttlMs)].map(
        String,
      ),
    });
    return Number(left);
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async close(): Promise<void> {
    await closeRedis(this.redis);
  }
}
