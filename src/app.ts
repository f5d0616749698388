/**
 * The gateway as a Hono app: the request path of DESIGN §3, one line per stage, in order. The
 * parts arrive built (`gateway.ts` builds them); this module only composes them.
 */
import { Hono } from "hono";
import { admit, type AdmitDeps, type AdmitVariables } from "./admit/admit.ts";
import type { BudgetView } from "./admit/state.ts";
import type { Config } from "./config.ts";
import { authorize, type AuthorizeVariables } from "./authorize/authorize.ts";
import type { GuardedBackend } from "./cache/backends/guard.ts";
import { cacheLayer, type CacheVariables } from "./cache/layer.ts";
import type { Revalidator } from "./cache/revalidate.ts";
import { healthz, type PartReadiness, readyz } from "./endpoints/health.ts";
import { metricsEndpoint } from "./endpoints/metrics.ts";
import { rewriteToRunnerTokenCall } from "./endpoints/runner_tokens.ts";
import { usageEndpoint } from "./endpoints/usage.ts";
import type { StatusData } from "./endpoints/status/data.ts";
import { statusEndpoint, statusForOperators } from "./endpoints/status/endpoint.ts";
import { webhooksEndpoint } from "./endpoints/webhooks.ts";
import { forward } from "./forward.ts";
import { githubError } from "./http/errors.ts";
import type { Transport, UpstreamVariables } from "./http/upstream.ts";
import { authority, identify, type IdentifyVariables } from "./identify/identify.ts";
import type { Logger } from "./log.ts";
import type { RegistrySource } from "./registry/store.ts";
import { accessTelemetry } from "./telemetry/access_log.ts";
import type { Telemetry } from "./telemetry/mod.ts";
import type { QuotaView } from "./telemetry/prometheus.ts";
import { createRouteMatcher } from "./telemetry/routes.ts";
import type { WebhookReceiver } from "./webhooks/receiver.ts";
import type { DeliveryRecord } from "./webhooks/recent.ts";
import type { StaleMarks } from "./webhooks/stale_marks.ts";

/** The built parts the app composes. */
export interface AppParts {
  readonly config: Config;
  readonly registry: RegistrySource;
  /** Every upstream call goes through it: pool credential, revalidation tags, GitHub. */
  readonly transport: Transport;
  readonly logger: Logger;
  readonly telemetry: Telemetry;
  /** Current quota per credential and resource, for `/usage`. */
  readonly quotas: () => readonly QuotaView[];
  /** Clients' budgets now, for `/usage`. */
  readonly budgets: () => readonly BudgetView[];
  /** The admit stage's state and its view of the pool (DESIGN §11). */
  readonly admit: AdmitDeps;
  /** The shared cache for GET/HEAD: its backend and its upstream side. */
  readonly cache: { readonly backend: GuardedBackend; readonly revalidator: Revalidator };
  /** The GitHub account a credential spends from (its owner's name), for the access log. */
  readonly ownerOf?: (credential: string) => string | undefined;
  /** What `/status` shows now, gathered from the live parts. */
  readonly status: () => Promise<StatusData>;
  /** Each part's readiness beyond the process answering (cache, shared state), worded. */
  readonly readiness: () => Promise<Readonly<Record<string, PartReadiness>>>;
  /** `POST /webhooks/github`'s receiver; undefined without `GITHUB_WEBHOOK_SECRET`. */
  readonly webhooks: WebhookReceiver | undefined;
  /** What webhook events made stale, asked by the cache on every fresh read. */
  readonly staleMarks: StaleMarks;
  /** The last webhook deliveries, for `/usage`. */
  readonly deliveries: () => readonly DeliveryRecord[];
  /** The gateway's clock in epoch ms (default `Date.now`). */
  readonly now?: () => number;
}

/** Everything the stages put in the context, each stage's own `Variables` together. */
export type GatewayEnv = {
  Variables:
    & IdentifyVariables
    & AuthorizeVariables
    & AdmitVariables
    & CacheVariables
    & UpstreamVariables;
};

/** The gateway's Hono app from its parts. */
export function createApp(parts: AppParts): Hono<GatewayEnv> {
  const { config, registry, transport, logger, telemetry } = parts;
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
  app.get("/status", statusForOperators(parts.status, config.metricsToken));
  app.post("/webhooks/github", webhooksEndpoint(parts.webhooks));
  app.use(
    "*",
    accessTelemetry({
      sink: telemetry.sink,
      logger,
      routeOf: createRouteMatcher(),
      ownerOf: parts.ownerOf,
    }),
  );
  app.use("*", identify(registry, config, logger));
  app.post("/register", rewriteToRunnerTokenCall("registration"));
  app.post("/remove", rewriteToRunnerTokenCall("remove"));
  app.use("*", authorize(logger));
  app.get("/usage", usageEndpoint(telemetry, parts));
  app.get("/status", statusEndpoint(parts.status));
  app.use("*", admit(parts.admit));
  app.use(
    "*",
    cacheLayer({
      ...parts.cache,
      urls: config,
      rewriteBodies: config.rewriteBodyUrls,
      ttlSeconds: config.cacheTtlSeconds,
      logger,
      staleMarks: parts.staleMarks,
      now: parts.now,
    }),
  );
  app.all(
    "*",
    forward({
      urls: config,
      rewriteBodies: config.rewriteBodyUrls,
      transport,
      logger,
      upstreamTimeoutMs: config.upstreamTimeoutMs,
    }),
  );

  return app;
}
