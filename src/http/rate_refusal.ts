/**
 * The gateway's own rate refusals, worded and shaped as GitHub answers a rate limit (DESIGN §5),
 * because clients classify by status and message: PyGithub raises `RateLimitExceededException`
 * only for a 403 whose message starts "API rate limit exceeded" or ends "Please wait a few
 * minutes before you try again."; Octokit's throttling plugin reads `x-ratelimit-remaining: 0`
 * and `x-ratelimit-reset` (primary) or a "secondary rate" message with `retry-after`.
 */
import { githubError } from "./errors.ts";

/** The status of every rate refusal: GitHub's 403, or 429 for generic HTTP clients. */
export type RateLimitStatus = 403 | 429;

/** One rate refusal: who ran out of what, and when it may try again. */
export interface RateRefusal {
  /** `primary`: a quota spent until its reset; `secondary`: too much too fast, try again later. */
  readonly kind: "primary" | "secondary";
  /** `RATE_LIMIT_STATUS`. */
  readonly status: RateLimitStatus;
  /** What ran out, after "API rate limit exceeded for": `github-proxy client "bot"`. */
  readonly subject: string;
  /** The rate-limit resource: `core`, `search`, `graphql`, … */
  readonly resource: string;
  /** The limit that ran out, as `x-ratelimit-limit`. */
  readonly limit: number;
  /** When a request may succeed again (epoch ms). */
  readonly retryAtMs: number;
  readonly nowMs: number;
  /** The gateway's explanation, in `detail`: never in place of GitHub's words. */
  readonly detail?: string;
}

const LIMITS_DOCS = "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api";
const PRIMARY_DOCS = `${LIMITS_DOCS}#about-primary-rate-limits`;
const SECONDARY_DOCS = `${LIMITS_DOCS}#about-secondary-rate-limits`;
/** GitHub's secondary-limit sentence, verbatim: PyGithub matches its end. */
const SECONDARY_MESSAGE =
  "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.";

/**
 * The refusal as GitHub sends it: `x-ratelimit-limit`, `-remaining: 0`, `-used`, `-reset` (whole
 * seconds, never before the next second) and `-resource`, `retry-after` of at least a second,
 * GitHub's message and `documentation_url`, and the gateway's `detail` beside them.
 */
export function rateRefusal(refusal: RateRefusal): Response {
  const { nowMs } = refusal;
  const retryAtMs = Math.max(refusal.retryAtMs, nowMs + 1000);
  const headers = new Headers({
    "retry-after": String(Math.ceil((retryAtMs - nowMs) / 1000)),
    "x-ratelimit-limit": String(refusal.limit),
    "x-ratelimit-remaining": "0",
    "x-ratelimit-used": String(refusal.limit),
    "x-ratelimit-reset": String(Math.ceil(retryAtMs / 1000)),
    "x-ratelimit-resource": refusal.resource,
  });
  const primary = refusal.kind === "primary";
  return githubError(
    refusal.status,
    primary ? `API rate limit exceeded for ${refusal.subject}.` : SECONDARY_MESSAGE,
    headers,
    primary ? PRIMARY_DOCS : SECONDARY_DOCS,
    refusal.detail,
  );
}
