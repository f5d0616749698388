/**
 * A continuously refilled token bucket as a plain record and pure functions (DESIGN §11): the
 * clock is an argument, so every decision is a table row. A bucket may go below 0: a
 * revalidation that comes back 200 is charged after the fact, and the client waits it off.
 */

/** A bucket's level at one moment; `capacity` and `perSecond` come from the current limit. */
export interface Bucket {
  tokens: number;
  atMs: number;
}

/** A refill rate: `capacity` tokens, refilled at `capacity / periodMs` per millisecond. */
export interface Rate {
  readonly capacity: number;
  readonly periodMs: number;
}

/** A full bucket at `nowMs`. */
export function fullBucket(rate: Rate, nowMs: number): Bucket {
  return { tokens: rate.capacity, atMs: nowMs };
}

/**
 * The level at `nowMs`: refilled for the time since the last look, never above capacity (a
 * capacity lowered by a registry reload clips what is left; what was spent stays spent).
 */
export function levelAt(bucket: Bucket, rate: Rate, nowMs: number): number {
  const elapsed = Math.max(0, nowMs - bucket.atMs);
  return Math.min(rate.capacity, bucket.tokens + (elapsed * rate.capacity) / rate.periodMs);
}

/** Moves the bucket to `nowMs` and takes `amount` from it (which may take it below 0). */
export function take(bucket: Bucket, rate: Rate, nowMs: number, amount: number): void {
  bucket.tokens = levelAt(bucket, rate, nowMs) - amount;
  bucket.atMs = Math.max(bucket.atMs, nowMs);
}

/**
 * Milliseconds from `nowMs` until `needed` tokens are there beyond `held` ones already promised
 * to calls in flight; 0 when they are there now.
 */
export function waitMs(
  bucket: Bucket,
  rate: Rate,
  nowMs: number,
  needed: number,
  held = 0,
): number {
  const missing = needed + held - levelAt(bucket, rate, nowMs);
  return missing <= 0 ? 0 : Math.ceil((missing * rate.periodMs) / rate.capacity);
}
