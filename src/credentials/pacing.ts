/**
 * The decisions that keep an owner (one GitHub account) clear of secondary limits (DESIGN §11),
 * as pure functions over plain numbers so they are testable as tables with any clock: whether a
 * request may go now, wait in the owner's queue, or is refused because the queue is full; and
 * when the next mutating request may be sent.
 */

/** Mutating requests of one owner go at least this far apart. */
export const WRITE_INTERVAL_MS = 1000;
/** At most this many mutating requests of one owner in any minute. */
export const WRITES_PER_MINUTE = 80;
const MINUTE_MS = 60_000;

/** `go`: a slot is free; `wait`: join the FIFO queue; `full`: refuse (the queue is at its bound). */
export type Admission = "go" | "wait" | "full";

/**
 * A request for an owner with `inFlight` requests sent and `queued` waiting: it goes only when
 * nobody waits before it (FIFO) and a slot is free.
 */
export function admission(
  inFlight: number,
  queued: number,
  concurrency: number,
  maxQueued: number,
): Admission {
  if (queued === 0 && inFlight < concurrency) return "go";
  return queued < maxQueued ? "wait" : "full";
}

/**
 * When the next mutating request may be sent, given the send times already booked (ascending,
 * possibly in the future): a second after the last one, and no sooner than a minute after the
 * one 80 bookings back. Never before `nowMs`.
 */
export function nextWriteAtMs(booked: readonly number[], nowMs: number): number {
  let at = nowMs;
  const last = booked.at(-1);
  if (last !== undefined) at = Math.max(at, last + WRITE_INTERVAL_MS);
  if (booked.length >= WRITES_PER_MINUTE) {
    at = Math.max(at, booked[booked.length - WRITES_PER_MINUTE] + MINUTE_MS);
  }
  return at;
}

/** The bookings that still matter at `nowMs`: those of the last minute and later. */
export function recentWrites(booked: readonly number[], nowMs: number): number[] {
  return booked.filter((at) => at > nowMs - MINUTE_MS);
}
