/**
 * What the cache answers a client: from an entry, the stored representation headers plus the
 * per-response headers of the latest upstream answer (rate limits, request id, date) and the
 * gateway's own validators, or a 304 when the client is current; from an upstream answer the
 * cache did not store, that answer as any forward would give it. Also which upstream headers an
 * entry keeps.
 */
import { clientBody, type ClientUrls, toClientResponse } from "../http/client_response.ts";
import { clientResponseHeaders } from "../http/headers.ts";
import { rewriteLinks } from "../http/links.ts";
import type { Bytes, CacheEntry } from "./entry.ts";
import { clientEtag } from "./github_etag.ts";
import { type CacheEvent, cacheStatus, clientIsCurrent } from "./policy.ts";

/**
 * Headers that describe one upstream response or one credential, not the representation: never
 * stored, taken fresh from the latest upstream answer instead.
 */
const PER_RESPONSE = new Set([
  "date",
  "age",
  "etag",
  "last-modified",
  "cache-status",
  "x-github-request-id",
  "x-ratelimit-limit",
  "x-ratelimit-remaining",
  "x-ratelimit-used",
  "x-ratelimit-reset",
  "x-ratelimit-resource",
  "x-oauth-scopes",
  "x-oauth-client-id",
  "x-accepted-oauth-scopes",
  "github-authentication-token-expiration",
  "x-github-sso",
]);
/** Per-response headers that describe the representation and so must not come from a 304. */
const REPRESENTATION_ONLY = new Set(["etag", "last-modified", "age", "cache-status"]);

/** The representation headers of an upstream answer, as an entry stores them. */
export function keptHeaders(upstream: Headers): [string, string][] {
  const kept: [string, string][] = [];
  for (const [name, value] of clientResponseHeaders(upstream)) {
    if (!PER_RESPONSE.has(name)) kept.push([name, value]);
  }
  return kept;
}

/** Stored representation headers, then the fresh per-response headers of `latest`, if any. */
export function servedHeaders(
  stored: readonly (readonly [string, string])[],
  latest: Headers | undefined,
): Headers {
  const out = new Headers();
  for (const [name, value] of stored) out.append(name, value);
  if (latest) {
    for (const [name, value] of latest) {
      if (PER_RESPONSE.has(name) && !REPRESENTATION_ONLY.has(name)) out.set(name, value);
    }
  }
  return out;
}

/** Who a cached answer is for. */
export interface ServeView extends ClientUrls {
  /** `GET` or `HEAD`. */
  readonly method: string;
  /** The client's request headers: its validators decide between 200 and 304. */
  readonly clientHeaders: Headers;
}

/**
 * The client's answer from an entry: 304 when its validators match, else the stored body, its
 * URLs rewritten for this client. The entry keeps GitHub's text, so clients with different
 * bases each get theirs, and each its own stable tag.
 */
export function serveEntry(
  entry: CacheEntry,
  latest: Headers | undefined,
  event: CacheEvent,
  view: ServeView,
  ageSeconds?: number,
): Response {
  const headers = servedHeaders(entry.headers, latest);
  rewriteLinks(headers, view.links);
  const body = clientBody(entry.body, headers, view);
  // Over what this client receives: a body its base changed gets a tag of its own.
  const etag = clientEtag(entry.digest, body === entry.body ? undefined : view.links);
  headers.set("etag", etag);
  if (entry.lastModified) headers.set("last-modified", entry.lastModified);
  if (ageSeconds !== undefined) headers.set("age", String(ageSeconds));
  headers.set("cache-status", cacheStatus(event));
  if (clientIsCurrent(view.clientHeaders, etag, entry.lastModified)) {
    return new Response(null, { status: 304, headers });
  }
  return new Response(view.method === "HEAD" ? null : body, { status: 200, headers });
}

/** The client's answer from an upstream answer the cache read (`Bytes`) or streams through. */
export function serveAnswer(
  response: Response,
  body: Bytes | ReadableStream<Uint8Array> | null,
  event: CacheEvent,
  view: ServeView,
): Response {
  return toClientResponse(response, body, { ...view, cacheStatus: cacheStatus(event) });
}
