/**
 * The state store of a replica without peers (`memory://`, `denokv://`): the same operations
 * in this process, expiring by the injected clock, bounded in keys (the oldest go first).
 */
import { bucketAfter, type BucketRate, type StateStore } from "./store.ts";

/** Keys kept at most; the least recently written go first. */
const MAX_KEYS = 10_000;

interface Slot {
  readonly value: string | Map<string, string>;
  readonly expiresAt: number;
}

export class LocalStore implements StateStore {
  readonly kind = "local";
  readonly #slots = new Map<string, Slot>();

  constructor(private readonly now: () => number = Date.now) {}

  get(key: string): Promise<string | undefined> {
    const value = this.#live(key)?.value;
    return Promise.resolve(typeof value === "string" ? value : undefined);
  }

  set(key: string, value: string, ttlMs: number): Promise<void> {
    this.#put(key, value, ttlMs);
    return Promise.resolve();
  }

  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    if (this.#live(key)) return Promise.resolve(false);
    this.#put(key, value, ttlMs);
    return Promise.resolve(true);
  }

  delete(key: string): Promise<void> {
    this.#slots.delete(key);
    return Promise.resolve();
  }

  mapSet(key: string, field: string, value: string, ttlMs: number): Promise<void> {
    const current = this.#live(key)?.value;
    const map = current instanceof Map ? current : new Map<string, string>();
    map.set(field, value);
    this.#put(key, map, ttlMs);
    return Promise.resolve();
  }

  mapGetAll(key: string): Promise<Record<string, string>> {
    const value = this.#live(key)?.value;
    return Promise.resolve(value instanceof Map ? Object.fromEntries(value) : {});
  }

  mapDelete(key: string, fields: readonly string[]): Promise<void> {
    const value = this.#live(key)?.value;
    if (value instanceof Map) { for (const field of fields) value.delete(field); }
    return Promise.resolve();
  }

  spend(
    key: string,
    points: number,
    rate: BucketRate,
    nowMs: number,
    ttlMs: number,
  ): Promise<number> {
    const value = this.#live(key)?.value;
    const bucket = typeof value === "string" ? JSON.parse(value) : undefined;
    const after = bucketAfter(bucket, points, rate, nowMs);
    this.#put(key, JSON.stringify(after), ttlMs);
    return Promise.resolve(after.tokens);
  }

  ping(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.#slots.clear();
    return Promise.resolve();
  }

  #live(key: string): Slot | undefined {
    const slot = this.#slots.get(key);
    if (slot && slot.expiresAt <= this.now()) {
      this.#slots.delete(key);
      return undefined;
    }
    return slot;
  }

  #put(key: string, value: string | Map<string, string>, ttlMs: number): void {
    this.#slots.delete(key);
    this.#slots.set(key, { value, expiresAt: this.now() + ttlMs });
    for (const oldest of this.#slots.keys()) {
      if (this.#slots.size <= MAX_KEYS) break;
      this.#slots.delete(oldest);
    }
  }
}
