/** Assembles the gateway's parts from a configuration: the one place that wires them together. */
import type { Hono } from "hono";
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
import { connectPool, ownerCooldowns, quotaViews } from "./telemetry/pool_telemetry.ts";
import { createTelemetry, type Telemetry } from "./telemetry/mod.ts";

export interface GatewayOptions {
  /** Resolves `{{ env.NAME }}` in the registry; defaults to no variables. */
  readonly env?: (name: string) => string | undefined;
  readonly logger?: Logger;
  /** How long a registry changed in place must stay unchanged before it loads (tests shorten it). */
  readonly registryReload?: Partial<ReloadTiming>;
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
    concurrency: config.upstreamConcurrency,
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
  const telemetry = createTelemetry(config.telemetry, {
    quotas,
    cooldowns: () => ownerCooldowns(pool.snapshot()),
    cachedTokens: () => pool.snapshot().tokenCache.items,
    cacheSize: () => opened.stats?.(),
  }, logger);
  const stopPoolTelemetry = connectPool(pool, telemetry.sink, logger);
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
      telemetry.close();
      await cache.drain();
      await backend.close();
    },
  };
}
