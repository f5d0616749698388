/**
 * `GET /status`: the status page for people (HTML) and for scripts (`Accept: application/json`,
 * the same `StatusData`). Two ways in: `METRICS_TOKEN` (checked before identify, like
 * `/metrics`), or a client whose scopes allow `GET /status` (after authorize, like `/usage`).
 * Either may come as `Authorization: Bearer …` or HTTP Basic auth with the token as password,
 * which is what a browser can send: a request without credentials is answered 401 with a Basic
 * challenge, so the browser asks for them.
 */
import type { Context, MiddlewareHandler } from "hono";
import { sha256, timingSafeEqual } from "../../digest.ts";
import { githubError } from "../../http/errors.ts";
import { clientTokenOf } from "../../identify/client_token.ts";
import type { StatusData } from "./data.ts";
import { renderStatusPage } from "./page.tsx";

/** Shortest and longest `?refresh=` the page honours, in seconds. */
export const REFRESH_RANGE = { min: 5, max: 3600 } as const;

/** The page's answers are never cached and load nothing: no script, no outside asset. */
const HEADERS = {
  "cache-control": "no-store",
  "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

/** Seconds of `?refresh=N` within `REFRESH_RANGE`; undefined when absent or not a number. */
export function refreshSeconds(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,6}$/.test(value)) return undefined;
  return Math.min(REFRESH_RANGE.max, Math.max(REFRESH_RANGE.min, Number(value)));
}

/** Whether the client asked for JSON rather than the page. */
export function wantsJson(accept: string | undefined): boolean {
  return /\bapplication\/json\b/i.test(accept ?? "");
}

async function answer(c: Context, gather: () => Promise<StatusData>): Promise<Response> {
  const data = await gather();
  if (wantsJson(c.req.header("accept"))) {
    return new Response(JSON.stringify(data), {
      headers: { ...HEADERS, "content-type": "application/json; charset=utf-8" },
    });
  }
  return new Response(renderStatusPage(data, refreshSeconds(c.req.query("refresh"))), {
    headers: { ...HEADERS, "content-type": "text/html; charset=utf-8" },
  });
}

/**
 * Before identify: serves `METRICS_TOKEN`'s holder, challenges a request without credentials,
 * and hands any other token on to identify and authorize (a client scoped to `/status`).
 */
export function statusForOperators(
  gather: () => Promise<StatusData>,
  metricsToken: string | undefined,
): MiddlewareHandler {
  const expected = metricsToken === undefined ? undefined : sha256(metricsToken);
  return async (c, next) => {
    const header = c.req.header("authorization");
    if (header === undefined) {
      return githubError(401, "Requires authentication", {
        "www-authenticate": 'Basic realm="github-proxy status", charset="UTF-8"',
      });
    }
    const token = clientTokenOf(header);
    if (expected && token !== undefined && timingSafeEqual(sha256(token), expected)) {
      return await answer(c, gather);
    }
    await next();
  };
}

/** After authorize: the page for a client whose scopes allow `GET /status`. */
export function statusEndpoint(gather: () => Promise<StatusData>) {
  return (c: Context): Promise<Response> => answer(c, gather);
}
