/**
 * Admit's refusals worded as GitHub words a rate limit (DESIGN §5), so Octokit's throttling
 * plugin, PyGithub and go-github wait and retry on their own: status 403, `Retry-After`, and
 * `x-ratelimit-*` describing the rule that refused — the client's own budget (limit, 0 left,
 * reset when a point is back) or the pool's reserve. `x-ratelimit-resource` is the request's
 * resource: that is the category those clients stop, and for this client it is empty now.
 *
 * The shared rate-refusal builder of `src/http/` (with `RATE_LIMIT_STATUS`) replaces this
 * function's body when both exist; its shape is the same.
 */
import type { Refusal } from "./state.ts";

const RATE_LIMIT_DOCS =
  "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api";

/** The client's answer for `refusal` of a request to `resource`. */
export function refusalResponse(
  client: string,
  resource: string,
  refusal: Refusal,
  nowMs: number,
): Response {
  const retryAfter = Math.max(1, Math.ceil((refusal.retryAtMs - nowMs) / 1000));
  const resetSeconds = Math.ceil(nowMs / 1000) + retryAfter;
  const headers = new Headers({
    "content-type": "application/json; charset=utf-8",
    "retry-after": String(retryAfter),
    "x-ratelimit-limit": String(refusal.limit),
    "x-ratelimit-remaining": "0",
    "x-ratelimit-used": String(refusal.limit),
    "x-ratelimit-reset": String(resetSeconds),
    "x-ratelimit-resource": resource,
  });
  const body = {
    message:
      `API rate limit exceeded for github-proxy client "${client}"; try again in ${retryAfter} s`,
    documentation_url: RATE_LIMIT_DOCS,
    detail: `${refusal.rule}: ${refusal.detail}`,
  };
  return new Response(JSON.stringify(body), { status: 403, headers });
}
