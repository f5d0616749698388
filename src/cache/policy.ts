/**
 * The cache's decisions as pure functions (DESIGN §7): what a request is keyed by, which
 * requests and responses the cache may touch, how fresh an entry must be, and the
 * `Cache-Status` (RFC 9211) that says what happened.
 */
import { sha256Hex } from "../digest.ts";
import { noneMatchHits } from "./github_etag.ts";

/** The `Accept` the gateway sends when a client sends none (what `fetch` would add anyway). */
export const DEFAULT_ACCEPT = "*/*";
/** Larger bodies are streamed through and never stored. */
export const MAX_STORED_BODY_BYTES = 8 * 1024 * 1024;
export const CACHE_NAME = "github-proxy";

export interface KeyParts {
  /** GitHub base URL, so gateways for different GitHub hosts can share a backend. */
  readonly apiUrl: string;
  readonly path: string;
  /** Raw query, byte for byte: repeated parameters stay distinct and in order. */
  readonly query: string;
  readonly accept: string;
  readonly apiVersion: string | null;
}

/** Keys hashed so far, by their text: a warm resource is hashed once, not on every request. */
const hashedKeys = new Map<string, string>();
/** The memo's bound (the memory backend's default capacity); the oldest half goes when full. */
const HASHED_KEYS = 10_000;

/** Hex SHA-256 of the key's parts: fixed length for every backend, no path in backend keys. */
export function cacheKey(parts: KeyParts): string {
  const text = `GET\n${parts.apiUrl}\n${parts.path}\n${parts.query}\n${parts.accept}\n${
    parts.apiVersion ?? ""
  }`;
  let key = hashedKeys.get(text);
  if (key === undefined) {
    key = sha256Hex(text);
    if (hashedKeys.size >= HASHED_KEYS) {
      let drop = HASHED_KEYS / 2;
      for (const old of hashedKeys.keys()) {
        if (drop-- === 0) break;
        hashedKeys.delete(old);
      }
    }
    hashedKeys.set(text, key);
  }
  return key;
}

/**
 * Why the cache must stay out of a request, or undefined. Headers that change GitHub's answer
 * but are not in the key make a request uncacheable.
 */
export function bypassReason(headers: Headers): string | undefined {
  if (headers.has("cookie")) return "cookie";
  if (headers.has("x-github-otp")) return "x-github-otp";
  if (headers.has("range")) return "range";
  if (directives(headers.get("cache-control")).has("no-store")) return "no-store";
  return undefined;
}

function directives(cacheControl: string | null): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (cacheControl ?? "").split(",")) {
    const [name, value = ""] = part.trim().toLowerCase().split("=", 2);
    if (name) out.set(name, value.replace(/^"|"$/g, ""));
  }
  return out;
}

/**
 * Seconds within which an entry is served without asking GitHub: the request's
 * `Cache-Control: max-age=N` when present, else the client's registry `cache.max_age`; 0 (always
 * revalidate) by default and with `no-cache`.
 */
export function freshnessLimit(cacheControl: string | null, registryMaxAge?: number): number {
  const parsed = directives(cacheControl);
  if (parsed.has("no-cache")) return 0;
  const maxAge = parsed.get("max-age");
  if (maxAge !== undefined && /^\d+$/.test(maxAge)) return Number(maxAge);
  return registryMaxAge ?? 0;
}

/**
 * Only a complete 200 GET answer with a validator, no cookie and no `no-store` may be stored.
 * `private` does not prevent it: GitHub marks every authenticated answer `private, max-age=60`,
 * and sharing those among clients the registry allows is what the cache is for.
 */
export function isStorable(status: number, headers: Headers, bodyBytes: number): boolean {
  return status === 200 &&
    (headers.has("etag") || headers.has("last-modified")) &&
    !headers.has("set-cookie") &&
    !directives(headers.get("cache-control")).has("no-store") &&
    bodyBytes <= MAX_STORED_BODY_BYTES;
}

/** What the cache did for a request: the source of its `Cache-Status` and its metric label. */
export type CacheEvent =
  /** The cache stayed out: the request was forwarded as it came. */
  | { readonly kind: "bypass" }
  | { readonly kind: "hit"; readonly ttlSeconds: number }
  | {
    readonly kind: "forward";
    /** `uri-miss`: no entry; `stale`: an entry was revalidated. */
    readonly reason: "uri-miss" | "stale";
    readonly status: number;
    readonly stored: boolean;
    /** This request waited for another identical request's upstream call. */
    readonly collapsed: boolean;
    /** The backend failed; the request was served without it. */
    readonly backendDown: boolean;
  };

export function cacheStatus(event: CacheEvent): string {
  if (event.kind === "bypass") return `${CACHE_NAME}; fwd=bypass`;
  if (event.kind === "hit") return `${CACHE_NAME}; hit; ttl=${Math.max(0, event.ttlSeconds)}`;
  const parts = [CACHE_NAME, `fwd=${event.reason}`];
  if (event.reason === "stale" || event.status !== 200) parts.push(`fwd-status=${event.status}`);
  if (event.stored) parts.push("stored");
  if (event.collapsed) parts.push("collapsed");
  if (event.backendDown) parts.push("detail=backend-unavailable");
  return parts.join("; ");
}

/**
 * Whether a client already holds the current representation: its `If-None-Match` decides when
 * present, else its `If-Modified-Since` against the entry's `Last-Modified`.
 */
export function clientIsCurrent(
  headers: Headers,
  etag: string,
  lastModified: string | undefined,
): boolean {
  const noneMatch = headers.get("if-none-match");
  if (noneMatch !== null) return noneMatchHits(noneMatch, etag);
  const since = headers.get("if-modified-since");
  if (since === null || lastModified === undefined) return false;
  const sinceMs = Date.parse(since);
  return !Number.isNaN(sinceMs) && sinceMs >= Date.parse(lastModified);
}
