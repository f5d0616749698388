/**
 * The shared state on Upstash's REST API (`upstash://`, `upstash+http://`): the same commands
 * as on Redis, one HTTP request each, with the cache backend's client settings.
 */
import type { Redis } from "@upstash/redis";
import { upstashClient, upstashRestUrl } from "../cache/backends/upstash.ts";
import { type BucketRate, SPEND_SCRIPT, type StateStore } from "./store.ts";

export class UpstashStore implements StateStore {
  readonly kind = "upstash";

  constructor(private readonly redis: Redis) {}

  /** A store on the endpoint `url` names (`UPSTASH_REDIS_REST_TOKEN` is `token`). */
  static open(url: string, token: string): UpstashStore {
    return new UpstashStore(upstashClient(upstashRestUrl(url), token));
  }

  async get(key: string): Promise<string | undefined> {
    const value = await this.redis.get<string>(key);
    return value ?? undefined;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await this.redis.set(key, value, { px: Math.ceil(ttlMs) });
  }

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(key, value, { px: Math.ceil(ttlMs), nx: true })) === "OK";
  }

  async delete(key: string): Promise<void> {
    await this.redis.del(key);
  }

  async mapSet(key: string, field: string, value: string, ttlMs: number): Promise<void> {
    await this.redis.multi().hset(key, { [field]: value }).pexpire(key, Math.ceil(ttlMs)).exec();
  }

  async mapGetAll(key: string): Promise<Record<string, string>> {
    // Without automatic deserialisation HGETALL's reply arrives as Redis sent it: a flat array.
    const reply = await this.redis.hgetall(key) as unknown;
    if (reply === null || reply === undefined) return {};
    if (!Array.isArray(reply)) return reply as Record<string, string>;
    const map: Record<string, string> = {};
    for (let i = 0; i + 1 < reply.length; i += 2) map[String(reply[i])] = String(reply[i + 1]);
    return map;
  }

  async mapDelete(key: string, fields: readonly string[]): Promise<void> {
    if (fields.length > 0) await this.redis.hdel(key, ...fields);
  }

  async spend(
    key: string,
    points: number,
    rate: BucketRate,
    nowMs: number,
    ttlMs: number,
  ): Promise<number> {
    const left = await this.redis.eval(SPEND_SCRIPT, [key], [
      String(points),
      String(rate.capacity),
      String(rate.periodMs),
      String(Math.floor(nowMs)),
      String(Math.ceil(ttlMs)),
    ]);
    return Number(left);
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
