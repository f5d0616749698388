/**
 * The conditional cache flow for GET and HEAD (DESIGN §7): look the request up, serve it locally
 * when the client opted into freshness and the entry is young enough, else revalidate upstream
 * with validators that survive credential rotation, sharing one upstream call among identical
 * concurrent requests, and store what may be stored.
 */
import type { CredentialPool, Requester } from "../credentials/pool.ts";
import { bodyDigest, type Bytes, type CacheEntry } from "./entry.ts";
import type { GuardedBackend } from "./backends/guard.ts";
import {
  bypassReason,
  type CacheEvent,
  cacheKey,
  cacheStatus,
  clientIsCurrent,
  DEFAULT_ACCEPT,
  freshnessLimit,
  isStorable,
  MAX_STORED_BODY_BYTES,
} from "./policy.ts";
import { keptHeaders, servedHeaders } from "./serve.ts";
import { readCapped } from "../http/capped_body.ts";
import { Coalescer } from "./coalesce.ts";
import { idleBounded } from "../http/idle_stream.ts";
import { clientEtag, revalidationTags } from "./github_etag.ts";
import { clientResponseHeaders } from "../http/headers.ts";
import { rewriteLinks } from "../http/links.ts";
import type { RequestTarget } from "../identify/target.ts";
import { UpstreamError, type UpstreamFetch } from "../http/upstream.ts";

/** Client validators: answered by the gateway from its entry, never sent upstream. */
const CLIENT_CONDITIONALS = [
  "if-none-match",
  "if-modified-since",
  "if-match",
  "if-unmodified-since",
  "if-range",
  "cache-control",
];
/** Statuses a `Response` may not carry a body with. */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);
/** A 304 with unchanged validators rewrites the entry at most this often. */
export const TOUCH_INTERVAL_MS = 1000;

export interface CacheLayerDeps {
  readonly backend: GuardedBackend;
  readonly pool: CredentialPool;
  readonly upstream: UpstreamFetch;
  /** GitHub base URL: part of every key, and the base `Link`/`Location` rewriting replaces. */
  readonly apiUrl: string;
  readonly ttlSeconds: number;
  /**
   * `UPSTREAM_TIMEOUT`: the deadline of a whole upstream exchange whose body the cache buffers,
   * and the longest quiet between two chunks of a body too large to buffer.
   */
  readonly upstreamTimeoutMs: number;
  readonly now?: () => number;
}

export interface ReadRequest {
  readonly method: "GET" | "HEAD";
  /** The upstream URL. */
  readonly url: string;
  readonly target: RequestTarget;
  readonly clientHeaders: Headers;
  /** Headers as the forwarder prepared them for upstream (client identity removed). */
  readonly upstreamHeaders: Headers;
  readonly resource: string;
  readonly clientBase: string;
  /** The client's registry freshness opt-in. */
  readonly maxAgeSeconds?: number;
  /** Who the request is for: told which credential answered, named in usage. */
  readonly requester?: Requester;
  /** Aborts when the client went away: it stops waiting, and a flight no one waits for stops. */
  readonly signal?: AbortSignal;
}

type ForwardEvent = Omit<Extract<CacheEvent, { kind: "forward" }>, "collapsed">;

type Outcome =
  | {
    readonly kind: "entry";
    readonly entry: CacheEntry;
    readonly latest: Headers;
    readonly event: ForwardEvent;
  }
  | {
    readonly kind: "response";
    readonly response: Response;
    readonly body: Bytes;
    readonly event: ForwardEvent;
  }
  | {
    readonly kind: "stream";
    readonly response: Response;
    /** The body, to the first caller only; a stream cannot be shared. */
    claim(): ReadableStream<Uint8Array> | undefined;
    readonly event: ForwardEvent;
  };

export class CacheLayer {
  readonly #flights: Coalescer<Outcome>;
  readonly #pendingWrites = new Set<Promise<unknown>>();
  readonly #now: () => number;

  constructor(private readonly deps: CacheLayerDeps) {
    this.#now = deps.now ?? Date.now;
    const deadlineMs = deps.upstreamTimeoutMs;
    this.#flights = new Coalescer({
      deadlineMs,
      overdue: () => new UpstreamError("timeout", `GitHub did not answer within ${deadlineMs} ms`),
    });
  }

  /** Upstream calls in flight, for tests and metrics. */
  get inflight(): number {
    return this.#flights.size;
  }

  /** Backend calls that failed or timed out and were served around. */
  get backendFailures(): number {
    return this.deps.backend.failures;
  }

  /**
   * Answers a GET or HEAD, or returns undefined when the cache must stay out (the caller then
   * forwards as usual): uncacheable requests, and HEAD on a cold key (HEAD answers are never
   * stored).
   */
  async handle(request: ReadRequest): Promise<Response | undefined> {
    const { clientHeaders } = request;
    if (bypassReason(clientHeaders) !== undefined) return undefined;
    const accept = clientHeaders.get("accept") ?? DEFAULT_ACCEPT;
    const apiVersion = clientHeaders.get("x-github-api-version");
    const key = cacheKey({
      apiUrl: this.deps.apiUrl,
      path: request.target.path,
      query: request.target.query,
      accept,
      apiVersion,
    });
    const lookup = await this.deps.backend.get(key);
    const entry = lookup.ok ? lookup.entry : undefined;
    if (entry) {
      const ageMs = this.#now() - entry.validatedAt;
      const limit = freshnessLimit(clientHeaders.get("cache-control"), request.maxAgeSeconds);
      if (ageMs < limit * 1000) {
        const ttlMs = entry.validatedAt + this.deps.ttlSeconds * 1000 - this.#now();
        return this.#serveEntry(request, entry, undefined, {
          kind: "hit",
          ttlSeconds: Math.floor(ttlMs / 1000),
        }, Math.floor(ageMs / 1000));
      }
    }
    if (request.method === "HEAD" && !entry && !this.#flights.has(key)) return undefined;
    const fetchOutcome = (signal: AbortSignal) =>
      this.#fetch(key, entry, lookup.ok, request, accept, apiVersion, signal);
    const joined = this.#flights.join(key, fetchOutcome, request.signal);
    let outcome = await joined.result;
    let collapsed = !joined.leader;
    let stream = outcome.kind === "stream" ? outcome.claim() : undefined;
    if (outcome.kind === "stream" && !stream) {
      outcome = await this.#flights.solo(fetchOutcome, request.signal);
      collapsed = false;
      stream = outcome.kind === "stream" ? outcome.claim() : undefined;
    }
    return this.#respond(request, outcome, collapsed, stream);
  }

  /** Resolves when every background write has finished. */
  async drain(): Promise<void> {
    while (this.#pendingWrites.size > 0) await Promise.all(this.#pendingWrites);
  }

  async #fetch(
    key: string,
    entry: CacheEntry | undefined,
    backendOk: boolean,
    request: ReadRequest,
    accept: string,
    apiVersion: string | null,
    signal: AbortSignal,
  ): Promise<Outcome> {
    const { backend, pool, upstream, ttlSeconds } = this.deps;
    const headers = new Headers(request.upstreamHeaders);
    for (const name of CLIENT_CONDITIONALS) headers.delete(name);
    // The headers in the key are sent as the key has them: what is stored is what was asked.
    headers.set("accept", accept);
    if (apiVersion === null) headers.delete("x-github-api-version");
    else headers.set("x-github-api-version", apiVersion);
    const answer = await pool.call({
      resource: request.resource,
      preferredCredential: entry?.credential,
      requester: request.requester,
      send: (authorization) => {
        const sent = new Headers(headers);
        if (authorization) sent.set("authorization", authorization);
        if (entry) {
          const hashed = { accept, authorization, cookie: null };
          sent.set("if-none-match", revalidationTags(entry.etag, hashed, entry.body));
          if (entry.lastModified) sent.set("if-modified-since", entry.lastModified);
        }
        return upstream({
          method: "GET",
          url: request.url,
          headers: sent,
          body: null,
          signal,
          deadlined: true,
        });
      },
    });
    const { response } = answer;
    const base = { reason: entry ? "stale" : "uri-miss", backendDown: !backendOk } as const;
    if (response.status === 304 && entry) {
      await response.body?.cancel();
      const refreshed: CacheEntry = {
        ...entry,
        etag: response.headers.get("etag") ?? entry.etag,
        credential: answer.credential,
        validatedAt: this.#now(),
      };
      if (backendOk) this.#refresh(key, entry, refreshed);
      const event = { ...base, kind: "forward", status: 304, stored: false } as const;
      return { kind: "entry", entry: refreshed, latest: response.headers, event };
    }
    const read = await readCapped(response, MAX_STORED_BODY_BYTES).catch(() => {
      if (signal.aborted) throw signal.reason;
      throw new UpstreamError("unreachable", "GitHub's answer broke off");
    });
    const event = { ...base, kind: "forward", status: response.status, stored: false } as const;
    if (read.kind === "stream") {
      if (entry && response.status === 200) this.#background(backend.delete(key));
      // Past the flight's deadline, which ends here: only quiet cuts it off.
      let stream: ReadableStream<Uint8Array> | undefined = idleBounded(
        read.stream,
        this.deps.upstreamTimeoutMs,
      );
      const claim = () => {
        const claimed = stream;
        stream = undefined;
        return claimed;
      };
      return { kind: "stream", response, claim, event };
    }
    if (isStorable(response.status, response.headers, read.bytes.length)) {
      const now = this.#now();
      const created: CacheEntry = {
        status: 200,
        headers: keptHeaders(response.headers),
        body: read.bytes,
        lastModified: response.headers.get("last-modified") ?? undefined,
        digest: bodyDigest(read.bytes),
        etag: response.headers.get("etag") ?? undefined,
        credential: answer.credential,
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
      };
    }
    // A 200 that may not be stored supersedes the entry; an error never replaces it.
    if (entry && response.status === 200 && backendOk) this.#background(backend.delete(key));
    return { kind: "response", response, body: read.bytes, event };
  }

  /** Restarts the entry's TTL; rewrites it only when something changed or a while has passed. */
  #refresh(key: string, old: CacheEntry, refreshed: CacheEntry): void {
    const changed = old.credential !== refreshed.credential || old.etag !== refreshed.etag;
    if (!changed && refreshed.validatedAt - old.validatedAt < TOUCH_INTERVAL_MS) return;
    this.#background(this.deps.backend.touch(key, refreshed, this.deps.ttlSeconds));
  }

  #background(write: Promise<unknown>): void {
    this.#pendingWrites.add(write);
    write.finally(() => this.#pendingWrites.delete(write));
  }

  #respond(
    request: ReadRequest,
    outcome: Outcome,
    collapsed: boolean,
    stream: ReadableStream<Uint8Array> | undefined,
  ): Response {
    const event: CacheEvent = { ...outcome.event, collapsed };
    if (outcome.kind === "entry") {
      return this.#serveEntry(request, outcome.entry, outcome.latest, event);
    }
    const { response } = outcome;
    const headers = clientResponseHeaders(response.headers);
    rewriteLinks(headers, this.deps.apiUrl, request.clientBase);
    headers.set("cache-status", cacheStatus(event));
    if (request.method === "HEAD") stream?.cancel();
    const body = outcome.kind === "response" ? outcome.body : stream ?? null;
    const bodiless = request.method === "HEAD" || NULL_BODY_STATUSES.has(response.status);
    return new Response(bodiless ? null : body, {
      status: response.status,
      statusText: response.statusText,
      headers,
    });
  }

  #serveEntry(
    request: ReadRequest,
    entry: CacheEntry,
    latest: Headers | undefined,
    event: CacheEvent,
    ageSeconds?: number,
  ): Response {
    const headers = servedHeaders(entry.headers, latest);
    rewriteLinks(headers, this.deps.apiUrl, request.clientBase);
    const etag = clientEtag(entry.digest);
    headers.set("etag", etag);
    if (entry.lastModified) headers.set("last-modified", entry.lastModified);
    if (ageSeconds !== undefined) headers.set("age", String(ageSeconds));
    headers.set("cache-status", cacheStatus(event));
    if (clientIsCurrent(request.clientHeaders, etag, entry.lastModified)) {
      return new Response(null, { status: 304, headers });
    }
    return new Response(request.method === "HEAD" ? null : entry.body, { status: 200, headers });
  }
}
