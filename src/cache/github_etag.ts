/**
 * GitHub's ETag and HTTP validator matching (DESIGN §7). GitHub's tag is the hex SHA-256 of the
 * `Accept`, `Authorization` and `Cookie` values as sent (each present one followed by ":"), then
 * the uncompressed body; so the tag another credential would get for a stored body can be
 * computed without asking GitHub.
 */
import { sha256Hex } from "../digest.ts";
import type { UrlMap } from "../http/links.ts";
import type { Transport } from "../http/upstream.ts";

export interface HashedHeaders {
  readonly accept: string | null;
  readonly authorization: string | null;
  readonly cookie: string | null;
}

export function githubEtagHex(headers: HashedHeaders, body: Uint8Array): string {
  const named = [headers.accept, headers.authorization, headers.cookie].filter((v) => v !== null);
  return sha256Hex(...named.map((value) => `${value}:`), body);
}

/**
 * The `If-None-Match` list for a revalidation: the tag GitHub gave the stored entry, and the tag
 * this request's credential would get for the stored body, in both quoted forms GitHub writes.
 */
export function revalidationTags(
  storedEtag: string | undefined,
  headers: HashedHeaders,
  body: Uint8Array,
): string {
  const hex = githubEtagHex(headers, body);
  const tags = new Set([`W/"${hex}"`, `"${hex}"`]);
  if (storedEtag) tags.add(storedEtag);
  return [...tags].join(", ");
}

/** Credentials whose tags are remembered per stored body; the pool rarely has more in turn. */
const TAGS_PER_BODY = 8;

/**
 * The revalidation tags computed so far for each stored body (kept as long as the body is), by
 * the hashed header values and stored tag: a warm entry revalidated again and again with the
 * same credential is hashed once, not on every request.
 */
const tagMemo = new WeakMap<Uint8Array, Map<string, string>>();

/** `revalidationTags`, memoised per stored body. */
export function memoisedRevalidationTags(
  storedEtag: string | undefined,
  headers: HashedHeaders,
  body: Uint8Array,
): string {
  let byHeaders = tagMemo.get(body);
  if (byHeaders === undefined) tagMemo.set(body, byHeaders = new Map());
  // Control characters cannot occur in a header value: NUL separates, SOH stands for "absent".
  const key = `${headers.accept ?? "\x01"}\0${headers.authorization ?? "\x01"}\0${
    headers.cookie ?? "\x01"
  }\0${storedEtag ?? "\x01"}`;
  let tags = byHeaders.get(key);
  if (tags === undefined) {
    tags = revalidationTags(storedEtag, headers, body);
    if (byHeaders.size >= TAGS_PER_BODY) byHeaders.delete(byHeaders.keys().next().value!);
    byHeaders.set(key, tags);
  }
  return tags;
}

/**
 * A transport layer under the pool: a revalidating request gets `If-None-Match` with the tags
 * for the `Authorization` the pool put on it (GitHub's tag depends on it), and
 * `If-Modified-Since` with the stored `Last-Modified`. Other requests pass through unchanged.
 * Headers the layer above copied for this call alone (`ownHeaders`) are changed in place, others
 * on a copy.
 */
export function withRevalidationTags(next: Transport): Transport {
  return (request) => {
    const { revalidate } = request;
    if (!revalidate) return next(request);
    const headers = request.ownHeaders ? request.headers : new Headers(request.headers);
    const hashed = {
      accept: headers.get("accept"),
      authorization: headers.get("authorization"),
      cookie: headers.get("cookie"),
    };
    headers.set(
      "if-none-match",
      memoisedRevalidationTags(revalidate.etag, hashed, revalidate.body),
    );
    if (revalidate.lastModified) headers.set("if-modified-since", revalidate.lastModified);
    return next(headers === request.headers ? request : { ...request, headers, ownHeaders: true });
  };
}

/**
 * The gateway's own tag for a body with digest `digest`: stable across credentials, instances
 * and restarts. For a body the client gets with its URLs rewritten by `links`, the tag is over
 * what that client receives — the stored body's digest and the bases that rewrote it, which
 * determine those bytes — so it differs from base to base and is stable for each, without
 * hashing the rewritten body on every request.
 */
export function clientEtag(digest: string, links?: UrlMap): string {
  if (links === undefined) return `W/"${digest}"`;
  const bases = links.map(({ from, to }) => `${from} ${to}\n`);
  return `W/"${sha256Hex(`${digest}\n`, ...bases)}"`;
}

/** RFC 9110 weak comparison of an `If-None-Match` value (list or `*`) against `etag`. */
export function noneMatchHits(ifNoneMatch: string, etag: string): boolean {
  const opaque = (tag: string) => tag.trim().replace(/^W\//, "");
  const target = opaque(etag);
  return ifNoneMatch.split(",").some((tag) => tag.trim() === "*" || opaque(tag) === target);
}
