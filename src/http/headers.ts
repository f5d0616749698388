/** Which headers cross the gateway, in each direction. */
import { VERSION } from "../version.ts";

export const USER_AGENT = `github-proxy/${VERSION}`;

const HOP_BY_HOP = [
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
];

/**
 * Client headers never sent upstream: hop-by-hop, the client's own identity (`authorization`,
 * `cookie`), method overrides (the gateway authorised the real method), what `fetch` sets, and
 * `expect` (the gateway's server already answered the client's 100-continue).
 */
const DROPPED_REQUEST = new Set([
  ...HOP_BY_HOP,
  "expect",
  "host",
  "authorization",
  "cookie",
  "user-agent",
  "content-length",
  "accept-encoding",
  "x-http-method-override",
  "x-http-method",
  "x-method-override",
  "forwarded",
  "x-forwarded-for",
  "x-forwarded-host",
  "x-forwarded-proto",
  "x-forwarded-prefix",
  "x-forwarded-port",
  "x-real-ip",
]);

/** Upstream headers never sent to clients; `fetch` has already decoded the body. */
const DROPPED_RESPONSE = new Set([
  ...HOP_BY_HOP,
  "set-cookie",
  "content-encoding",
  "content-length",
]);

/**
 * End-to-end request headers the gateway keys its cache by (`Accept`, `X-GitHub-Api-Version`)
 * or forwards on purpose: a client's `Connection` cannot list them away, or GitHub would answer
 * a different request than the one keyed, and the entry would be served to others as if it
 * were theirs.
 */
const END_TO_END_REQUEST: ReadonlySet<string> = new Set([
  "accept",
  "x-github-api-version",
  "content-type",
  "if-none-match",
  "if-modified-since",
  "if-match",
  "if-unmodified-since",
]);

/**
 * Headers on their way to a `Response`: name (lower case) and value pairs, which `Response`
 * takes as they are, so an answer's headers are copied once instead of through a `Headers`.
 */
export type HeaderList = [string, string][];

/** Calls `visit` for each header of `source` that is neither `dropped` nor `Connection`-listed. */
function eachCrossing(
  source: Headers,
  dropped: Set<string>,
  kept: ReadonlySet<string> | undefined,
  visit: (name: string, value: string) => void,
): void {
  const connection = source.get("connection");
  const listed = connection === null
    ? undefined
    : new Set(connection.split(",").map((name) => name.trim().toLowerCase()));
  if (listed && kept) { for (const name of kept) listed.delete(name); }
  // forEach, not for…of: Deno's Headers iterator re-sorts the list at every step (O(n²)), which
  // made header copying the largest per-request cost of a forward.
  source.forEach((value, name) => {
    if (!dropped.has(name) && !listed?.has(name)) visit(name, value);
  });
}

export function upstreamRequestHeaders(client: Headers): Headers {
  const headers = new Headers();
  eachCrossing(client, DROPPED_REQUEST, END_TO_END_REQUEST, (name, value) => {
    headers.append(name, value);
  });
  headers.set("user-agent", USER_AGENT);
  return headers;
}

/**
 * The upstream headers a client may see, in one pass, as a list for its `Response`; `replacing`
 * ones (the pool's `x-ratelimit-*`) stand in for the upstream's of the same names.
 */
export function clientResponseHeaders(upstream: Headers, replacing?: HeaderList): HeaderList {
  const list: HeaderList = [];
  eachCrossing(upstream, DROPPED_RESPONSE, undefined, (name, value) => list.push([name, value]));
  return replacedBy(list, replacing);
}

/** `list` with the headers `replacing` names taken from `replacing` instead. */
export function replacedBy(list: HeaderList, replacing: HeaderList | undefined): HeaderList {
  if (replacing === undefined) return list;
  const names = new Set(replacing.map(([name]) => name));
  return [...list.filter(([name]) => !names.has(name)), ...replacing];
}

/**
 * A `Response` with `headers` appended one by one after it is made: Deno converts a `headers`
 * init through WebIDL's sequence machinery, which costs several times the appends (measured).
 */
export function responseWith(
  body: BodyInit | null,
  init: { readonly status: number; readonly statusText?: string },
  headers: readonly (readonly [string, string])[],
): Response {
  const response = new Response(body, init);
  const target = response.headers;
  for (const [name, value] of headers) target.append(name, value);
  return response;
}

/** The value of the first `name` header in `list` (`name` in lower case), or null. */
export function listValue(
  list: readonly (readonly [string, string])[],
  name: string,
): string | null {
  for (const [header, value] of list) if (header === name) return value;
  return null;
}
