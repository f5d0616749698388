/**
 * The one way an upstream answer becomes the client's response, forwarded or served by the
 * cache: hop-by-hop headers dropped, `Link`/`Location` rewritten to the gateway, API URLs in a
 * JSON body too, the `Cache-Status` set, and no body for HEAD or a status that may not carry one.
 */
import type { Bytes } from "../cache/entry.ts";
import { clientResponseHeaders, type HeaderList, listValue, responseWith } from "./headers.ts";
import { isJson, JsonUrlRewriter } from "./json_urls.ts";
import { rewriteLinks, type UrlMap } from "./links.ts";

/** Statuses a `Response` may not carry a body with. */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/** How URLs written for one client are rewritten. */
export interface ClientUrls {
  /** GitHub's bases and the client's, for `Link`, `Location` and bodies. */
  readonly links: UrlMap;
  /** `REWRITE_BODY_URLS`: rewrite URLs inside JSON bodies too. */
  readonly rewriteBodies: boolean;
}

export interface ClientView extends ClientUrls {
  /** The client's method, upper-cased. */
  readonly method: string;
  readonly cacheStatus: string;
  /** The pool's `x-ratelimit-*` for the client (`UpstreamAnswer.rateLimit`), if any. */
  readonly rateLimit?: HeaderList;
}

/** A body as the gateway holds it: read whole, streaming through, or none. */
export type AnswerBody = Bytes | ReadableStream<Uint8Array> | null;

/**
 * `body` as the client gets it: with its URLs rewritten when it is JSON and rewriting is on.
 * Whole bodies are rewritten at once (the `Response` then counts its `Content-Length`);
 * streams as they flow, a match spanning two chunks included.
 */
export function clientBody(body: Bytes, contentType: string | null, urls: ClientUrls): Bytes;
export function clientBody(
  body: AnswerBody,
  contentType: string | null,
  urls: ClientUrls,
): AnswerBody;
export function clientBody(
  body: AnswerBody,
  contentType: string | null,
  urls: ClientUrls,
): AnswerBody {
  if (body === null || !urls.rewriteBodies || !isJson(contentType)) return body;
  const rewriter = new JsonUrlRewriter(urls.links);
  return body instanceof ReadableStream
    ? body.pipeThrough(rewriter.stream())
    : rewriter.rewrite(body);
}

/** `upstream`'s status and headers as the client gets them, with `body` (or none). */
export function toClientResponse(
  upstream: Response,
  body: AnswerBody,
  view: ClientView,
): Response {
  // The gateway's Cache-Status replaces any from upstream.
  const headers = clientResponseHeaders(upstream.headers, view.rateLimit).filter(([name]) =>
    name !== "cache-status"
  );
  rewriteLinks(headers, view.links);
  headers.push(["cache-status", view.cacheStatus]);
  const bodiless = view.method === "HEAD" || NULL_BODY_STATUSES.has(upstream.status);
  if (bodiless && body instanceof ReadableStream) body.cancel();
  const contentType = listValue(headers, "content-type");
  return responseWith(
    bodiless ? null : clientBody(body, contentType, view),
    { status: upstream.status, statusText: upstream.statusText },
    headers,
  );
}
