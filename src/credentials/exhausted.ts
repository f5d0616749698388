/**
 * What clients see of the pool: `x-ratelimit-*` headers describing the pool's capacity for a
 * resource, and the GitHub-shaped answers when no credential can serve (DESIGN §5, §8).
 */
import { githubError } from "../http/errors.ts";
import type { PoolTotals } from "./quota.ts";

const RATE_LIMIT_DOCS =
  "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api";

function epochSeconds(ms: number): number {
  return Math.ceil(ms / 1000);
}

/** Sets the pool's totals as GitHub's `x-ratelimit-*` headers. */
export function setPoolRateLimit(headers: Headers, resource: string, totals: PoolTotals): void {
  headers.set("x-ratelimit-limit", String(totals.limit));
  headers.set("x-ratelimit-remaining", String(totals.remaining));
  headers.set("x-ratelimit-used", String(totals.limit - totals.remaining));
  headers.set("x-ratelimit-reset", String(epochSeconds(totals.resetAtMs)));
  headers.set("x-ratelimit-resource", resource);
}

/** The upstream answer with the per-credential rate-limit headers replaced by the pool's. */
export function withPoolRateLimit(
  response: Response,
  resource: string,
  totals: PoolTotals | undefined,
): Response {
  if (totals === undefined || !response.headers.has("x-ratelimit-limit")) return response;
  const headers = new Headers(response.headers);
  setPoolRateLimit(headers, resource, totals);
  return new Response(response.body, {
    status: response.status,
    statusText: response.statusText,
    headers,
  });
}

/** What a pool refusal says: whose limit, on which resource, and when to come back. */
export interface PoolRefusal {
  readonly resource: string;
  /** The pool's capacity for the resource (each owner once). */
  readonly limit: number;
  readonly retryAtMs: number;
  readonly nowMs: number;
  /** GitHub's wording first, so clients raise their own rate-limit errors. */
  readonly message: string;
}

/**
 * The pool's rate refusal (DESIGN §5): 429 with `retry-after` and `x-ratelimit-reset` saying
 * when to come back, `x-ratelimit-remaining: 0`, so Octokit's throttling plugin waits exactly
 * that long. Every refusal of the pool is made here.
 */
export function rateRefusal({ resource, limit, retryAtMs, nowMs, message }: PoolRefusal): Response {
  const headers = new Headers({
    "retry-after": String(Math.max(1, epochSeconds(retryAtMs - nowMs))),
  });
  setPoolRateLimit(headers, resource, {
    limit,
    remaining: 0,
    resetAtMs: Math.max(retryAtMs, nowMs + 1000),
  });
  return githubError(429, message, headers, RATE_LIMIT_DOCS);
}

const after = (atMs: number, nowMs: number) => new Date(Math.max(atMs, nowMs)).toISOString();

/** Every owner is resting for the resource: back when the first one may serve again. */
export function exhaustedResponse(
  resource: string,
  limit: number,
  availableAtMs: number,
  nowMs: number,
): Response {
  return rateRefusal({
    resource,
    limit,
    retryAtMs: availableAtMs,
    nowMs,
    message:
      `API rate limit exceeded for every credential of github-proxy (resource ${resource}); try again after ${
        after(availableAtMs, nowMs)
      }`,
  });
}

/** Every owner that could serve is cooling down after GitHub's secondary limit. */
export function secondaryLimitResponse(
  resource: string,
  limit: number,
  cooldownUntilMs: number,
  nowMs: number,
): Response {
  return rateRefusal({
    resource,
    limit,
    retryAtMs: cooldownUntilMs,
    nowMs,
    message:
      `You have exceeded a secondary rate limit: every GitHub account of github-proxy is cooling down; try again after ${
        after(cooldownUntilMs, nowMs)
      }`,
  });
}

/** The owner's queue is full, or the request waited its longest for a turn. */
export function concurrencyResponse(
  resource: string,
  limit: number,
  retryAfterMs: number,
  nowMs: number,
): Response {
  return rateRefusal({
    resource,
    limit,
    retryAtMs: nowMs + retryAfterMs,
    nowMs,
    message:
      `API rate limit exceeded for github-proxy: too many requests waiting for one GitHub account (resource ${resource}); try again shortly`,
  });
}

/** 503 when no credential is usable for another reason: refused by GitHub, tokens not minted. */
export function noCredentialResponse(retryAtMs: number | undefined, nowMs: number): Response {
  const headers: Record<string, string> = retryAtMs === undefined
    ? {}
    : { "retry-after": String(Math.max(1, epochSeconds(retryAtMs - nowMs))) };
  return githubError(
    503,
    "github-proxy has no usable GitHub credential right now",
    headers,
  );
}
