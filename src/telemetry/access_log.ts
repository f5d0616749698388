/**
 * Per-request telemetry: one access log line, the client-request metrics and the attributes
 * of Deno's OpenTelemetry span for the request.
 */
import { trace } from "@opentelemetry/api";
import type { MiddlewareHandler } from "hono";
import type { IdentifyVariables } from "../identify/identify.ts";
import type { CacheVariables } from "../cache/layer.ts";
import type { CacheEvent } from "../cache/policy.ts";
import { inferResource } from "../credentials/resource.ts";
import { methodLabel } from "../http/method.ts";
import type { UpstreamVariables } from "../http/upstream.ts";
import type { CacheResult, TelemetrySink } from "./events.ts";
import type { Logger } from "../log.ts";

/** Label for requests that never reached a known client. */
export const UNAUTHENTICATED = "unauthenticated";

export interface AccessDeps {
  readonly sink: TelemetrySink;
  readonly logger: Logger;
  readonly routeOf: (path: string) => string;
}

/**
 * Runs before every stage, so what they set may be absent: a request refused before identify
 * has no client, one the cache did not answer no cache event, one GitHub did not answer no
 * upstream call.
 */
type AccessEnv = {
  Variables: Partial<IdentifyVariables & CacheVariables & UpstreamVariables>;
};

/** The metric label of the cache's part: `bypass` when it did not answer. */
export function cacheResult(event: CacheEvent | undefined): CacheResult {
  if (event === undefined || event.kind === "bypass") return "bypass";
  if (event.kind === "hit") return "hit";
  if (event.collapsed) return "coalesced";
  return event.status === 304 ? "revalidated" : "miss";
}

export function accessTelemetry(
  { sink, logger, routeOf }: AccessDeps,
): MiddlewareHandler<AccessEnv> {
  return async (c, next) => {
    const started = performance.now();
    await next();
    const seconds = (performance.now() - started) / 1000;
    const client = c.get("client")?.name ?? UNAUTHENTICATED;
    const target = c.get("target");
    const route = target ? routeOf(target.path) : "invalid";
    const status = c.res.status;
    const cache = cacheResult(c.get("cacheEvent"));
    const method = methodLabel(c.req.method);
    sink.clientRequest({ client, method, route, status, cache, seconds });
    if (cache === "hit" || cache === "revalidated" || cache === "coalesced") {
      sink.pointsSaved(client, target ? inferResource(target) : "core", 1);
    }
    if (cache === "coalesced") sink.coalescedWaiter();
    const span = trace.getActiveSpan();
    if (span) {
      span.setAttribute("github_proxy.client", client);
      span.setAttribute("http.route", route);
      span.updateName(`${method} ${route}`);
    }
    const upstream = c.get("upstream");
    logger.info("request", {
      client,
      method,
      route,
      status,
      cache,
      credential: upstream?.credential,
      upstream_ms: upstream ? Math.round(upstream.ms * 10) / 10 : undefined,
      // What the request's own upstream call cost: 0 for hits, 304s and shared calls.
      points: upstream?.points ?? 0,
      total_ms: Math.round(seconds * 10_000) / 10,
      github_request_id: c.res.headers.get("x-github-request-id") ?? undefined,
    });
  };
}
