/**
 * The client's base (DESIGN §5): the address every URL the gateway writes for a client starts
 * with — `Link`, `Location` and URLs inside JSON bodies. `PUBLIC_URL` when it is set; else, only
 * with `TRUST_PROXY_HEADERS=true`, the scheme, host and prefix a reverse proxy reports in
 * `Forwarded` (RFC 7239) or `X-Forwarded-Proto`/`-Host`/`-Prefix`; else the request's own origin.
 * Then the mount prefix, and `/api/v3` for a client that came that way. Untrusted, those headers
 * change nothing: one client must not be able to point the links another client gets elsewhere.
 */
import { isAuthority } from "./target.ts";

/** How the gateway knows its own address (`PUBLIC_URL`, `TRUST_PROXY_HEADERS`). */
export interface BaseSettings {
  /** `PUBLIC_URL` as configured: origin and optional path prefix, no trailing slash. */
  readonly publicUrl?: string;
  readonly trustProxyHeaders: boolean;
}

/** What the base is worked out from for one request. */
export interface BaseRequest {
  /** The request's own origin, `http://host:port` (see `splitRawUrl`). */
  readonly origin: string;
  readonly headers: Headers;
  /** Where the gateway is mounted in an embedding app (`/github`), or "". */
  readonly mount: string;
  /** `/api/v3` when the client came through the Enterprise prefix, or "". */
  readonly enterprisePrefix: "" | "/api/v3";
}

/** A proxy header value that was ignored because it is malformed; a fixed set, for the log. */
export type RejectedHeader =
  | "Forwarded"
  | "Forwarded proto"
  | "Forwarded host"
  | "X-Forwarded-Proto"
  | "X-Forwarded-Host"
  | "X-Forwarded-Prefix";

export interface ClientBase {
  /** Where the client's REST calls go: `https://gw.example/github/api/v3`. */
  readonly api: string;
  /** Where its release-asset uploads go, never under `/api/v3`: `https://gw.example/github/api/uploads`. */
  readonly uploads: string;
  /** Proxy header values ignored as malformed (trusted headers only). */
  readonly rejected: readonly RejectedHeader[];
}

/** The upload route's path below the client's root (GHES's layout, DESIGN §5). */
export const UPLOADS_PREFIX = "/api/uploads";

/** A prefix a proxy may report: path characters only, starting with `/`. */
const PREFIX = /^\/[A-Za-z0-9\-._~%!$&'()*+,;=:@/]*$/;

const NAME = /[!#$%&'*+\-.^_`|~0-9A-Za-z]+/y;
/** RFC 7239's token, plus `:` and brackets, which proxies write unquoted in `host=h:port`. */
const VALUE = /[!#$%&'*+\-.^_`|~0-9A-Za-z:[\]]*/y;

/** The client's base for `request` under `settings`. */
export function clientBase(request: BaseRequest, settings: BaseSettings): ClientBase {
  const rejected: RejectedHeader[] = [];
  const root = settings.publicUrl ??
    (settings.trustProxyHeaders
      ? forwardedRoot(request.origin, request.headers, rejected)
      : request.origin);
  const mounted = root + request.mount;
  return {
    api: mounted + request.enterprisePrefix,
    uploads: mounted + UPLOADS_PREFIX,
    rejected,
  };
}

/**
 * Scheme, host and prefix from the trusted proxy headers, each from the first of `Forwarded`,
 * `X-Forwarded-*` and the request that gives a well-formed value.
 */
function forwardedRoot(origin: string, headers: Headers, rejected: RejectedHeader[]): string {
  const own = origin.indexOf("://");
  let proto = origin.slice(0, own);
  let host = origin.slice(own + 3);
  let prefix = "";
  const forwarded = headers.get("forwarded");
  const element = forwarded === null ? undefined : firstForwardedElement(forwarded);
  if (element === null) rejected.push("Forwarded");
  const fromForwarded = {
    proto: valid(element?.get("proto"), isProto, "Forwarded proto", rejected),
    host: valid(element?.get("host"), isAuthority, "Forwarded host", rejected),
  };
  const xProto = valid(first(headers, "x-forwarded-proto"), isProto, "X-Forwarded-Proto", rejected);
  const xHost = valid(
    first(headers, "x-forwarded-host"),
    isAuthority,
    "X-Forwarded-Host",
    rejected,
  );
  const xPrefix = valid(
    first(headers, "x-forwarded-prefix"),
    isPrefix,
    "X-Forwarded-Prefix",
    rejected,
  );
  proto = (fromForwarded.proto ?? xProto ?? proto).toLowerCase();
  host = fromForwarded.host ?? xHost ?? host;
  if (xPrefix !== undefined) prefix = xPrefix.replace(/\/+$/, "");
  return `${proto}://${host}${prefix}`;
}

/** `value` when it passes `check`; a malformed one is recorded under `kind` and dropped. */
function valid(
  value: string | undefined,
  check: (value: string) => boolean,
  kind: RejectedHeader,
  rejected: RejectedHeader[],
): string | undefined {
  if (value === undefined) return undefined;
  if (check(value)) return value;
  rejected.push(kind);
  return undefined;
}

function isProto(value: string): boolean {
  return /^https?$/i.test(value);
}

function isPrefix(value: string): boolean {
  return PREFIX.test(value) && !value.includes("..") && !value.startsWith("//");
}

/** The first entry of a comma-separated `X-Forwarded-*` list (the proxy nearest the client). */
function first(headers: Headers, name: string): string | undefined {
  const value = headers.get(name);
  if (value === null) return undefined;
  const comma = value.indexOf(",");
  return (comma < 0 ? value : value.slice(0, comma)).trim();
}

/**
 * The parameters of the first element of an RFC 7239 `Forwarded` value (the proxy nearest the
 * client), names lower-cased, quoted values unescaped; null when it does not parse.
 */
export function firstForwardedElement(value: string): Map<string, string> | null {
  const pairs = new Map<string, string>();
  let i = 0;
  const skipSpace = () => {
    while (value[i] === " " || value[i] === "\t") i++;
  };
  while (true) {
    skipSpace();
    if (i >= value.length || value[i] === ",") return pairs;
    if (value[i] === ";") {
      i++;
      continue;
    }
    NAME.lastIndex = i;
    const name = NAME.exec(value)?.[0];
    if (name === undefined || value[i + name.length] !== "=") return null;
    i += name.length + 1;
    let parameter = "";
    if (value[i] === '"') {
      i++;
      while (i < value.length && value[i] !== '"') {
        if (value[i] === "\\") i++;
        if (i < value.length) parameter += value[i++];
      }
      if (value[i] !== '"') return null;
      i++;
    } else {
      VALUE.lastIndex = i;
      parameter = VALUE.exec(value)?.[0] ?? "";
      i += parameter.length;
    }
    pairs.set(name.toLowerCase(), parameter);
    skipSpace();
    if (i < value.length && value[i] !== ";" && value[i] !== ",") return null;
  }
}
