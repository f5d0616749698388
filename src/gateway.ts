/** Assembles the gateway's parts from a configuration: the one place that wires them together. */
import type { Hono } from "hono";
import { type AdmitDeps, admitRequest } from "./admit/admit.ts";
import { refusalLogger } from "./admit/refusal_log.ts";
import { AdmitState } from "./admit/state.ts";
import { createApp, type GatewayEnv } from "./app.ts";
import { type Config, credentialDirectories } from "./config.ts";
import { loadCredentials } from "./credentials/credential_files.ts";
import { narrowingProblems } from "./credentials/narrowing_check.ts";
import { openBackend } from "./cache/backends/mod.ts";
import { withNearCache } from "./cache/backends/near.ts";
import { DEFAULT_GUARD, GuardedBackend, readinessFailure } from "./cache/backends/guard.ts";
import { createPool } from "./credentials/pool.ts";
import type { PoolObserver, PoolSnapshot } from "./credentials/events.ts";
import { Revalidator } from "./cache/revalidate.ts";
import { withRevalidationTags } from "./cache/github_etag.ts";
import { fetchTransport, type Transport } from "./http/upstream.ts";
import { redactUserinfo } from "./redact.ts";
import { VERSION } from "./version.ts";
import { type RegistrySource, RegistryStore, type ReloadTiming } from "./registry/store.ts";
import { openSharedState, type SharedState, type StateHealth } from "./state/mod.ts";
import { createLogger, type Logger } from "./log.ts";
import {
  connectPool,
  ownerCooldowns,
  poolCapacity,
  quotaViews,
} from "./telemetry/pool_telemetry.ts";
import { createTelemetry } from "./telemetry/mod.ts";
import { buildStatusData, type SharedStateStatus } from "./endpoints/status/data.ts";
import { WEBHOOKS_CLIENT } from "./registry/parse.ts";
import { type DeliveryLog, LocalDeliveryLog } from "./webhooks/deliveries.ts";
import { Dispatcher } from "./webhooks/dispatcher.ts";
import { type WebhookCounters, WebhookReceiver } from "./webhooks/receiver.ts";
import { DispatchTally } from "./webhooks/dispatch_tally.ts";
import { SignatureVerifier } from "./webhooks/signature.ts";
import { LocalStaleMarks, type StaleMarks } from "./webhooks/stale_marks.ts";

/** What `createGateway` takes besides the configuration. */
export interface GatewayOptions {
  /** Resolves `{{ env.NAME }}` in the registry; defaults to no variables. */
  readonly env?: (name: string) => string | undefined;
  /** Where the gateway logs; defaults to stderr at the configured `LOG_LEVEL` and `LOG_FORMAT`. */
  readonly logger?: Logger;
  /** How long a registry changed in place must stay unchanged before it loads (tests shorten it). */
  readonly registryReload?: Partial<ReloadTiming>;
  /** The credential pool's clock in epoch milliseconds (default `Date.now`; tests inject one). */
  readonly now?: () => number;
  /** Longest wait in a client's `limits.concurrency` queue, in ms (default 2 s; tests shorten it). */
  readonly admitQueueWaitMs?: number;
  /** The webhook receiver's replaceable parts and its hook for installation changes. */
  readonly webhooks?: WebhookOptions;
}

/**
 * What the webhook receiver (DESIGN §12) reports beyond the gateway. Its delivery log and stale
 * marks are this process's memory, or the replicas' shared state (§13) that `CACHE_BACKEND_URL`
 * chooses.
 */
export interface WebhookOptions {
  /**
   * Called after an `installation*` event, once the pool has listed the App's installations
   * again (which the gateway does itself); the delivery's rules wait for it.
   */
  readonly onInstallationsChanged?: () => void | Promise<void>;
  /** The first wait before a dispatch is retried, in ms (default 1 s; tests shorten it). */
  readonly retryDelayMs?: number;
}

/**
 * The gateway's Hono app. Its context type is the stages' own (`GatewayEnv` in `app.ts`), which
 * embedders never name; marked internal because `deno doc --lint` counts a type from an npm
 * package (`Hono`) as private (denoland/deno#27364).
 *
 * @internal
 */
type GatewayApp = Hono<GatewayEnv>;

/** The client registry as an embedder drives it: reload on demand, or watch the file. */
export interface RegistryControl {
  /**
   * Re-reads the registry file now, as `SIGHUP` does; resolves to whether a new registry was
   * loaded. An invalid file keeps the current registry (and is logged).
   */
  reload(logger: Logger, signal?: AbortSignal): Promise<boolean>;
  /** Reloads on `SIGHUP` and whenever the file changes, until `signal` aborts. */
  watch(logger: Logger, signal: AbortSignal): void;
}

/** The pool's credentials as an operator reloads them (`SIGHUP`). */
export interface CredentialControl {
  /**
   * Re-reads the credential files (and the environment's credential variables as the process
   * started with them) into the pool: new ones join, removed ones leave after their calls in
   * flight, a PAT marked bad is tried again. A bad new set keeps the old one (logged); resolves
   * to whether the new set was taken.
   */
  reload(logger: Logger): Promise<boolean>;
  /** Reloads on `SIGHUP` until `signal` aborts. */
  watch(logger: Logger, signal: AbortSignal): void;
}

/** The credential pool as observers see it: never its credentials' secrets. */
export interface PoolView {
  /** Every credential's standing now, per rate-limit resource, read-only. */
  snapshot(): PoolSnapshot;
  /** Calls `observer` for every pool event until the returned function is called. */
  observe(observer: PoolObserver): () => void;
  /**
   * Lists the Apps' installations again now; what the `installation` and
   * `installation_repositories` webhooks call. Resolves when the pool follows the new list.
   */
  refreshInstallations(): Promise<void>;
  /** The discovered installations the pool routes to: credential, account, selection. */
  installations(): readonly {
    readonly credential: string;
    readonly app: string;
    readonly id: string;
    readonly account: string;
    readonly repositorySelection: string;
  }[];
}

/** What the shared cache is doing, for tests and diagnostics. */
export interface CacheActivity {
  /** Upstream calls the cache has in flight (identical concurrent requests share one). */
  readonly inflight: number;
  /** Callers waiting on those calls. */
  readonly waiting: number;
  /** Backend calls that failed or timed out and were served around. */
  readonly backendFailures: number;
  /** Resolves when every backend write made behind an answer has finished. */
  drain(): Promise<void>;
}

/** What admission is doing, for tests and diagnostics. */
export interface AdmissionActivity {
  /** Requests waiting for a place among their client's requests in flight (`concurrency`). */
  readonly waiting: number;
}

/** The webhook receiver's work, for tests and diagnostics. */
export interface WebhookActivity {
  /** Resolves when every delivery taken so far is worked and its dispatches are done. */
  settled(): Promise<void>;
}

/** A running gateway: its app, its live parts, and how to release them. */
export interface Gateway {
  /**
   * The gateway as a Hono app: serve `app.fetch` (`Deno.serve(gateway.app.fetch)`), or mount it
   * in another Hono app (`parent.route("/github", gateway.app)`).
   */
  readonly app: GatewayApp;
  /** The client registry the app authorises against. */
  readonly registry: RegistryControl;
  /** The pool's credentials: reload them from their files. */
  readonly credentials: CredentialControl;
  /** The credential pool, for its snapshot and events. */
  readonly pool: PoolView;
  /** The logger the gateway writes to: the one passed in, or the one made from the config. */
  readonly logger: Logger;
  /** The shared ETag cache's upstream side: calls in flight and backend failures. */
  readonly cache: CacheActivity;
  /** Requests queued by their client's `concurrency`. */
  readonly admission: AdmissionActivity;
  /** Webhook deliveries being worked (none without `GITHUB_WEBHOOK_SECRET`). */
  readonly webhooks: WebhookActivity;
  /** Releases what the gateway holds (watchers, telemetry timers, cache connections). */
  close(): Promise<void>;
}

/**
 * Builds a gateway from a parsed configuration: loads the client registry, opens the cache
 * backend, creates the credential pool and telemetry, and composes the Hono app. Throws
 * `RegistryError` for an invalid registry file and `ConfigError` for a cache backend URL it
 * cannot open.
 *
 * @example Mount the gateway under `/github` in another Hono app
 * ```ts ignore
 * import { Hono } from "hono";
 * import { createGateway, parseConfig } from "@github-proxy/github-proxy";
 *
 * const gateway = await createGateway(parseConfig(Deno.env.toObject()), {
 *   env: (name) => Deno.env.get(name), // resolves the registry's {{ env.NAME }}
 * });
 * const app = new Hono();
 * app.route("/github", gateway.app);
 * Deno.serve(app.fetch);
 * ```
 */
export async function createGateway(
  config: Config,
  options: GatewayOptions = {},
): Promise<Gateway> {
  const logger = options.logger ?? createLogger(config.logLevel, config.logFormat);
  // Opened before the pool so a replica's first request already sees what the others learnt.
  const shared = await openSharedState(config.cacheBackendUrl, config, {
    logger,
    readTimeoutMs: DEFAULT_GUARD.readTimeoutMs,
    writeTimeoutMs: DEFAULT_GUARD.writeTimeoutMs,
    upstreamTimeoutMs: config.upstreamTimeoutMs,
    cacheTtlMs: config.cacheTtlSeconds * 1000,
    now: options.now,
  });
  const pool = createPool(config.credentials, {
    shared: shared.pool,
    apiUrl: config.githubApiUrl,
    paddingMs: config.credsTtlPaddingSeconds * 1000,
    tokenCacheMaxSize: config.credsCacheMaxSize,
    rateLimitStatus: config.rateLimitStatus,
    concurrency: config.upstreamConcurrency,
    logger,
    now: options.now,
  });
  // Before the registry: a github_token narrowing is checked against what the installations
  // may grant, and the start-up summary names them.
  await pool.refreshInstallations();
  // The credentials reload in progress, if any. One SIGHUP reloads both; the registry waits for
  // the credentials, so that a client's github_token is checked against the pool that signal
  // brought (an App it needs may join in the same reload, its installations listed only then).
  let credentialsReload: Promise<unknown> = Promise.resolve();
  const registry = await RegistryStore.load(
    config.registryPath,
    options.env ?? (() => undefined),
    options.registryReload,
    (loaded) => narrowingProblems(loaded, pool.credentialSources()),
    () => credentialsReload,
  );
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
    installations: pool.installations().map(({ credential, account, repositorySelection }) => ({
      credential,
      account,
      repositorySelection,
    })),
    narrowedClients: registry.current.clients.filter((client) => client.githubToken).map((
      client,
    ) => ({ client: client.name, ...client.githubToken })),
  });
  const narrowedMints = new Map<string, number>();
  const stopCountingMints = pool.observe((event) => {
    if (event.type !== "mint" || !event.narrowed) return;
    const key = `${event.credential}\n${event.outcome}`;
    narrowedMints.set(key, (narrowedMints.get(key) ?? 0) + 1);
  });
  const opened = await openBackend(config.cacheBackendUrl, config);
  const quotas = () => quotaViews(pool.snapshot());
  const admitState = new AdmitState({
    queueWaitMs: options.admitQueueWaitMs,
    ledger: shared.budgets,
    now: options.now,
  });
  // The built-in `webhooks` client has a budget like the others once webhooks are on.
  const budgetedClients = () =>
    config.webhookSecrets.length > 0
      ? [...registry.current.clients, registry.current.webhooks.client]
      : registry.current.clients;
  const budgets = () => admitState.budgets(budgetedClients());
  const telemetry = createTelemetry(config.telemetry, {
    quotas,
    cooldowns: () => ownerCooldowns(pool.snapshot()),
    clients: () => [
      ...registry.current.clients.map((client) => client.name),
      ...(config.webhookSecrets.length > 0 ? [WEBHOOKS_CLIENT] : []),
    ],
    credentials: () =>
      pool.snapshot().credentials.map(({ name, bad }) => ({ credential: name, bad })),
    capacity: () => poolCapacity(pool, quotas()),
    reserve: () => registry.current.reserve,
    webhookRules: () => registry.current.webhooks.rules.map((rule) => rule.label),
    budgets,
    cachedTokens: () => pool.snapshot().tokenCache.items,
    installations: () => pool.installations(),
    narrowedMints: () =>
      [...narrowedMints].map(([key, count]) => {
        const [credential, outcome] = key.split("\n");
        return { credential, outcome, count };
      }),
    cacheSize: () => opened.stats?.(),
    cacheBackendUp: () => backend.healthy,
    sharedState: () => shared.health(),
  }, logger);
  const stopPoolTelemetry = connectPool(pool, telemetry.sink, logger);
  // Every call the pool made is charged to its client as the pool counted it (DESIGN §11).
  // The access log names the account a credential spent from (one entry per credential).
  const owners = new Map<string, string>();
  const stopCharging = pool.observe((event) => {
    if (event.type !== "answer") return;
    admitState.charge(event.client, event.points);
    owners.set(event.credential, event.owner);
  });
  const admit: AdmitDeps = {
    state: admitState,
    registry,
    status: config.rateLimitStatus,
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
    now: options.now,
    fills: shared.fills,
  });
  const staleMarks = shared.staleMarks ??
    new LocalStaleMarks({ ttlMs: config.cacheTtlSeconds * 1000, now: options.now });
  const webhooks = await webhookReceiver(config, options, {
    registry,
    transport,
    admit,
    staleMarks,
    deliveries: shared.deliveries,
    logger,
    counters: telemetry.sink,
    refreshInstallations: () => pool.refreshInstallations(),
  });
  for (const warning of registry.current.warnings) {
    logger.warn("client registry warning", { warning });
  }
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
    ownerOf: (credential) => owners.get(credential),
    status: async () =>
      buildStatusData({
        nowMs: (options.now ?? Date.now)(),
        version: VERSION,
        pool: pool.snapshot(),
        clients: budgetedClients(),
        usage: telemetry.usage.clients(),
        budgets: budgets(),
        cache: {
          backend: backend.kind,
          problem: await backend.ping().then(() => undefined, readinessFailure),
          failures: backend.failures,
          size: opened.stats?.(),
        },
        history: telemetry.history.minutes(),
        installations: pool.appInstallations(),
        webhooks: webhooks &&
          { deliveries: webhooks.receiver.recent(), outcomes: webhooks.dispatches.counts() },
        sharedState: await sharedStateStatus(shared, (options.now ?? Date.now)()),
      }),
    webhooks: webhooks?.receiver,
    staleMarks,
    deliveries: () => webhooks?.receiver.recent() ?? [],
    now: options.now,
    readiness: async () => ({
      cache: {
        backend: backend.kind,
        status: await backend.ping().then(() => "ok" as const, readinessFailure),
      },
      // A ping of its own, so the report is as of now and not of the last background call.
      shared_state: stateReadiness(
        await shared.store.read((store) => store.ping()).then(() => shared.health()),
      ),
    }),
  });
  logger.info("cache ready", {
    backend: backend.kind,
    ttlSeconds: config.cacheTtlSeconds,
    sharedState: shared.health().kind,
  });
  const reloadCredentials = async (log: Logger): Promise<boolean> => {
    const loaded = loadCredentials(config.credentialVariables, credentialDirectories(config));
    if (loaded.problems.length > 0) {
      log.error("credentials reload failed; keeping the previous ones", {
        problems: loaded.problems,
      });
      return false;
    }
    await pool.replace(loaded.credentials);
    log.info("credentials reloaded", {
      credentials: loaded.credentials.map(({ name, kind }) => ({ name, kind })),
      installations: pool.installations().map(({ credential }) => credential),
    });
    return true;
  };
  const credentials: CredentialControl = {
    reload(log) {
      const reload = reloadCredentials(log);
      credentialsReload = reload.catch(() => {});
      return reload;
    },
    watch(log, signal) {
      const onHangup = () => void credentials.reload(log);
      Deno.addSignalListener("SIGHUP", onHangup);
      signal.addEventListener("abort", () => Deno.removeSignalListener("SIGHUP", onHangup));
    },
  };
  return {
    app,
    registry,
    credentials,
    pool,
    logger,
    cache,
    admission: admitState,
    webhooks: { settled: async () => await webhooks?.receiver.settled() },
    async close() {
      stopCountingMints();
      await webhooks?.receiver.close();
      stopPoolTelemetry();
      stopCharging();
      telemetry.close();
      await cache.drain();
      await shared.close();
      await backend.close();
    },
  };
}

/** What the receiver is built from besides the configuration. */
interface ReceiverParts {
  readonly registry: RegistrySource;
  readonly transport: Transport;
  readonly admit: AdmitDeps;
  readonly staleMarks: StaleMarks;
  /** Shared by the replicas, when they share state. */
  readonly deliveries: DeliveryLog | undefined;
  readonly logger: Logger;
  readonly counters: WebhookCounters;
  /** Lists the Apps' installations again (the pool's). */
  readonly refreshInstallations: () => Promise<void>;
}

/** The webhook receiver and its dispatches by outcome, for `/status`. */
interface WebhookParts {
  readonly receiver: WebhookReceiver;
  readonly dispatches: DispatchTally;
}

/** The webhook receiver, or undefined when no `GITHUB_WEBHOOK_SECRET` is set. */
async function webhookReceiver(
  config: Config,
  options: GatewayOptions,
  parts: ReceiverParts,
): Promise<WebhookParts | undefined> {
  if (config.webhookSecrets.length === 0) return undefined;
  const { registry, logger } = parts;
  const counters = new DispatchTally(parts.counters);
  const dispatcher = new Dispatcher({
    transport: parts.transport,
    apiUrl: config.githubApiUrl,
    client: () => registry.current.webhooks.client,
    admit: (client, target, signal) => admitRequest(parts.admit, client, target, () => signal),
    logger,
    counted: (rule, outcome) => counters.dispatch(rule, outcome),
    retryDelayMs: options.webhooks?.retryDelayMs,
  });
  const receiver = new WebhookReceiver({
    verifier: await SignatureVerifier.of(config.webhookSecrets),
    deliveries: parts.deliveries ??
      new LocalDeliveryLog({ now: options.now }),
    staleMarks: parts.staleMarks,
    dispatcher,
    rules: () => registry.current.webhooks.rules,
    counters,
    logger,
    now: options.now,
    onInstallationsChanged: async () => {
      // The pool coalesces: a burst of installation events costs one listing after the current.
      await parts.refreshInstallations().catch((error) =>
        logger.error("GitHub App installations could not be refreshed after a webhook", {
          error: String(error),
        })
      );
      await options.webhooks?.onInstallationsChanged?.();
    },
  });
  return { receiver, dispatches: counters };
}

/** The shared state in `/readyz`'s words: which store, whether replicas share it, its health. */
function stateReadiness(health: StateHealth) {
  return {
    store: health.kind,
    shared: health.shared,
    status: health.healthy ? "ok" as const : "failing" as const,
    failures: health.failures,
  };
}

/**
 * `/status`'s shared-state section: the store as of a ping of its own, and the replicas the
 * pool's exchange sees; none when the replica has no peers.
 */
async function sharedStateStatus(
  shared: SharedState,
  nowMs: number,
): Promise<SharedStateStatus | undefined> {
  if (!shared.health().shared) return undefined;
  await shared.store.read((store) => store.ping());
  const { kind, healthy } = shared.health();
  const { replicas, lastSyncAt } = shared.fleet();
  return {
    backend: kind,
    healthy,
    ...(healthy ? {} : {
      problem: "not answering in time: each replica goes on with its own view",
    }),
    ...(replicas === undefined ? {} : { replicas }),
    ...(lastSyncAt === undefined
      ? {}
      : { lastSyncSecondsAgo: Math.max(0, Math.floor((nowMs - lastSyncAt) / 1000)) }),
  };
}
