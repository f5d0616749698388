/** Assembles the gateway's parts from a configuration: the one place that wires them together. */
import type { Hono } from "hono";
import { createGateway as createApp, type GatewayEnv } from "./app.ts";
import type { Config } from "./config.ts";
import { VERSION } from "./version.ts";
import { createPool } from "./credentials/pool.ts";
import { RegistryStore } from "./registry/store.ts";
import { createLogger, type Logger } from "./telemetry/log.ts";
import { createTelemetry, type Telemetry } from "./telemetry/telemetry.ts";

export interface GatewayOptions {
  /** Resolves `{{ env.NAME }}` in the registry; defaults to no variables. */
  readonly env?: (name: string) => string | undefined;
  readonly logger?: Logger;
}

export interface Gateway {
  readonly app: Hono<GatewayEnv>;
  readonly registry: RegistryStore;
  readonly logger: Logger;
  readonly telemetry: Telemetry;
  /** Releases what the gateway holds (watchers, cache connections). */
  close(): Promise<void>;
}

export async function createGateway(
  config: Config,
  options: GatewayOptions = {},
): Promise<Gateway> {
  const logger = options.logger ?? createLogger(config.logLevel, config.logFormat);
  const registry = await RegistryStore.load(config.registryPath, options.env ?? (() => undefined));
  const pool = createPool(config.credentials);
  if (config.credentials.length === 0) {
    logger.warn(
      "no GitHub credential configured: forwarding anonymously (60 requests an hour); set GITHUB_PAT_<NAME> or GITHUB_APP_<NAME>_*",
    );
  }
  logger.info("github-proxy starting", {
    version: VERSION,
    github: config.githubApiUrl,
    cache: config.cacheBackendUrl.replace(/^([^:]+:\/\/[^/?#]*).*$/, "$1"),
    telemetry: config.telemetry,
    clients: registry.current.clients.map((client) => client.name),
    credentials: config.credentials.map(({ name, kind }) => ({ name, kind })),
  });
  const quotas = () => [];
  const telemetry = createTelemetry(config.telemetry, { quotas }, logger);
  const app = createApp({ config, registry, pool, logger, telemetry, quotas });
  return {
    app,
    registry,
    logger,
    telemetry,
    close: () => Promise.resolve(telemetry.close()),
  };
}
