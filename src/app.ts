/**
 * The gateway as a Hono app: the request path of DESIGN §3, one line per stage, in order. The
 * parts arrive built (`gateway.ts` builds them); this module only composes them.
 */
import { Hono } from "hono";
import type { Config } from "./config.ts";
import type { CredentialPool } from "./credentials/pool.ts";
import type { CacheLayer } from "./cache/layer.ts";
import { githubError } from "./http/errors.ts";
import { forwarder, type UpstreamVariables } from "./forward.ts";
import { rewriteToRunnerTokenCall } from "./endpoints/runner_tokens.ts";
import type { UpstreamFetch } from "./http/upstream.ts";
import { authorize, type AuthorizeVariables } from "./authorize/authorize.ts";
import { authority, identify, type IdentifyVariables } from "./identify/identify.ts";
import type { RegistrySource } from "./registry/store.ts";
import { accessTelemetry } from "./telemetry/access_log.ts";
import { healthz, readyz } from "./endpoints/health.ts";
import { metricsEndpoint } from "./endpoints/metrics.ts";
import { usageEndpoint } from "./endpoints/usage.ts";
import type { Logger } from "./log.ts";
import type { QuotaView } from "./telemetry/prometheus.ts";
import { createRouteMatcher } from "./telemetry/routes.ts";
import type { Telemetry } from "./telemetry/mod.ts";

/** The built parts the app composes. */
export interface AppParts {
  readonly config: Config;
  readonly registry: RegistrySource;
  readonly pool: CredentialPool;
  readonly logger: Logger;
  readonly telemetry: Telemetry;
  /** Current quota per credential and resource, for `/usage`. */
  readonly quotas: () => readonly QuotaView[];
  /** The upstream call: `fetch` with the configured timeout. */
  readonly upstream: UpstreamFetch;
  /** The shared cache for GET/HEAD. */
  readonly cache: CacheLayer;
  /** Readiness beyond the process answering (cache reachable, …); rejects with a worded reason. */
  readonly readiness: () => Promise<void>;
}

/** Everything the stages put in the context, each stage's own `Variables` together. */
export type GatewayEnv = {
  Variables: IdentifyVariables & AuthorizeVariables & UpstreamVariables;
};

/** The gateway's Hono app from its parts. */
export function createApp(parts: AppParts): Hono<GatewayEnv> {
  const { config, registry, pool, logger, telemetry, upstream, cache } = parts;
  const app = new Hono<GatewayEnv>();

  app.onError((error, c) => {
    logger.error("unhandled error", { path: c.req.path, error: String(error) });
    return githubError(500, "Internal error in github-proxy");
  });
  app.notFound(() => githubError(404, "Not Found"));

  app.use("*", authority());
  app.get("/healthz", healthz());
  app.get("/readyz", readyz(registry, parts.readiness));
  app.get("/metrics", metricsEndpoint(telemetry, config.metricsToken));
  app.use("*", accessTelemetry({ sink: telemetry.sink, logger, routeOf: createRouteMatcher() }));
  app.use("*", identify(registry));
  app.post("/register", rewriteToRunnerTokenCall("registration"));
  app.post("/remove", rewriteToRunnerTokenCall("remove"));
  app.use("*", authorize(logger));
  app.get("/usage", usageEndpoint(telemetry, parts.quotas));
  app.all("*", forwarder({ config, pool, logger, upstream, cache }));

  return app;
}
