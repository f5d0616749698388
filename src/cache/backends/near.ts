/**
 * A near cache: a small in-process tier in front of a persistent or shared backend, so a warm
 * request costs no KV read, no network round trip and no decompression. A near entry answers
 * every lookup for a few seconds after the near tier took it, so another instance's newer entry
 * is seen soon after; nothing depends on it sooner, since requests are revalidated upstream
 * unless the client opted into freshness, and a near entry is as validated as its `validatedAt`
 * says. After that it still answers a lookup whose client accepts an entry that old (the
 * freshness path): validated within the client's accepted age, it is a valid answer whichever
 * instance holds a newer one. Webhook stale marks are the cache layer's to check, against the
 * entry's `validatedAt`, whichever tier the entry came from.
 */
import type { CacheBackend, MaybeEntry } from "./backend.ts";
import type { CacheEntry } from "../entry.ts";
import { MemoryBackend } from "./memory.ts";

export const NEAR_LIMITS = { maxEntries: 2_000, maxBytes: 32 * 1024 * 1024 };
const NEAR_TTL_SECONDS = 10;
/**
 * How long the near tier keeps an entry for clients that accept its age (its bounds drop the
 * least recently used sooner): longer than any `max-age` GitHub sends.
 */
const NEAR_KEEP_SECONDS = 600;

export class NearCache implements CacheBackend {
  readonly kind: string;
  /** When the near tier took each entry it holds (weak: an entry it dropped is forgotten). */
  readonly #takenAt = new WeakMap<CacheEntry, number>();

  constructor(
    private readonly shared: CacheBackend,
    private readonly near: MemoryBackend = new MemoryBackend(NEAR_LIMITS),
    private readonly nearTtlSeconds = NEAR_TTL_SECONDS,
    private readonly now: () => number = Date.now,
  ) {
    this.kind = shared.kind;
  }

  /**
   * The near entry while it is current (taken within the near TTL, or validated within
   * `acceptedAgeMs`, the age the client accepts), else the shared backend's.
   */
  get(key: string, acceptedAgeMs = 0): MaybeEntry | Promise<MaybeEntry> {
    const near = this.near.get(key);
    if (near) {
      const now = this.now();
      const taken = this.#takenAt.get(near) ?? -Infinity;
      if (now - taken < this.nearTtlSeconds * 1000 || now - near.validatedAt < acceptedAgeMs) {
        return near;
      }
    }
    return this.#shared(key);
  }

  async #shared(key: string): Promise<MaybeEntry> {
    const entry = await this.shared.get(key);
    if (entry) await this.#keep(key, entry, NEAR_KEEP_SECONDS);
    return entry;
  }

  async set(key: string, entry: CacheEntry, ttlSeconds: number): Promise<void> {
    await this.#keep(key, entry, ttlSeconds);
    await this.shared.set(key, entry, ttlSeconds);
  }

  async touch(key: string, entry: CacheEntry, ttlSeconds: number): Promise<void> {
    await this.#keep(key, entry, ttlSeconds);
    await this.shared.touch(key, entry, ttlSeconds);
  }

  async #keep(key: string, entry: CacheEntry, ttlSeconds: number): Promise<void> {
    this.#takenAt.set(entry, this.now());
    await this.near.set(key, entry, Math.min(ttlSeconds, NEAR_KEEP_SECONDS));
  }

  async delete(key: string): Promise<void> {
    await this.near.delete(key);
    await this.shared.delete(key);
  }

  ping(): Promise<void> {
    return this.shared.ping();
  }

  async close(): Promise<void> {
    await this.near.close();
    await this.shared.close();
  }
}

/** The backend the gateway uses: memory as is, anything else behind a near cache. */
export function withNearCache(backend: CacheBackend): CacheBackend {
  return backend instanceof MemoryBackend ? backend : new NearCache(backend);
}
