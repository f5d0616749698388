/**
 * Shared state across replicas (DESIGN §13), chosen by `CACHE_BACKEND_URL`: Redis or Upstash
 * behind it → the replicas share the pool's standing, client budgets, App tokens, webhook
 * delivery ids and stale marks through it;
 * a backend of one machine (`memory://`, `denokv://`) → each keeps its own, as before. A
 * failing store never fails a request: each part falls back to the replica's own view.
 */
import type { BackendContext } from "../cache/backends/backend.ts";
import type { BudgetLedger } from "../admit/state.ts";
import type { PoolShare } from "../credentials/pool.ts";
import type { Logger } from "../log.ts";
import { SharedTokens } from "./app_tokens.ts";
import { SharedBudgets } from "./budgets.ts";
import { SharedDeliveryLog } from "./deliveries.ts";
import type { DeliveryLog } from "../webhooks/deliveries.ts";
import type { StaleMarks } from "../webhooks/stale_marks.ts";
import { SharedStaleMarks } from "./stale_marks.ts";
import type { FillCoordinator } from "../cache/revalidate.ts";
import { SharedFills } from "./fills.ts";
import { GuardedStore, type StateHealth } from "./guarded.ts";
import { LocalStore } from "./local.ts";
import { type PoolSyncView, syncStanding } from "./pool_sync.ts";
import { RedisStore } from "./redis.ts";
import type { StateStore } from "./store.ts";
import { UpstashStore } from "./upstash.ts";

export type { StateHealth } from "./guarded.ts";
export type { StateStore } from "./store.ts";
export type { PoolSyncView } from "./pool_sync.ts";

/** The shared state as the gateway wires it. */
export interface SharedState {
  /** Healthy or failing, shared or local: for `/readyz` and the metrics. */
  health(): StateHealth;
  /**
   * The generic operations, guarded (bounded, never throwing: a failure is `undefined`), for
   * parts that keep small shared records of their own (webhook delivery ids, stale marks).
   */
  readonly store: GuardedStore;
  /** For the pool; undefined when there are no peers. */
  readonly pool: PoolShare | undefined;
  /** For admit; undefined when there are no peers. */
  readonly budgets: BudgetLedger | undefined;
  /** For the cache's first fetches; undefined when there are no peers. */
  readonly fills: FillCoordinator | undefined;
  /** For the webhook receiver's dedupe; undefined when there are no peers. */
  readonly deliveries: DeliveryLog | undefined;
  /** For the webhook receiver and the cache; undefined when there are no peers. */
  readonly staleMarks: StaleMarks | undefined;
  /** The replicas the pool's exchange sees, and when it last ran (empty before it runs). */
  fleet(): PoolSyncView;
  close(): Promise<void>;
}

export interface SharedStateOptions {
  readonly logger: Logger;
  readonly readTimeoutMs: number;
  readonly writeTimeoutMs: number;
  readonly now?: () => number;
  /** `UPSTREAM_TIMEOUT`: the longest a first fetch can hold other replicas back. */
  readonly upstreamTimeoutMs: number;
  /** How often the pool's standing is exchanged (default `POOL_SYNC_INTERVAL_MS`). */
  readonly syncIntervalMs?: number;
  /** `CACHE_TTL` in ms: how long a stale mark can matter. */
  readonly cacheTtlMs: number;
}

async function openStore(url: string, context: BackendContext): Promise<StateStore> {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1].toLowerCase() ?? "";
  if (scheme === "redis" || scheme === "rediss") return await RedisStore.open(url);
  if (scheme.startsWith("upstash") && context.upstashToken) {
    return UpstashStore.open(url, context.upstashToken);
  }
  return new LocalStore();
}

/** The shared state `url` (`CACHE_BACKEND_URL`) calls for. */
export async function openSharedState(
  url: string,
  context: BackendContext,
  options: SharedStateOptions,
): Promise<SharedState> {
  const store = new GuardedStore(await openStore(url, context), options);
  const replica = crypto.randomUUID();
  const stops: (() => Promise<void>)[] = [];
  let fleet = (): PoolSyncView => ({});
  const staleMarks = store.health.shared
    ? await SharedStaleMarks.open(store, { replica, ttlMs: options.cacheTtlMs, now: options.now })
    : undefined;
  if (staleMarks) stops.push(() => staleMarks.stop());
  const budgets = store.health.shared ? new SharedBudgets(store, options.now) : undefined;
  const pool: PoolShare | undefined = store.health.shared
    ? {
      attach(standing) {
        const sync = syncStanding(standing, store, {
          replica,
          intervalMs: options.syncIntervalMs,
          now: options.now,
        });
        fleet = sync.view;
        stops.push(() => sync.stop());
      },
      tokens: new SharedTokens(store, { replica, now: options.now }),
    }
    : undefined;
  return {
    health: () => store.health,
    store,
    pool,
    budgets,
    fills: store.health.shared
      ? new SharedFills(store, replica, options.upstreamTimeoutMs)
      : undefined,
    deliveries: store.health.shared
      ? new SharedDeliveryLog(store, replica, { now: options.now })
      : undefined,
    staleMarks,
    fleet: () => fleet(),
    async close() {
      await Promise.all(stops.map((stop) => stop()));
      await budgets?.settled();
      await store.close();
    },
  };
}
