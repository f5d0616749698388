/**
 * Which deliveries were already seen (DESIGN §12): GitHub redelivers on request and after a
 * timeout with the same `X-GitHub-Delivery`, and a redelivery must change nothing; a signed body
 * replayed under a new id must not either, so the receiver records both keys. The log is an
 * interface so that replicas can share one (§13); `LocalDeliveryLog` is one process's own.
 */

/** Remembers delivery keys (ids, body digests) for the dedupe window. */
export interface DeliveryLog {
  /** True the first time `key` is seen within the window (and records it), false after. */
  firstSeen(key: string): Promise<boolean> | boolean;
}

/** How long a delivery id is remembered: GitHub redelivers for a few days at most on request. */
export const DEDUPE_WINDOW_MS = 24 * 3600 * 1000;

/** Keys remembered at most: past it the oldest are forgotten first. */
export const MAX_DELIVERY_IDS = 100_000;

export interface LocalDeliveryLogOptions {
  readonly now?: () => number;
  readonly windowMs?: number;
  readonly maxIds?: number;
}

/** A bounded, expiring delivery log in this process's memory. */
export class LocalDeliveryLog implements DeliveryLog {
  /** key → when it was first seen, oldest first (a Map keeps insertion order). */
  readonly #seen = new Map<string, number>();
  readonly #now: () => number;
  readonly #windowMs: number;
  readonly #maxIds: number;

  constructor(options: LocalDeliveryLogOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#windowMs = options.windowMs ?? DEDUPE_WINDOW_MS;
    this.#maxIds = options.maxIds ?? MAX_DELIVERY_IDS;
  }

  firstSeen(key: string): boolean {
    const now = this.#now();
    for (const [old, at] of this.#seen) {
      if (at > now - this.#windowMs && this.#seen.size < this.#maxIds) break;
      this.#seen.delete(old);
    }
    if (this.#seen.has(key)) return false;
    this.#seen.set(key, now);
    return true;
  }
}
