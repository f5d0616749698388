/**
 * The shared state's contract (DESIGN §13): a few generic operations on short string values
 * that Redis (and Upstash's REST API over it) does atomically, and that this process can do
 * alone when it has no peers. Every write carries its time to live, so a replica that dies
 * leaves nothing behind for long, and every write is idempotent: sent twice, it means the same.
 */

/** The stores there are: `local` has no peers; the others are shared by every replica. */
export type StoreKind = "local" | "redis" | "upstash";

import { fullBucket, levelAt, type Rate } from "../admit/bucket.ts";

/** A token bucket's parameters: `capacity` points refill evenly over `periodMs`. */
export type BucketRate = Rate;

export interface StateStore {
  readonly kind: StoreKind;
  /** The value under `key`, or undefined when absent or expired. */
  get(key: string): Promise<string | undefined>;
  /** Stores `value` for `ttlMs` (`SET … PX`). */
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** Stores `value` for `ttlMs` unless `key` holds one (`SET … NX PX`); true when stored. */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  delete(key: string): Promise<void>;
  /**
   * Sets `field` of the small map under `key` and restarts the map's time to live (`HSET` +
   * `PEXPIRE`): per-replica or per-item records that readers merge.
   */
  mapSet(key: string, field: string, value: string, ttlMs: number): Promise<void>;
  /** Every field of the map under `key` (empty when absent). */
  mapGetAll(key: string): Promise<Record<string, string>>;
  /** Removes `fields` from the map under `key` (`HDEL`): records their writer abandoned. */
  mapDelete(key: string, fields: readonly string[]): Promise<void>;
  /**
   * Takes `points` (negative: gives back) from the bucket under `key`, refilled at `rate` up
   * to its capacity as of `nowMs`, atomically; resolves to the points left (below 0 when
   * overspent). A new bucket starts full; an idle one expires after `ttlMs`.
   */
  spend(
    key: string,
    points: number,
    rate: BucketRate,
    nowMs: number,
    ttlMs: number,
  ): Promise<number>;
  /** Resolves when the store answers. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The bucket arithmetic every store does (in Lua for Redis): refill, take, cap. */
export function bucketAfter(
  bucket: { tokens: number; atMs: number } | undefined,
  points: number,
  rate: BucketRate,
  nowMs: number,
): { tokens: number; atMs: number } {
  const current = bucket ?? fullBucket(rate, nowMs);
  return {
    tokens: Math.min(rate.capacity, levelAt(current, rate, nowMs) - points),
    atMs: Math.max(current.atMs, nowMs),
  };
}

/**
 * The same in Lua, for Redis's `EVAL`: KEYS[1] the bucket (a hash of `t` tokens and `a` time);
 * ARGV points, capacity, period ms, now ms, ttl ms. Returns the tokens left as a string (Redis
 * truncates Lua numbers to integers).
 */
export const SPEND_SCRIPT = `
local b = redis.call('HMGET', KEYS[1], 't', 'a')
local cap = tonumber(ARGV[2])
local period = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
local tokens = tonumber(b[1]) or cap
local at = tonumber(b[2]) or now
if now > at then
  tokens = math.min(cap, tokens + (now - at) * cap / period)
  at = now
end
tokens = math.min(cap, tokens - tonumber(ARGV[1]))
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'a', tostring(at))
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return tostring(tokens)
`;
