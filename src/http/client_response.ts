/**
 * The one way an upstream answer becomes the client's response, forwarded or served by the
 * cache: hop-by-hop headers dropped, `Link`/`Location` rewritten to the gateway, the
 * `Cache-Status` set, and no body for HEAD or a status that may not carry one.
 */
import { clientResponseHeaders } from "./headers.ts";
import { rewriteLinks } from "./links.ts";

/** Statuses a `Response` may not carry a body with. */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

export interface ClientView {
  /** The client's method, upper-cased. */
  readonly method: string;
  /** GitHub's base URL, which `Link`/`Location` rewriting replaces… */
  readonly apiUrl: string;
  /** …with where the client reached the gateway. */
  readonly clientBase: string;
  readonly cacheStatus: string;
}

/** `upstream`'s status and headers as the client gets them, with `body` (or none). */
export function toClientResponse(
  upstream: Response,
  body: BodyInit | null,
  { method, apiUrl, clientBase, cacheStatus }: ClientView,
): Response {
  const headers = clientResponseHeaders(upstream.headers);
  rewriteLinks(headers, apiUrl, clientBase);
  headers.set("cache-status", cacheStatus);
  const bodiless = method === "HEAD" || NULL_BODY_STATUSES.has(upstream.status);
  if (bodiless && body instanceof ReadableStream) body.cancel();
  return new Response(bodiless ? null : body, {
    status: upstream.status,
    statusText: upstream.statusText,
    headers,
  });
}
