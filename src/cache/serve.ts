/**
 * What the cache answers a client: from an entry, the stored representation headers plus the
 * per-response headers of the latest upstream answer (rate limits, request id, date) and the
 * gateway's own validators, or a 304 when the client is current; from an upstream answer the
 * cache did not store, that answer as any forward would give it. Also which upstream headers an
 * entry keeps.
 */
import { clientBody, type ClientUrls, toClientResponse } from "../http/client_response.ts";
import {
  clientResponseHeaders,
  type HeaderList,
  listValue,
  replacedBy,
  responseWith,
} from "../http/headers.ts";
import { rewriteLinks, type UrlMap } from "../http/links.ts";
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
  return clientResponseHeaders(upstream).filter(([name]) => !PER_RESPONSE.has(name));
}

/**
 * Stored representation headers, then the fresh per-response headers of `latest`, if any. The
 * stored ones never include a per-response name (`keptHeaders`, `prepared`), so appending is
 * what replacing would be.
 */
export function servedHeaders(
  stored: readonly (readonly [string, string])[],
  latest: Latest | undefined,
): HeaderList {
  return [...stored.map(([name, value]) => [name, value] as [string, string]), ...fresh(latest)];
}

/** The upstream answer an entry was last validated by: its headers, and the pool's rate limit. */
export interface Latest {
  readonly headers: Headers;
  /** `UpstreamAnswer.rateLimit`: the pool's `x-ratelimit-*`, in place of the answer's. */
  readonly rateLimit?: HeaderList;
}

/** The per-response headers of `latest` an answer from an entry carries. */
function fresh(latest: Latest | undefined): HeaderList {
  if (latest === undefined) return [];
  const out: HeaderList = [];
  latest.headers.forEach((value, name) => {
    if (PER_RESPONSE.has(name) && !REPRESENTATION_ONLY.has(name)) out.push([name, value]);
  });
  return replacedBy(out, latest.rateLimit);
}

/**
 * An entry's content as one kind of client is served it: headers with `Link`/`Location`
 * rewritten, the body with its URLs rewritten, the tag over that body, and the 200 itself with
 * every header that does not change from one answer to the next. Worked out once per content
 * and client base, not per request (DESIGN §10): each answer clones the 200 (Deno copies a
 * cloned header list without validating it again, several times cheaper than building one) and
 * appends only the per-response headers.
 */
interface Prepared {
  readonly links: UrlMap;
  readonly rewriteBodies: boolean;
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Bytes;
  readonly etag: string;
  /** The entry's `Last-Modified` the template carries. */
  readonly lastModified: string | undefined;
  readonly template: Response;
}

/**
 * Prepared forms by the stored body: an entry's content changes only with a new body (a 304
 * refresh keeps the same bytes), so the body stands for the content, and the forms go when the
 * entry does. A few client bases per body, the least recent dropped.
 */
const preparedForms = new WeakMap<Bytes, Prepared[]>();
const FORMS_PER_BODY = 4;

const sameLinks = (a: UrlMap, b: UrlMap) =>
  a.length === b.length && a.every((rule, i) => rule.from === b[i].from && rule.to === b[i].to);

function prepared(entry: CacheEntry, view: ServeView): Prepared {
  const forms = preparedForms.get(entry.body) ?? [];
  const found = forms.find((form) =>
    form.rewriteBodies === view.rewriteBodies && sameLinks(form.links, view.links) &&
    form.lastModified === entry.lastModified
  );
  if (found) return found;
  const headers: HeaderList = entry.headers.flatMap(([name, value]) =>
    PER_RESPONSE.has(name) ? [] : [[name, value] as [string, string]]
  );
  rewriteLinks(headers, view.links);
  const body = clientBody(entry.body, listValue(headers, "content-type"), view);
  // Over what this client receives: a body its base changed gets a tag of its own.
  const etag = clientEtag(entry.digest, body === entry.body ? undefined : view.links);
  const { lastModified } = entry;
  const template = responseWith(body, { status: 200 }, [
    ...headers,
    ...validators(etag, lastModified),
  ]);
  const form = {
    links: view.links,
    rewriteBodies: view.rewriteBodies,
    headers,
    body,
    etag,
    lastModified,
    template,
  };
  preparedForms.set(entry.body, [form, ...forms.slice(0, FORMS_PER_BODY - 1)]);
  return form;
}

function validators(etag: string, lastModified: string | undefined): HeaderList {
  return lastModified ? [["etag", etag], ["last-modified", lastModified]] : [["etag", etag]];
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
  latest: Latest | undefined,
  event: CacheEvent,
  view: ServeView,
  ageSeconds?: number,
): Response {
  const form = prepared(entry, view);
  const own: HeaderList = [];
  if (ageSeconds !== undefined) own.push(["age", String(ageSeconds)]);
  own.push(["cache-status", cacheStatus(event)]);
  const current = clientIsCurrent(view.clientHeaders, form.etag, entry.lastModified);
  if (current || view.method === "HEAD") {
    return responseWith(null, { status: current ? 304 : 200 }, [
      ...servedHeaders(form.headers, latest),
      ...validators(form.etag, entry.lastModified),
      ...own,
    ]);
  }
  const response = form.template.clone();
  const headers = response.headers;
  for (const [name, value] of [...fresh(latest), ...own]) headers.append(name, value);
  return response;
}

/** The client's answer from an upstream answer the cache read (`Bytes`) or streams through. */
export function serveAnswer(
  response: Response,
  body: Bytes | ReadableStream<Uint8Array> | null,
  event: CacheEvent,
  view: ServeView,
  rateLimit?: HeaderList,
): Response {
  return toClientResponse(response, body, { ...view, cacheStatus: cacheStatus(event), rateLimit });
}
