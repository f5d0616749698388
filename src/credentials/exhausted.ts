/**
 * What clients see of the pool: `x-ratelimit-*` headers describing the pool's capacity for a
 * resource, and the GitHub-shaped answers when no credential can serve (DESIGN §5, §8).
 */
import { githubError } from "../http/errors.ts";
import type { HeaderList } from "../http/headers.ts";
import { type RateLimitStatus, rateRefusal } from "../http/rate_refusal.ts";
import type { PoolTotals } from "./quota.ts";

function epochSeconds(ms: number): number {
  return Math.ceil(ms / 1000);
}

/** The pool's totals as GitHub's `x-ratelimit-*` headers. */
function poolRateLimit(resource: string, totals: PoolTotals): HeaderList {
  return [
    ["x-ratelimit-limit", String(totals.limit)],
    ["x-ratelimit-remaining", String(totals.remaining)],
    ["x-ratelimit-used", String(totals.limit - totals.remaining)],
    ["x-ratelimit-reset", String(epochSeconds(totals.resetAtMs))],
    ["x-ratelimit-resource", resource],
  ];
}

/**
 * The pool's totals as the `x-ratelimit-*` headers a client gets in place of those of the
 * credential that answered; undefined when the answer carries none (nothing to replace).
 */
export function poolRateLimitFor(
  response: Response,
  resource: string,
  totals: PoolTotals | undefined,
): HeaderList | undefined {
  if (totals === undefined || !response.headers.has("x-ratelimit-limit")) return undefined;
  return poolRateLimit(resource, totals);
}

const after = (atMs: number, nowMs: number) => new Date(Math.max(atMs, nowMs)).toISOString();

/**
 * Every owner is resting for the resource, answered as GitHub answers a rate limit:
 * `retry-after` and `x-ratelimit-reset` say when the first one may serve again,
 * `x-ratelimit-remaining: 0`, so Octokit's throttling plugin waits exactly that long and
 * PyGithub raises its `RateLimitExceededException`.
 */
export function exhaustedResponse(
  status: RateLimitStatus,
  resource: string,
  limit: number,
  availableAtMs: number,
  nowMs: number,
): Response {
  return rateRefusal({
    kind: "primary",
    status,
    subject: `every credential of github-proxy (resource ${resource})`,
    resource,
    limit,
    retryAtMs: availableAtMs,
    nowMs,
    detail: `the first credential serves ${resource} again at ${after(availableAtMs, nowMs)}`,
  });
}

/**
 * GitHub's secondary-limit refusal for what the pool itself holds back: every owner that could
 * serve is cooling down, or the owner's queue is full. `detail` says which.
 */
export function secondaryLimitResponse(
  status: RateLimitStatus,
  resource: string,
  limit: number,
  retryAtMs: number,
  nowMs: number,
  detail: string,
): Response {
  return rateRefusal({
    kind: "secondary",
    status,
    subject: "github-proxy",
    resource,
    limit,
    retryAtMs,
    nowMs,
    detail,
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
