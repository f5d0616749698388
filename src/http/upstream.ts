/**
 * The one shape every layer below Hono shares (DESIGN §3): a `Transport` takes an
 * `UpstreamRequest` and returns an `UpstreamAnswer`. Layers wrap the next one (the pool, the
 * revalidation tags) and `fetchTransport` is the bottom: one HTTP call to GitHub, never following
 * redirects, bounded in time until headers arrive unless the caller bounds the whole call itself.
 */
import { connectFailure } from "./connect_failure.ts";
import { githubError } from "./errors.ts";
import type { HeaderList } from "./headers.ts";
import type { Logger } from "../log.ts";

export type UpstreamFailure = "timeout" | "unreachable";

export class UpstreamError extends Error {
  /**
   * `reason`: why GitHub could not be reached, worded for the log and the client's 502 (never a
   * URL, secret or stack; see `connectFailure`), when it is known.
   */
  constructor(
    readonly failure: UpstreamFailure,
    message: string,
    readonly reason?: string,
  ) {
    super(message);
    this.name = "UpstreamError";
  }
}

/** `UpstreamAnswer.credential` of an answer sent without a credential. */
export const ANONYMOUS = "anonymous";
/** `UpstreamAnswer.credential` of answers the pool made itself (nothing was sent). */
export const NO_CREDENTIAL = "";

/** A stored representation to revalidate: GitHub's validators for it and its body. */
export interface Revalidation {
  readonly etag: string | undefined;
  readonly lastModified: string | undefined;
  /** GitHub's tag for another credential is computed over it (see `github_etag.ts`). */
  readonly body: Uint8Array;
}

/**
 * A client's `github_token:` (DESIGN §6, §8): its calls go out with installation tokens minted
 * for only these repositories and permissions, so GitHub itself enforces the client's scope.
 */
export interface TokenNarrowing {
  /** Repository names (without owner) the token may touch; undefined: every one installed. */
  readonly repositories?: readonly string[];
  /** Permission → `read`, `write` or `admin`; undefined: everything the installation has. */
  readonly permissions?: Readonly<Record<string, string>>;
}

/**
 * A narrowing's identity: the same repositories and permissions in any order give the same
 * text; "" for none. What App tokens are cached by, and what a cache entry was validated with.
 */
export function narrowingKey(narrowing: TokenNarrowing | undefined): string {
  if (narrowing === undefined) return "";
  const repositories = narrowing.repositories && [...narrowing.repositories].sort();
  const permissions = narrowing.permissions &&
    Object.entries(narrowing.permissions).sort(([a], [b]) => a.localeCompare(b));
  return JSON.stringify({ repositories, permissions });
}

export interface UpstreamRequest {
  readonly method: string;
  readonly url: string;
  /** As they go upstream; a layer that changes them changes a copy. */
  readonly headers: Headers;
  /**
   * `headers` were made for this call alone: a layer below may change them in place instead of
   * copying them again. Every layer sets (replaces) what it changes, so a retry's attempt
   * overwrites what the previous attempt sent.
   */
  readonly ownHeaders?: boolean;
  readonly body: BodyInit | null;
  /**
   * Aborts the call, headers or body: the client went away, or the caller's deadline passed.
   * The call then rejects with the signal's reason.
   */
  readonly signal?: AbortSignal;
  /**
   * The signal already enforces a deadline for the whole call, no later than the headers
   * timeout: the call arms no timer of its own.
   */
  readonly deadlined?: boolean;
  /** Rate-limit resource the request will be charged to (see `inferResource`). */
  readonly resource: string;
  /** The client the call is made for, named in usage telemetry. */
  readonly client: string;
  /** Credential to prefer, e.g. the one a cache entry was stored with. */
  readonly preferredCredential?: string;
  /**
   * The request writes (POST, PATCH, PUT, DELETE, a GraphQL mutation): the pool paces these per
   * GitHub account to stay under its secondary limits. Absent: a read.
   */
  readonly mutating?: boolean;
  /** False when the body can be sent only once (it streams through): then no retry. */
  readonly replayable: boolean;
  /** Present when the call revalidates a stored entry (conditional headers are added for it). */
  readonly revalidate?: Revalidation;
  /**
   * The account the path names (`/repos/{owner}/…`, `/orgs/{org}/…`, `/users/{user}/…`), lower
   * case, for routing to its installation; absent: the path names none.
   */
  readonly account?: string;
  /** The client's `github_token:` narrowing; absent: the pool's usual credentials. */
  readonly narrowing?: TokenNarrowing;
}

export interface UpstreamAnswer {
  readonly response: Response;
  /**
   * `<NAME>` of the credential that answered, `anonymous` without one, `""` for the pool's own
   * answer. The bottom transport names none (`anonymous`): the layer that authorises names it.
   */
  readonly credential: string;
  /** Milliseconds until GitHub's headers arrived. */
  readonly ms: number;
  /**
   * Rate-limit points the request spent, over all its attempts, as the pool counted them;
   * absent below the pool, which is where they are counted.
   */
  readonly points?: number;
  /**
   * The pool's totals as `x-ratelimit-*` headers, which the client gets in place of the
   * response's (those describe the one credential that answered); set by the pool.
   */
  readonly rateLimit?: HeaderList;
}

/**
 * Context set by the handler whose upstream call answered (the cache for the caller that led
 * its call, else the forwarder), for the access log.
 */
export type UpstreamVariables = {
  upstream: { credential: string; ms: number; points: number };
};

/** One layer of the upstream call: the request goes down, the answer comes back up. */
export type Transport = (request: UpstreamRequest) => Promise<UpstreamAnswer>;

const UNREACHABLE = "GitHub could not be reached";

/** The client's answer when an upstream call failed: 504/502, or 499 when the client left. */
export function upstreamFailure(
  error: unknown,
  signal: AbortSignal,
  logger: Logger,
  path: string,
): Response {
  // No one reads this answer; it only keeps a client that left out of the error log.
  if (signal.aborted) return githubError(499, "Client closed the request");
  if (!(error instanceof UpstreamError)) throw error;
  const { failure, reason } = error;
  logger.warn("upstream call failed", { path, failure, ...(reason ? { reason } : {}) });
  if (failure === "timeout") return githubError(504, "GitHub did not answer in time");
  return githubError(502, reason ? `GitHub could not be reached: ${reason}` : UNREACHABLE);
}

/** The bottom transport: `fetch` with `redirect: manual` and a headers timeout. */
export function fetchTransport(
  headersTimeoutMs: number,
  fetchImpl: typeof fetch = fetch,
): Transport {
  const send = async (url: string, init: RequestInit, signal: AbortSignal | undefined) => {
    const sentAt = performance.now();
    try {
      const response = await fetchImpl(url, { ...init, redirect: "manual", signal });
      return { response, credential: ANONYMOUS, ms: performance.now() - sentAt };
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      throw new UpstreamError("unreachable", UNREACHABLE, connectFailure(error, url));
    }
  };
  return async ({ method, url, headers: given, body, signal, deadlined }) => {
    // As pairs: `fetch` converts a `Headers` init through its iterator, at several times the
    // cost of a list (measured).
    const headers: [string, string][] = [];
    given.forEach((value, name) => headers.push([name, value]));
    if (deadlined) return await send(url, { method, headers, body }, signal);
    // Cleared once headers are in: the body may take as long as it streams (bounded by idle).
    const timeout = new AbortController();
    const timer = setTimeout(
      () =>
        timeout.abort(
          new UpstreamError("timeout", `GitHub did not answer within ${headersTimeoutMs} ms`),
        ),
      headersTimeoutMs,
    );
    try {
      const bounded = signal ? AbortSignal.any([signal, timeout.signal]) : timeout.signal;
      return await send(url, { method, headers, body }, bounded);
    } finally {
      clearTimeout(timer);
    }
  };
}
