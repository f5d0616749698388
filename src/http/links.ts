/**
 * Rewrites upstream URLs in `Link` and `Location` headers to the gateway's own address as the
 * client used it, so pagination and created-resource URLs lead back through the gateway.
 */

/** Replaces `upstreamBase` at the start of `url` with `clientBase`; other URLs are kept. */
export function rewriteUrl(url: string, upstreamBase: string, clientBase: string): string {
  if (url === upstreamBase) return clientBase;
  const next = url.charAt(upstreamBase.length);
  if (url.startsWith(upstreamBase) && (next === "/" || next === "?")) {
    return clientBase + url.slice(upstreamBase.length);
  }
  return url;
}

/** Rewrites every `<url>` of an RFC 8288 `Link` header value. */
function rewriteLinkHeader(value: string, upstreamBase: string, clientBase: string): string {
  return value.replace(
    /<([^>]*)>/g,
    (_m, url: string) => `<${rewriteUrl(url, upstreamBase, clientBase)}>`,
  );
}

/** Rewrites, in place, the `Link` and `Location` headers of an answer on its way to the client. */
export function rewriteLinks(
  headers: Headers,
  upstreamBase: string,
  clientBase: string,
): void {
  const link = headers.get("link");
  if (link) headers.set("link", rewriteLinkHeader(link, upstreamBase, clientBase));
  const location = headers.get("location");
  if (location) headers.set("location", rewriteUrl(location, upstreamBase, clientBase));
}
