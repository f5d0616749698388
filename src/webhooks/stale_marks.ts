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

/**
 * Where a pattern is filed within its scope: its leading segments up to the first with a `*`
 * (all of them for a pattern without one). A path can only be covered by patterns filed under
 * one of its own leading-segment prefixes, so a read looks in as many buckets as its path has
 * segments, plus one. Per-pull-request and per-commit patterns (`pulls/123/*`) are filed under
 * their number or SHA, so ten thousand of them cost an unrelated read nothing.
 */
function patternKey(pattern: string): string {
  const segments = pattern.split("/");
  const wild = segments.findIndex((segment) => segment.includes("*"));
  return wild < 0 ? pattern : segments.slice(0, wild).join("/");
}

/** The buckets a path's rest (after its scope) may find covering patterns in. */
function pathKeys(rest: string): Set<string> {
  const keys = new Set([""]);
  let at = rest.indexOf("/");
  while (at >= 0) {
    keys.add(rest.slice(0, at));
    at = rest.indexOf("/", at + 1);
  }
  keys.add(rest);
  return keys;
}

/** Stale marks in this process's memory: per scope, the latest time of each pattern. */
export class LocalStaleMarks implements StaleMarks {
  /** scope → pattern key (`patternKey`) → pattern → latest mark time. */
  readonly #byScope = new Map<string, Map<string, Map<string, number>>>();
  /** Patterns compared with a path so far (the cost of the reads; for tests and diagnostics). */
  #compared = 0;
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

  /** Patterns `isStale` has compared with a path since this was made. */
  get compared(): number {
    return this.#compared;
  }

  mark(resources: readonly StaleResource[], atMs: number): void {
    this.#expire();
    for (const { scope, pattern } of resources) {
      const key = `${scope} ${pattern}`;
      const buckets = this.#byScope.get(scope) ?? new Map<string, Map<string, number>>();
      this.#byScope.set(scope, buckets);
      const bucket = buckets.get(patternKey(pattern)) ?? new Map<string, number>();
      buckets.set(patternKey(pattern), bucket);
      const latest = Math.max(bucket.get(pattern) ?? -Infinity, atMs);
      bucket.set(pattern, latest);
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
    const buckets = scoped && this.#byScope.get(scoped.scope);
    if (!scoped || !buckets) return false;
    for (const key of pathKeys(scoped.rest)) {
      for (const [pattern, atMs] of buckets.get(key) ?? []) {
        this.#compared++;
        if (atMs > before && covers(pattern, scoped.rest)) return true;
      }
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
    const buckets = this.#byScope.get(mark.scope);
    const bucket = buckets?.get(patternKey(mark.pattern));
    bucket?.delete(mark.pattern);
    if (bucket?.size === 0) buckets!.delete(patternKey(mark.pattern));
    if (buckets?.size === 0) this.#byScope.delete(mark.scope);
  }
}
