/**
 * Stale marks (DESIGN §12): which cached resources an event made stale, and since when. They
 * live beside the cache, keyed by repository or organisation, so any backend works unchanged:
 * an entry carries only when it was last validated, and a read asks whether a mark covers its
 * path and is newer than that validation minus the settle time. GitHub's ETags can lag its
 * events, so a revalidation less than `SETTLE_MS` after an event does not clear it.
 *
 * The marks are an interface so that replicas can share them (§13); `LocalStaleMarks` is one
 * process's own, bounded and expiring.
 */
import { covers, scopeOf, type StaleResource } from "./stale_resource.ts";

/** How long after an event a revalidation may still see GitHub's old answer. */
export const SETTLE_MS = 2000;

/** Stale resources and the question the cache asks on a read. */
export interface StaleMarks {
  /** Marks `resources` stale as of `atMs` (when the event arrived). */
  mark(resources: readonly StaleResource[], atMs: number): Promise<void> | void;
  /**
   * Whether an entry for `path` last validated at `validatedAtMs` may be older than GitHub's
   * state: a mark covers `path` and the entry was not validated `SETTLE_MS` after it.
   */
  isStale(path: string, validatedAtMs: number): Promise<boolean> | boolean;
}

/** Marks kept at most; past it the oldest are folded into one conservative watermark. */
export const MAX_STALE_MARKS = 10_000;

export interface LocalStaleMarksOptions {
  /**
   * `CACHE_TTL` in ms: an entry validated before a mark's settle time has expired this long
   * after it, so the mark can go.
   */
  readonly ttlMs: number;
  readonly now?: () => number;
  readonly maxMarks?: number;
}

interface Mark {
  readonly scope: string;
  readonly pattern: string;
  readonly atMs: number;
}

/** Stale marks in this process's memory: per scope, the latest time of each pattern. */
export class LocalStaleMarks implements StaleMarks {
  /** scope → pattern → latest mark time. */
  readonly #byScope = new Map<string, Map<string, number>>();
  /** Every mark, oldest first (re-marking moves it to the end). */
  readonly #order = new Map<string, Mark>();
  /**
   * The latest time among marks dropped to stay bounded: every entry validated before it (plus
   * the settle time) counts as stale, so a dropped mark costs revalidations, never a stale read.
   */
  #droppedUpTo = -Infinity;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #maxMarks: number;

  constructor(options: LocalStaleMarksOptions) {
    this.#ttlMs = options.ttlMs;
    this.#now = options.now ?? Date.now;
    this.#maxMarks = options.maxMarks ?? MAX_STALE_MARKS;
  }

  /** Marks held now. */
  get size(): number {
    return this.#order.size;
  }

  mark(resources: readonly StaleResource[], atMs: number): void {
    this.#expire();
    for (const { scope, pattern } of resources) {
      const key = `${scope} ${pattern}`;
      const patterns = this.#byScope.get(scope) ?? new Map<string, number>();
      this.#byScope.set(scope, patterns);
      const latest = Math.max(patterns.get(pattern) ?? -Infinity, atMs);
      patterns.set(pattern, latest);
      this.#order.delete(key);
      this.#order.set(key, { scope, pattern, atMs: latest });
    }
    while (this.#order.size > this.#maxMarks) {
      const [key, oldest] = this.#order.entries().next().value!;
      this.#drop(key, oldest);
      this.#droppedUpTo = Math.max(this.#droppedUpTo, oldest.atMs);
    }
  }

  /**
   * Counts every entry validated before `atMs` (plus the settle time) as stale, as dropped
   * marks do: for marks made elsewhere that this process may have missed.
   */
  distrustBefore(atMs: number): void {
    this.#expire();
    this.#droppedUpTo = Math.max(this.#droppedUpTo, atMs);
  }

  isStale(path: string, validatedAtMs: number): boolean {
    this.#expire();
    const before = validatedAtMs - SETTLE_MS;
    if (this.#droppedUpTo > before) return true;
    const scoped = scopeOf(path);
    const patterns = scoped && this.#byScope.get(scoped.scope);
    if (!scoped || !patterns) return false;
    for (const [pattern, atMs] of patterns) {
      if (atMs > before && covers(pattern, scoped.rest)) return true;
    }
    return false;
  }

  /** Drops marks no live entry can be older than. */
  #expire(): void {
    const horizon = this.#now() - SETTLE_MS - this.#ttlMs;
    for (const [key, mark] of this.#order) {
      if (mark.atMs >= horizon) break;
      this.#drop(key, mark);
    }
    if (this.#droppedUpTo < horizon) this.#droppedUpTo = -Infinity;
  }

  #drop(key: string, mark: Mark): void {
    this.#order.delete(key);
    const patterns = this.#byScope.get(mark.scope);
    patterns?.delete(mark.pattern);
    if (patterns?.size === 0) this.#byScope.delete(mark.scope);
  }
}
