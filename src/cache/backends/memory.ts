/**
 * `memory://` (alias `inmemory://`): entries in this process, least recently used dropped first
 * when either bound is reached. `memory://?max_entries=10000&max_bytes=134217728`.
 */
import { ConfigError } from "../../config_error.ts";
import { type BackendDriver, type CacheBackend, NO_REQUIREMENTS } from "./backend.ts";
import type { CacheEntry } from "../entry.ts";

const DEFAULT_MAX_ENTRIES = 10_000;
const DEFAULT_MAX_BYTES = 128 * 1024 * 1024;
/** Bookkeeping per entry beyond its body and headers (objects, map slot, key). */
const ENTRY_OVERHEAD_BYTES = 512;

export interface MemoryLimits {
  readonly maxEntries: number;
  readonly maxBytes: number;
}

interface Slot {
  readonly entry: CacheEntry;
  readonly expiresAt: number;
  readonly bytes: number;
}

function entryBytes(key: string, entry: CacheEntry): number {
  let bytes = ENTRY_OVERHEAD_BYTES + key.length + entry.body.length;
  for (const [name, value] of entry.headers) bytes += name.length + value.length;
  return bytes;
}

export class MemoryBackend implements CacheBackend {
  readonly kind = "memory";
  readonly #slots = new Map<string, Slot>();
  #bytes = 0;

  constructor(readonly limits: MemoryLimits, private readonly now: () => number = Date.now) {}

  get size(): number {
    return this.#slots.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  stats(): { entries: number; bytes: number } {
    return { entries: this.#slots.size, bytes: this.#bytes };
  }

  get(key: string): CacheEntry | undefined {
    const slot = this.#slots.get(key);
    if (!slot) return undefined;
    this.#slots.delete(key);
    if (slot.expiresAt <= this.now()) {
      this.#bytes -= slot.bytes;
      return undefined;
    }
    this.#slots.set(key, slot);
    return slot.entry;
  }

  set(key: string, entry: CacheEntry, ttlSeconds: number): void {
    this.#remove(key);
    const bytes = entryBytes(key, entry);
    if (bytes > this.limits.maxBytes) return;
    this.#slots.set(key, { entry, expiresAt: this.now() + ttlSeconds * 1000, bytes });
    this.#bytes += bytes;
    for (const [oldest, slot] of this.#slots) {
      if (this.#slots.size <= this.limits.maxEntries && this.#bytes <= this.limits.maxBytes) break;
      this.#slots.delete(oldest);
      this.#bytes -= slot.bytes;
    }
  }

  touch(key: string, entry: CacheEntry, ttlSeconds: number): void {
    this.set(key, entry, ttlSeconds);
  }

  delete(key: string): void {
    this.#remove(key);
  }

  ping(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.#slots.clear();
    this.#bytes = 0;
    return Promise.resolve();
  }

  #remove(key: string): void {
    const slot = this.#slots.get(key);
    if (!slot) return;
    this.#slots.delete(key);
    this.#bytes -= slot.bytes;
  }
}

/** Reads `max_entries` and `max_bytes` from the URL's query; other parameters are errors. */
export function parseMemoryLimits(url: string): MemoryLimits {
  const query = url.includes("?") ? url.slice(url.indexOf("?") + 1) : "";
  const limits = { maxEntries: DEFAULT_MAX_ENTRIES, maxBytes: DEFAULT_MAX_BYTES };
  const problems: string[] = [];
  for (const [name, value] of new URLSearchParams(query)) {
    const number = Number(value);
    const valid = /^\d+$/.test(value) && number > 0;
    if (name === "max_entries" && valid) limits.maxEntries = number;
    else if (name === "max_bytes" && valid) limits.maxBytes = number;
    else {problems.push(
        `CACHE_BACKEND_URL: memory parameter "${name}=${value}" is unknown or not a positive number`,
      );}
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return limits;
}

/** `memory://`: in this process, needing neither network nor files. */
export const memory: BackendDriver = {
  open: (url) => Promise.resolve(new MemoryBackend(parseMemoryLimits(url))),
  requirements: () => NO_REQUIREMENTS,
};
