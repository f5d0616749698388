/**
 * Which upstream headers a cache entry keeps, and the headers a client gets when served from
 * one: the stored representation headers plus the per-response headers of the latest upstream
 * answer (rate limits, request id, date), and the gateway's own validators.
 */
import { clientResponseHeaders } from "../http/headers.ts";

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
