/**
 * The request target as the gateway understands it: the method, a normalised GitHub path and the
 * raw query. The same normalised path is matched against scopes and sent upstream, so what is
 * authorised is exactly what GitHub receives; what later stages need to know about the target
 * (the upper-cased method, whether it is GraphQL) is worked out here, once.
 */

/** The longest raw path accepted; scope matching is bounded by the same figure. */
export const MAX_PATH_BYTES = 8 * 1024;
const ENTERPRISE_PREFIX = "/api/v3";
const ENTERPRISE_PREFIX_ANY_CASE = /^\/api\/v3(?:\/|$)/i;
/** GitHub Enterprise Server's (and the gateway's) root of the uploads API. */
const UPLOADS_PREFIX = "/api/uploads";
const UPLOADS_PREFIX_ANY_CASE = /^\/api\/uploads(?:\/|$)/i;
const UNRESERVED = /[A-Za-z0-9\-._~]/;
/** GitHub's two names for its GraphQL endpoint, as GitHub spells them. */
export const GRAPHQL_ENDPOINTS: ReadonlySet<string> = new Set(["/graphql", "/api/graphql"]);

/** A normalised path and the raw query: what `normalisePath` makes of the request line. */
export interface NormalisedPath {
  /** Normalised GitHub path, `/api/v3` removed, e.g. `/repos/acme/app/issues`. */
  readonly path: string;
  /** Raw query string without `?`, byte for byte as the client sent it. */
  readonly query: string;
  /** `/api/v3` when the client came through the Enterprise prefix, else "". */
  readonly enterprisePrefix: "" | "/api/v3";
  /**
   * True for `/api/uploads/<path>`: `path` is then `<path>` on GitHub's uploads host, authorised
   * as that REST path (a scope on `/repos/o/r/releases/.*` covers asset uploads).
   */
  readonly upload: boolean;
}

/**
 * How a path names GitHub's GraphQL endpoint (`/graphql` or `/api/graphql`, with or without
 * `/api/v3`): `endpoint` as GitHub spells it; `mis-cased` in another letter case (`/GraphQL`),
 * which is authorised as GraphQL, so no rule is sidestepped by case, but is sent and charged as
 * written; `false` for every other path.
 */
export type GraphqlTarget = "endpoint" | "mis-cased" | false;

/** The request as every stage after identify reads it. */
export interface RequestTarget extends NormalisedPath {
  /**
   * The method upper-cased: scopes match methods case-insensitively, so `get` is authorised,
   * logged and sent upstream as the `GET` it stands for.
   */
  readonly method: string;
  /** Never set for an upload: `/api/uploads/graphql` is a path on the uploads host. */
  readonly graphql: GraphqlTarget;
}

export type TargetResult =
  | { readonly ok: true; readonly target: NormalisedPath }
  | { readonly ok: false; readonly reason: string };

/** The target of a request for `method` to an already normalised path. */
export function requestTarget(method: string, normalised: NormalisedPath): RequestTarget {
  const { path } = normalised;
  const graphql = normalised.upload
    ? false
    : GRAPHQL_ENDPOINTS.has(path)
    ? "endpoint"
    : GRAPHQL_ENDPOINTS.has(path.toLowerCase())
    ? "mis-cased"
    : false;
  return { ...normalised, method: method.toUpperCase(), graphql };
}

/** The scheme Deno.serve gives requests that came over a unix socket (src/serve/listener.ts). */
const UNIX_SCHEME = "http+unix:";

/**
 * `host[:port]` as a client may name the gateway: a DNS name (letters, digits, `-`, `.`, `_`,
 * `~`) or a bracketed IP literal. Nothing that could end the authority early: no userinfo,
 * percent-escapes, `/`, `?`, `#`, backslash or whitespace.
 */
const AUTHORITY = /^(?:[A-Za-z0-9\-._~]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{0,5})?$/;

/** `value` is a plain `host[:port]`, nothing that could end an authority early. */
export function isAuthority(value: string): boolean {
  return AUTHORITY.test(value);
}

/**
 * Why the authority of a request cannot be trusted, or undefined. Deno builds `Request.url` as
 * the scheme, the `Host` header (or an absolute-form target's authority) and the target, so a
 * `Host: h/metrics?` would move `/metrics` into the path and the real target into the query;
 * the path must come from the request target only. An empty or absent `Host` is Deno's own
 * `localhost:<port>`.
 */
export function authorityProblem(url: string, host: string | undefined): string | undefined {
  if (host && !AUTHORITY.test(host)) return "Host header is not a host[:port]";
  const start = url.indexOf("//") + 2;
  const end = url.indexOf("/", start);
  if (end < 0 || !AUTHORITY.test(url.slice(start, end))) {
    return "request authority is not a host[:port]";
  }
  return undefined;
}

/**
 * Splits a raw request URL (as `Request.url` carries it, not re-parsed, so dot segments and
 * escapes are still visible) into origin, path and query. The origin is the one the client
 * used: plain `http:` for a request the listener relayed over its unix socket.
 */
export function splitRawUrl(raw: string): { origin: string; path: string; query: string } {
  const url = raw.startsWith(UNIX_SCHEME) ? `http:${raw.slice(UNIX_SCHEME.length)}` : raw;
  const pathStart = url.indexOf("/", url.indexOf("//") + 2);
  if (pathStart < 0) return { origin: url, path: "/", query: "" };
  const origin = url.slice(0, pathStart);
  const rest = url.slice(pathStart);
  const hash = rest.indexOf("#");
  const withoutHash = hash < 0 ? rest : rest.slice(0, hash);
  const question = withoutHash.indexOf("?");
  return question < 0
    ? { origin, path: withoutHash, query: "" }
    : { origin, path: withoutHash.slice(0, question), query: withoutHash.slice(question + 1) };
}

/**
 * Normalises a raw path: decodes percent-escapes of unreserved characters only, upper-cases the
 * rest, drops one trailing slash (GitHub serves `/x/` as `/x`, so an exact deny rule on `/x`
 * must see `/x`), and rejects what could smuggle a different path past a scope: dot segments,
 * encoded `/` or `\`, empty segments, control characters, over-long paths and a second
 * `/api/v3` prefix in any case. `/api/uploads/` (exactly so, and not under `/api/v3`) marks an
 * upload and is removed like `/api/v3`.
 */
export function normalisePath(rawPath: string, query = ""): TargetResult {
  if (rawPath.length > MAX_PATH_BYTES) return fail("path is longer than 8 KiB");
  if (!rawPath.startsWith("/")) return fail("path must start with /");
  const segments = rawPath.slice(1).split("/");
  const normalised: string[] = [];
  for (let i = 0; i < segments.length; i++) {
    const decoded = decodeSegment(segments[i]);
    if (typeof decoded !== "string") return decoded;
    const last = i === segments.length - 1;
    if (decoded === "") {
      if (last) break;
      return fail("empty path segment");
    }
    if (decoded === "." || decoded === "..") return fail("dot segment in path");
    normalised.push(decoded);
  }
  let path = `/${normalised.join("/")}`;
  let enterprisePrefix: "" | "/api/v3" = "";
  if (path === ENTERPRISE_PREFIX || path.startsWith(`${ENTERPRISE_PREFIX}/`)) {
    enterprisePrefix = ENTERPRISE_PREFIX;
    path = path.slice(ENTERPRISE_PREFIX.length) || "/";
  }
  let upload = false;
  if (enterprisePrefix === "" && path.startsWith(`${UPLOADS_PREFIX}/`)) {
    upload = true;
    path = path.slice(UPLOADS_PREFIX.length);
  }
  if (ENTERPRISE_PREFIX_ANY_CASE.test(path)) return fail("repeated or mis-cased /api/v3 prefix");
  // Uploads have one spelling: a second, mis-cased or `/api/v3`-prefixed one would be sent to
  // the REST host as a path no scope was written for.
  if (UPLOADS_PREFIX_ANY_CASE.test(path)) {
    return fail(
      "uploads are at /api/uploads/<path> only (not repeated, mis-cased or under /api/v3)",
    );
  }
  return { ok: true, target: { path, query, enterprisePrefix, upload } };
}

function fail(reason: string): { ok: false; reason: string } {
  return { ok: false, reason };
}

/** What a segment needs looked at: an escape, a backslash or a control character. */
// deno-lint-ignore no-control-regex
const NEEDS_DECODING = /[%\\\x00-\x1f\x7f]/;

function decodeSegment(segment: string): string | { ok: false; reason: string } {
  // Most segments are plain: one linear test, no character-by-character copy.
  if (!NEEDS_DECODING.test(segment)) return segment;
  let out = "";
  for (let i = 0; i < segment.length; i++) {
    const char = segment[i];
    const code = char.charCodeAt(0);
    if (code < 0x20 || code === 0x7f) return fail("control character in path");
    if (char === "\\") return fail("backslash in path");
    if (char !== "%") {
      out += char;
      continue;
    }
    const hex = segment.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return fail("malformed percent-encoding in path");
    const byte = parseInt(hex, 16);
    if (byte < 0x20 || byte === 0x7f) return fail("control character in path");
    if (byte === 0x2f || byte === 0x5c) return fail("encoded / or \\ in path");
    const decoded = String.fromCharCode(byte);
    out += UNRESERVED.test(decoded) ? decoded : `%${hex.toUpperCase()}`;
    i += 2;
  }
  return out;
}
