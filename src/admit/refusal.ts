/**
 * Admit's refusals as GitHub answers a rate limit (DESIGN §5, through the shared `rateRefusal`),
 * so Octokit's throttling plugin, PyGithub and go-github wait and retry on their own:
 * `x-ratelimit-*` describe the rule that refused — the client's own budget (limit, 0 left, reset
 * when a point is back) or the pool's reserve. `x-ratelimit-resource` is the request's resource:
 * that is the category those clients stop, and for this client it is empty now.
 */
import { type RateLimitStatus, rateRefusal } from "../http/rate_refusal.ts";
import type { Refusal } from "./state.ts";

/** The client's answer for `refusal` of a request to `resource`. */
export function refusalResponse(
  status: RateLimitStatus,
  client: string,
  resource: string,
  refusal: Refusal,
  nowMs: number,
): Response {
  return rateRefusal({
    kind: "primary",
    status,
    subject: `github-proxy client "${client}"`,
    resource,
    limit: refusal.limit,
    retryAtMs: refusal.retryAtMs,
    nowMs,
    detail: `${refusal.rule}: ${refusal.detail}`,
  });
}
