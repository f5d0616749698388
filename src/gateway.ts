/** Assembles the gateway's parts from a configuration: the one place that wires them together. */
import type { Hono } from "hono";
import type { AdmitDeps } from "./admit/admit.ts";
import { refusalLogger } from "./admit/refusal_log.ts";
import { AdmitState } from "./admit/state.ts";
import { createApp, type GatewayEnv } from "./app.ts";
import type { Config } from "./config.ts";
import { openBackend } from "./cache/backends/mod.ts";
import { withNearCache } from "./cache/backends/near.ts";
import { DEFAULT_GUARD, GuardedBackend, readinessFailure } from "./cache/backends/guard.ts";
import { createPool, type CredentialPool } from "./credentials/pool.ts";
import { Revalidator } from "./cache/revalidate.ts";
import { withRevalidationTags } from "./cache/github_etag.ts";
import { fetchTransport } from "./http/upstream.ts";
import { redactUserinfo } from "./redact.ts";
import { VERSION } from "./version.ts";
import { RegistryStore, type ReloadTiming } from "./registry/store.ts";
import { createLogger, type Logger } from "./log.ts";
import { connectPool, quotaViews } from "./telemetry/pool_telemetry.ts";
import { createTelemetry, type Telemetry } from "./telemetry/mod.ts";

export interface GatewayOptions {
  /** Resolves `{{ env.NAME }}` in the registry; defaults to no variables. */
  readonly env?: (name: string) => string | undefined;
  readonly logger?: Logger;
  /** How long a registry changed in place must stay unchanged before it loads (tests shorten it). */
  readonly registryReload?: Partial<ReloadTiming>;
  /** Clients' budgets and queues (tests shorten the concurrency queue's wait). */
  readonly admitState?: AdmitState;
}

export interface Gateway {
  readonly app: Hono<GatewayEnv>;
  readonly registry: RegistryStore;
  /** The credential pool, for its snapshot and events (metrics). */
  readonly pool: CredentialPool;
  readonly logger: Logger;
  /** The shared ETag cache's upstream side: calls in flight and background writes. */
  readonly cache: Revalidator;
  readonly telemetry: Telemetry;
  /** Releases what the gateway holds (watchers, cache connections). */
  close(): Promise<void>;
}

export async function createGateway(
  config: Config,
  options: GatewayOptions = {},
): Promise<Gateway> {
  const logger = options.logger ?? createLogger(config.logLevel, config.logFormat);
  const registry = await RegistryStore.load(
    config.registryPath,
    options.env ?? (() => undefined),
    options.registryReload,
  );
  const pool = createPool(config.credentials, {
    apiUrl: config.githubApiUrl,
    paddingMs: config.credsTtlPaddingSeconds * 1000,
    tokenCacheMaxSize: config.credsCacheMaxSize,
    logger,
  });
  if (config.credentials.length === 0) {
    logger.warn(
      "no GitHub credential configured: forwarding anonymously (60 requests an hour); set GITHUB_PAT_<NAME> or GITHUB_APP_<NAME>_*",
    );
  }
  logger.info("github-proxy starting", {
    version: VERSION,
    github: config.githubApiUrl,
    cache: redactUserinfo(config.cacheBackendUrl).replace(/^([^:]+:\/\/[^/?#]*).*$/, "$1"),
    telemetry: config.telemetry,
    clients: registry.current.clients.map((client) => client.name),
    credentials: config.credentials.map(({ name, kind }) => ({ name, kind })),
  });
  const opened = await openBackend(config.cacheBackendUrl, config);
  const quotas = () => quotaViews(pool.snapshot());
  const admitState = options.admitState ?? new AdmitState();
  const budgets = () => admitState.budgets(registry.current.clients);
  const telemetry = createTelemetry(config.telemetry, {
    quotas,
    clients: () => registry.current.clients.map((client) => client.name),
    budgets,
    cachedTokens: () => pool.snapshot().tokenCache.items,
    cacheSize: () => opened.stats?.(),
  }, logger);
  const stopPoolTelemetry = connectPool(pool, telemetry.sink, logger);
  // Every call the pool made is charged to its client as the pool counted it (DESIGN §11).
  const stopCharging = pool.observe((event) => {
    if (event.type === "answer") admitState.charge(event.client, event.points);
  });
  const admit: AdmitDeps = {
    state: admitState,
    registry,
    capacity: (resource) => pool.capacity(resource),
    refused: (client, reason) => telemetry.sink.admitRefusal(client, reason),
    log: refusalLogger(logger),
  };
  const backend = new GuardedBackend(withNearCache(opened), {
    ...DEFAULT_GUARD,
    logger,
    onOperation: (event) => telemetry.sink.cacheBackend(event),
  });
  const transport = pool.transport(withRevalidationTags(fetchTransport(config.upstreamTimeoutMs)));
  const cache = new Revalidator({
    backend,
    transport,
    ttlSeconds: config.cacheTtlSeconds,
    upstreamTimeoutMs: config.upstreamTimeoutMs,
  });
  const app = createApp({
    config,
    registry,
    transport,
    logger,
    telemetry,
    quotas,
    budgets,
    admit,
    cache: { backend, revalidator: cache },
    readiness: () =>
      backend.ping().catch((error) => {
        throw new Error(`cache backend ${backend.kind} ${readinessFailure(error)}`);
      }),
  });
  logger.info("cache ready", { backend: backend.kind, ttlSeconds: config.cacheTtlSeconds });
  return {
    app,
    registry,
    pool,
    logger,
    cache,
    telemetry,
    async close() {
      stopPoolTelemetry();
      stopCharging();
      telemetry.close();
      await cache.drain();
      await backend.close();
    },
  };
}
