/**
 * Rewrites upstream URLs in `Link` and `Location` headers to the gateway's own address as the
 * client used it, so pagination and created-resource URLs lead back through the gateway. The
 * pairs of bases (`UrlMap`) are the same ones JSON bodies are rewritten with (`json_urls.ts`).
 */

/** One upstream base and the client's base that replaces it. */
export interface UrlRule {
  readonly from: string;
  readonly to: string;
}

/** Rules with the longest `from` first, so a base inside another never wins over it. */
export type UrlMap = readonly UrlRule[];

/** GitHub's bases (REST, uploads) and the client's (`ClientBase`). */
export interface BasePair {
  readonly api: string;
  readonly uploads: string;
}

/**
 * The client's replacement for each upstream base: REST to REST, uploads to uploads. Uploads go
 * first when longer, for an upstream whose upload base lies under its REST base.
 */
export function urlMap(upstream: BasePair, client: BasePair): UrlMap {
  const rules = [
    { from: upstream.api, to: client.api },
    { from: upstream.uploads, to: client.uploads },
  ];
  return rules.sort((a, b) => b.from.length - a.from.length);
}

/**
 * Characters that may follow a base in a URL that lies under it: a path, a query, a fragment
 * or a URI template (`{?name,label}`). `https://api.github.com.evil` is not under
 * `https://api.github.com`.
 */
export const BASE_BOUNDARY = "/?#{";

/** `url` with the first base of `map` it lies under replaced; other URLs are kept. */
export function rewriteUrl(url: string, map: UrlMap): string {
  for (const { from, to } of map) {
    if (!url.startsWith(from)) continue;
    if (url.length === from.length) return to;
    if (BASE_BOUNDARY.includes(url.charAt(from.length))) return to + url.slice(from.length);
  }
  return url;
}

/** Rewrites every `<url>` of an RFC 8288 `Link` header value. */
function rewriteLinkHeader(value: string, map: UrlMap): string {
  return value.replace(/<([^>]*)>/g, (_m, url: string) => `<${rewriteUrl(url, map)}>`);
}

/** Rewrites, in place, the `Link` and `Location` headers of an answer on its way to the client. */
export function rewriteLinks(headers: [string, string][], map: UrlMap): void {
  for (const header of headers) {
    if (header[0] === "link") header[1] = rewriteLinkHeader(header[1], map);
    else if (header[0] === "location") header[1] = rewriteUrl(header[1], map);
  }
}
