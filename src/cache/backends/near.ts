/**
 * A near cache: a small in-process tier in front of a persistent or shared backend, so a warm
 * request costs no KV read, no network round trip and no decompression. An entry lives in the
 * near tier for a few seconds at most, so another instance's newer entry is seen soon after;
 * nothing depends on it sooner, since requests are revalidated upstream unless the client opted
 * into freshness, and a near entry is as validated as its `validatedAt` says.
 */
import type { CacheBackend } from "./backend.ts";
import type { CacheEntry } from "../entry.ts";
import { MemoryBackend } from "./memory.ts";

export const NEAR_LIMITS = { maxEntries: 2_000, maxBytes: 32 * 1024 * 1024 };
const NEAR_TTL_SECONDS = 10;

export class NearCache implements CacheBackend {
  readonly kind: string;

  constructor(
    private readonly shared: CacheBackend,
    private readonly near: MemoryBackend = new MemoryBackend(NEAR_LIMITS),
    private readonly nearTtlSeconds = NEAR_TTL_SECONDS,
  ) {
    this.kind = shared.kind;
  }

  async get(key: string): Promise<CacheEntry | undefined> {
    const near = await this.near.get(key);
    if (near) return near;
    const entry = await this.shared.get(key);
    if (entry) await this.near.set(key, entry, this.nearTtlSeconds);
    return entry;
  }

  async set(key: string, entry: CacheEntry, ttlSeconds: number): Promise<void> {
    await this.near.set(key, entry, Math.min(ttlSeconds, this.nearTtlSeconds));
    await this.shared.set(key, entry, ttlSeconds);
  }

  async touch(key: string, entry: CacheEntry, ttlSeconds: number): Promise<void> {
    await this.near.set(key, entry, Math.min(ttlSeconds, this.nearTtlSeconds));
    await this.shared.touch(key, entry, ttlSeconds);
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
