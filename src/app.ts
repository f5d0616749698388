/**
 * The gateway as a Hono app: identify → authorize → forward, in one pass (DESIGN §3).
 */
import { Hono } from "hono";
import type { Config } from "./config.ts";
import { cacheLayer, type CacheVariables } from "./cache/layer.ts";
import type { GuardedBackend } from "./cache/backends/guard.ts";
import type { Revalidator } from "./cache/revalidate.ts";
import { credentialOf } from "./identify/client_token.ts";
import { githubError } from "./http/errors.ts";
import { forward } from "./forward.ts";
import { runnerTokens } from "./endpoints/runner_tokens.ts";
import {
  authorityProblem,
  normalisePath,
  type RequestTarget,
  splitRawUrl,
} from "./identify/target.ts";
import type { Transport, UpstreamVariables } from "./http/upstream.ts";
import { authorize } from "./authorize/authorize.ts";
import { type Client, identify } from "./registry/parse.ts";
import type { RegistrySource } from "./registry/store.ts";
import { accessTelemetry } from "./telemetry/access_log.ts";
import { metricsEndpoint, usageEndpoint } from "./endpoints/metrics.ts";
import type { Logger } from "./log.ts";
import type { QuotaView } from "./telemetry/prometheus.ts";
import { createRouteMatcher } from "./telemetry/routes.ts";
import type { Telemetry } from "./telemetry/mod.ts";

export interface GatewayDeps {
  readonly config: Config;
  readonly registry: RegistrySource;
  /** Every upstream call goes through it: pool credential, revalidation tags, GitHub. */
  readonly transport: Transport;
  readonly logger: Logger;
  readonly telemetry: Telemetry;
  /** Current quota per credential and resource, for `/usage`. */
  readonly quotas: () => readonly QuotaView[];
  /** The shared cache for GET/HEAD: its backend and its upstream side. */
  readonly cache: { readonly backend: GuardedBackend; readonly revalidator: Revalidator };
  /** Readiness checks beyond the registry (cache reachable, …). */
  readonly readiness: () => Promise<void>;
}

export interface GatewayVariables {
  client: Client;
  target: RequestTarget;
  /** Where the client reached the gateway: origin, mount prefix and `/api/v3` when used. */
  clientBase: string;
  /** The request body when a layer had to read it (GraphQL authorization); sent instead of the stream. */
  requestBody?: Uint8Array<ArrayBuffer>;
}

export type GatewayEnv = { Variables: GatewayVariables & CacheVariables & UpstreamVariables };

export function createGateway(deps: GatewayDeps): Hono<GatewayEnv> {
  const { config, registry, transport, logger, telemetry } = deps;
  const app = new Hono<GatewayEnv>();

  app.onError((error, c) => {
    logger.error("unhandled error", { path: c.req.path, error: String(error) });
    return githubError(500, "Internal error in github-proxy");
  });
  app.notFound(() => githubError(404, "Not Found"));
  // Before any route: a hostile Host would otherwise choose the route (`/metrics`) and the path.
  app.use("*", async (c, next) => {
    const problem = authorityProblem(c.req.raw.url, c.req.header("host"));
    if (problem) return githubError(400, `Malformed request: ${problem}`);
    await next();
  });

  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", async (c) => {
    try {
      await deps.readiness();
      return c.json({ status: "ready", clients: registry.current.clients.length });
    } catch (error) {
      return c.json({ status: "not ready", reason: (error as Error).message }, 503);
    }
  });

  app.get("/metrics", metricsEndpoint(telemetry, config.metricsToken));
  app.use("*", accessTelemetry({ sink: telemetry.sink, logger, routeOf: createRouteMatcher() }));

  app.use("*", async (c, next) => {
    const mount = c.req.routePath.replace(/\/?\*$/, "");
    const raw = splitRawUrl(c.req.raw.url);
    const parsed = normalisePath(raw.path.slice(mount.length) || "/", raw.query);
    if (!parsed.ok) return githubError(400, `Malformed request path: ${parsed.reason}`);
    c.set("target", parsed.target);
    c.set("clientBase", `${raw.origin}${mount}${parsed.target.enterprisePrefix}`);
    const token = credentialOf(c.req.header("authorization"));
    const client = token === undefined ? undefined : identify(registry.current, token);
    if (!client) {
      return githubError(
        401,
        token === undefined
          ? "Requires authentication: send a github-proxy client token"
          : "Bad credentials: unknown github-proxy client token",
      );
    }
    c.set("client", client);
    await next();
  });

  app.post("/register", runnerTokens("registration"));
  app.post("/remove", runnerTokens("remove"));
  app.use("*", authorize(logger));
  app.get("/usage", usageEndpoint(telemetry, deps.quotas));
  app.use(
    "*",
    cacheLayer({ ...deps.cache, urls: config, ttlSeconds: config.cacheTtlSeconds, logger }),
  );
  app.all(
    "*",
    forward({ urls: config, transport, logger, upstreamTimeoutMs: config.upstreamTimeoutMs }),
  );

  return app;
}
