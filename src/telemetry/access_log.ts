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
  /** The GitHub account (owner name) a credential spends from, once the pool has used it. */
  readonly ownerOf?: (credential: string) => string | undefined;
}

/** Longest user agent the log keeps: enough to tell clients apart, bounded against abuse. */
export const USER_AGENT_MAX = 256;

/**
 * The path as the log shows it: the query's names kept, their values removed (`?page=&q=`),
 * since values can be secrets (`?access_token=…`) or personal data.
 */
export function logPath(path: string, rawQuery: string): string {
  if (rawQuery === "") return path;
  const names = rawQuery.split("&").filter((part) => part !== "").map((part) => {
    const equals = part.indexOf("=");
    return `${equals < 0 ? part : part.slice(0, equals)}=`;
  });
  return names.length === 0 ? path : `${path}?${names.join("&")}`;
}

/** The peer's address from Deno's serve info (`c.env`), when served by `Deno.serve`. */
export function clientAddress(env: unknown): string | undefined {
  const addr = (env as { remoteAddr?: Deno.Addr } | undefined)?.remoteAddr;
  if (addr === undefined) return undefined;
  return addr.transport === "tcp" || addr.transport === "udp" ? addr.hostname : addr.transport;
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

/**
 * Wraps the rest of the chain: after it answered, one access log line with the fields of DESIGN
 * §14, the client-request event and the span's attributes.
 */
export function accessTelemetry(
  { sink, logger, routeOf, ownerOf }: AccessDeps,
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
    const url = c.req.url;
    const queryAt = url.indexOf("?");
    const userAgent = c.req.header("user-agent");
    logger.info("request", {
      client,
      method,
      path: logPath(target?.path ?? c.req.path, queryAt < 0 ? "" : url.slice(queryAt + 1)),
      route,
      status,
      cache,
      credential: upstream?.credential,
      owner: upstream ? ownerOf?.(upstream.credential) : undefined,
      upstream_ms: upstream ? Math.round(upstream.ms * 10) / 10 : undefined,
      // What the request's own upstream call cost: 0 for hits, 304s and shared calls.
      points: upstream?.points ?? 0,
      total_ms: Math.round(seconds * 10_000) / 10,
      github_request_id: c.res.headers.get("x-github-request-id") ?? undefined,
      client_address: clientAddress(c.env),
      user_agent: userAgent?.slice(0, USER_AGENT_MAX),
    });
  };
}
