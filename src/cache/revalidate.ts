/**
 * The cache's upstream side (DESIGN §7): one conditional call per key through the transport,
 * shared by identical concurrent requests and bounded by one deadline for the whole exchange of
 * a body the cache buffers; what it brings back is stored, its entry touched or deleted in the
 * background, and `drain` waits for those writes.
 */
import { readUpTo } from "../http/body.ts";
import { idleBounded } from "../http/idle_stream.ts";
import {
  narrowingKey,
  NO_CREDENTIAL,
  type TokenNarrowing,
  type Transport,
  UpstreamError,
  type UpstreamRequest,
} from "../http/upstream.ts";
import type { GuardedBackend } from "./backends/guard.ts";
import { Coalescer, type Waiter } from "./coalesce.ts";
import { bodyDigest, type Bytes, type CacheEntry } from "./entry.ts";
import { type CacheEvent, isStorable, MAX_STORED_BODY_BYTES } from "./policy.ts";
import { keptHeaders } from "./serve.ts";
import type { HeaderList } from "../http/headers.ts";

/** A 304 with unchanged validators rewrites the entry at most this often. */
const TOUCH_INTERVAL_MS = 1000;

type ForwardEvent = Omit<Extract<CacheEvent, { kind: "forward" }>, "collapsed">;

interface Answered {
  readonly event: ForwardEvent;
  /** The credential that answered, how long it took and the points spent (`UpstreamAnswer`'s). */
  readonly upstream: { readonly credential: string; readonly ms: number; readonly points: number };
  /** `UpstreamAnswer.rateLimit`: the pool's `x-ratelimit-*` for the client. */
  readonly rateLimit?: HeaderList;
}

/** What one upstream call for a key brought back. */
export type Outcome =
  & Answered
  & (
    | { readonly kind: "entry"; readonly entry: CacheEntry; readonly latest: Headers }
    /** An answer read whole but not stored (an error, or not storable). */
    | { readonly kind: "response"; readonly response: Response; readonly body: Bytes }
    /** An answer too large to buffer: its body streams to one caller. */
    | {
      readonly kind: "stream";
      readonly response: Response;
      /** The body, to the first caller only; a stream cannot be shared. */
      claim(): ReadableStream<Uint8Array> | undefined;
    }
  );

/** An outcome as one caller gets it. */
export interface Revalidated {
  readonly outcome: Outcome;
  /** This caller waited for another identical request's call. */
  readonly collapsed: boolean;
  /** A `stream` outcome's body, claimed for this caller. */
  readonly stream?: ReadableStream<Uint8Array>;
}

/**
 * First fetches shared across replicas (DESIGN §13, `src/state/fills.ts`): coalescing is per
 * replica, so without it every replica of a fleet pays for the same cold key at once.
 */
export interface FillCoordinator {
  /** True when this replica is to fetch `key` now; false when another replica already is. */
  claim(key: string): Promise<boolean>;
  /** This replica's fetch of `key` is over (its entry, if any, is stored). */
  release(key: string): void;
}

/** A replica that finds another fetching a key looks for its entry this often. */
const FILL_POLL_MS = 20;
/** …and for at most this long before it fetches the key itself. */
const FILL_WAIT_MS = 3000;

export interface RevalidatorDeps {
  readonly backend: GuardedBackend;
  readonly transport: Transport;
  readonly ttlSeconds: number;
  /**
   * `UPSTREAM_TIMEOUT`: the deadline of a whole upstream exchange whose body the cache buffers,
   * and the longest quiet between two chunks of a body too large to buffer.
   */
  readonly upstreamTimeoutMs: number;
  readonly now?: () => number;
  /** Shares first fetches with other replicas; without it each replica fetches its own. */
  readonly fills?: FillCoordinator;
}

export class Revalidator {
  readonly #flights: Coalescer<Outcome>;
  readonly #pendingWrites = new Set<Promise<unknown>>();
  readonly #now: () => number;

  constructor(private readonly deps: RevalidatorDeps) {
    this.#now = deps.now ?? Date.now;
    const deadlineMs = deps.upstreamTimeoutMs;
    this.#flights = new Coalescer({
      deadlineMs,
      overdue: () => new UpstreamError("timeout", `GitHub did not answer within ${deadlineMs} ms`),
    });
  }

  /** Upstream calls in flight. */
  get inflight(): number {
    return this.#flights.size;
  }

  /** Callers waiting on those calls. */
  get waiting(): number {
    return this.#flights.waiting;
  }

  /** Backend calls that failed or timed out and were served around. */
  get backendFailures(): number {
    return this.deps.backend.failures;
  }

  /** A call for `key` with `narrowing` is in flight: a caller can join it. */
  has(key: string, narrowing?: TokenNarrowing): boolean {
    return this.#flights.has(flightKey(key, narrowing));
  }

  /**
   * Joins the call for `key` or starts it. `waiter` gives the caller's signal: when it aborts
   * the caller leaves, and a call no one waits for stops. A streamed answer another caller
   * claimed is fetched again for this one alone. `marked`: the entry is revalidated because a
   * webhook marked it stale, and its new validation time must be recorded (it clears the mark).
   */
  async revalidate(
    key: string,
    entry: CacheEntry | undefined,
    backendOk: boolean,
    request: UpstreamRequest,
    marked = false,
    waiter?: Waiter,
  ): Promise<Revalidated> {
    const call = (signal: AbortSignal) =>
      this.#call(key, entry, backendOk, request, signal, marked);
    const joined = this.#flights.join(flightKey(key, request.narrowing), call, waiter);
    const outcome = await joined.result;
    if (outcome.kind !== "stream") return { outcome, collapsed: !joined.leader };
    const stream = outcome.claim();
    if (stream) return { outcome, collapsed: !joined.leader, stream };
    const solo = await this.#flights.solo(call, waiter);
    return {
      outcome: solo,
      collapsed: false,
      stream: solo.kind === "stream" ? solo.claim() : undefined,
    };
  }

  /** Resolves when every background write has finished. */
  async drain(): Promise<void> {
    while (this.#pendingWrites.size > 0) await Promise.all(this.#pendingWrites);
  }

  async #call(
    key: string,
    entry: CacheEntry | undefined,
    backendOk: boolean,
    request: UpstreamRequest,
    signal: AbortSignal,
    marked: boolean,
  ): Promise<Outcome> {
    const fills = entry || !backendOk ? undefined : this.deps.fills;
    if (fills && !await fills.claim(key)) {
      const filled = await this.#filledElsewhere(key, signal);
      if (filled) return filled;
    }
    try {
      // The miss was seen before the claim: another replica may have stored the entry and
      // released its claim in between, and fetching again would pay for the key twice.
      const stored = fills && await this.deps.backend.get(key);
      if (stored && stored.ok && stored.entry) return filledOutcome(stored.entry);
      return await this.#fetch(key, entry, backendOk, request, signal, marked);
    } finally {
      fills?.release(key);
    }
  }

  /**
   * The entry another replica is fetching, once it is stored; undefined when it does not come
   * within the bounded wait, and this replica fetches it itself.
   */
  async #filledElsewhere(key: string, signal: AbortSignal): Promise<Outcome | undefined> {
    const waitMs = Math.min(FILL_WAIT_MS, this.deps.upstreamTimeoutMs);
    const deadline = performance.now() + waitMs;
    while (performance.now() < deadline && !signal.aborted) {
      await new Promise((resolve) => setTimeout(resolve, FILL_POLL_MS));
      // A failed lookup is taken as a slow moment: the store that holds the lock is answering.
      const lookup = await this.deps.backend.get(key);
      if (lookup.ok && lookup.entry) return filledOutcome(lookup.entry);
    }
    return undefined;
  }

  async #fetch(
    key: string,
    entry: CacheEntry | undefined,
    backendOk: boolean,
    request: UpstreamRequest,
    signal: AbortSignal,
    marked: boolean,
  ): Promise<Outcome> {
    const { backend, transport, ttlSeconds } = this.deps;
    const answer = await transport({ ...request, signal, deadlined: true });
    const { response } = answer;
    const upstream = { credential: answer.credential, ms: answer.ms, points: answer.points ?? 0 };
    const { rateLimit } = answer;
    const narrowing = narrowingKey(request.narrowing);
    const validatedWith = { credential: answer.credential, ...(narrowing ? { narrowing } : {}) };
    const base = { reason: entry ? "stale" : "uri-miss", backendDown: !backendOk } as const;
    if (response.status === 304 && entry) {
      await response.body?.cancel();
      const { narrowing: _previous, ...content } = entry;
      const refreshed: CacheEntry = {
        ...content,
        etag: response.headers.get("etag") ?? entry.etag,
        ...validatedWith,
        validatedAt: this.#now(),
      };
      if (backendOk) this.#refresh(key, entry, refreshed, marked);
      const event = { ...base, kind: "forward", status: 304, stored: false } as const;
      return {
        kind: "entry",
        entry: refreshed,
        latest: response.headers,
        event,
        upstream,
        rateLimit,
      };
    }
    const read = await readUpTo(response, MAX_STORED_BODY_BYTES).catch(() => {
      if (signal.aborted) throw signal.reason;
      throw new UpstreamError("unreachable", "GitHub's answer broke off");
    });
    const event = { ...base, kind: "forward", status: response.status, stored: false } as const;
    if (read instanceof ReadableStream) {
      if (entry && response.status === 200) this.#background(backend.delete(key));
      // Past the flight's deadline, which ends here: only quiet cuts it off.
      let stream: ReadableStream<Uint8Array> | undefined = idleBounded(
        read,
        this.deps.upstreamTimeoutMs,
      );
      const claim = () => {
        const claimed = stream;
        stream = undefined;
        return claimed;
      };
      return { kind: "stream", response, claim, event, upstream, rateLimit };
    }
    if (isStorable(response.status, response.headers, read.length)) {
      const now = this.#now();
      const created: CacheEntry = {
        status: 200,
        headers: keptHeaders(response.headers),
        body: read,
        lastModified: response.headers.get("last-modified") ?? undefined,
        digest: bodyDigest(read),
        etag: response.headers.get("etag") ?? undefined,
        ...validatedWith,
        storedAt: now,
        validatedAt: now,
      };
      // An answer completed after the deadline is not the one the waiters were told about.
      const stored = backendOk && !signal.aborted && await backend.set(key, created, ttlSeconds);
      return {
        kind: "entry",
        entry: created,
        latest: response.headers,
        event: { ...event, stored },
        upstream,
        rateLimit,
      };
    }
    // A 200 that may not be stored supersedes the entry; an error never replaces it.
    if (entry && response.status === 200 && backendOk) this.#background(backend.delete(key));
    return { kind: "response", response, body: read, event, upstream, rateLimit };
  }

  /**
   * Restarts the entry's TTL; rewrites it only when something changed, a while has passed, or
   * the revalidation answers a stale mark (whose clearing depends on the time it records).
   */
  #refresh(key: string, old: CacheEntry, refreshed: CacheEntry, marked: boolean): void {
    const changed = old.credential !== refreshed.credential || old.etag !== refreshed.etag ||
      old.narrowing !== refreshed.narrowing;
    if (!changed && !marked && refreshed.validatedAt - old.validatedAt < TOUCH_INTERVAL_MS) return;
    this.#background(this.deps.backend.touch(key, refreshed, this.deps.ttlSeconds));
  }

  #background(write: boolean | Promise<boolean>): void {
    if (!(write instanceof Promise)) return;
    this.#pendingWrites.add(write);
    write.finally(() => this.#pendingWrites.delete(write));
  }
}

/** An entry another replica fetched and stored, served as this replica's first fetch. */
function filledOutcome(entry: CacheEntry): Outcome {
  return {
    kind: "entry",
    entry,
    latest: new Headers(),
    event: { reason: "uri-miss", backendDown: false, kind: "forward", status: 200, stored: false },
    upstream: { credential: NO_CREDENTIAL, ms: 0, points: 0 },
  };
}

/**
 * The flight a request joins: a narrowed client never shares another narrowing's call (or an
 * un-narrowed one), whose answer GitHub gave a token that sees more.
 */
function flightKey(key: string, narrowing: TokenNarrowing | undefined): string {
  const narrowed = narrowingKey(narrowing);
  return narrowed === "" ? key : `${key}\n${narrowed}`;
}
