/**
 * What `/status` shows, as one typed value built by a pure function from typed sources: the
 * HTML page and the JSON answer render the same `StatusData`. Sections for App installations,
 * webhooks and shared state appear when the gateway has them (an App, a webhook secret, a
 * shared store). Nothing here carries a secret: the sources are names, counts and times (pool
 * snapshots and cached-token views never hold tokens).
 */
import type { BudgetView, RefusalReason } from "../../admit/state.ts";
import type { PoolSnapshot } from "../../credentials/events.ts";
import type { AppInstallationView } from "../../credentials/pool.ts";
import type { DeliveryRecord } from "../../webhooks/recent.ts";
import type { Priority } from "../../registry/model.ts";
import type { ClientUsage } from "../../telemetry/usage.ts";
import type { MinuteCounts } from "../../telemetry/history.ts";

/** One rate-limit resource of a GitHub account of the pool. */
export interface ResourceStatus {
  readonly resource: string;
  readonly limit: number;
  readonly remaining: number;
  /** Seconds until GitHub resets the quota (0 when past). */
  readonly resetInSeconds: number;
  /** Resting after a rate-limit answer. */
  readonly parked: boolean;
}

/** One credential of an account, by `<NAME>`. */
export interface CredentialStatus {
  readonly name: string;
  readonly kind: "pat" | "app";
  /** Refused by GitHub (401): out of the pool until a reload (`SIGHUP`) or restart. */
  readonly bad: boolean;
  /** An App whose token could not be minted rests this many seconds (0: usable). */
  readonly restingSeconds: number;
}

/** One GitHub account of the pool. */
export interface OwnerStatus {
  readonly name: string;
  readonly credentials: readonly CredentialStatus[];
  /** Seconds left of a secondary-limit cooldown (0: not cooling down). */
  readonly coolingDownSeconds: number;
  readonly inFlight: number;
  readonly queued: number;
  /** Resources GitHub has reported a quota for. */
  readonly resources: readonly ResourceStatus[];
}

/** One client of the registry over the last hour. */
export interface ClientStatus {
  readonly name: string;
  readonly priority: Priority;
  readonly requests: number;
  readonly pointsSpent: number;
  readonly pointsSaved: number;
  /** Its `points_per_hour` budget, when it has one. */
  readonly budget?: { readonly limit: number; readonly remaining: number; readonly used: number };
  readonly refused: Readonly<Record<RefusalReason, number>>;
}

/** The response cache and its backend. */
export interface CacheStatus {
  readonly backend: string;
  readonly healthy: boolean;
  /** Why the backend is not healthy, worded without its own error text. */
  readonly problem?: string;
  /** Backend calls that failed or timed out since start. */
  readonly failures: number;
  /** Answered by the cache over all cacheable answers, last hour; null before any. */
  readonly hitRatio: number | null;
  readonly entries?: number;
  readonly bytes?: number;
}

/** One minute of the chart. */
export interface MinuteStatus {
  /** The minute's start, ISO 8601. */
  readonly minute: string;
  readonly spent: number;
  readonly saved: number;
}

/** An App installation and the tokens minted for it (narrowed ones included). */
export interface InstallationStatus {
  /** The credential's `<NAME>`. */
  readonly credential: string;
  /** GitHub's installation id. */
  readonly installationId: string;
  /** The account it is installed on, when known. */
  readonly account?: string;
  /** `all` or `selected` repositories of the account, when known. */
  readonly repositorySelection?: string;
  /** Tokens cached for it now, each narrowed to repositories and permissions or not. */
  readonly tokens: readonly {
    readonly repositories?: readonly string[];
    readonly permissions?: Readonly<Record<string, string>>;
    readonly expiresInSeconds: number;
  }[];
}

/** Webhook deliveries received and what dispatch did with them. */
export interface WebhookStatus {
  /** The latest deliveries, newest first. */
  readonly deliveries: readonly {
    readonly id: string;
    readonly event: string;
    /** The payload's `action`, when it has one. */
    readonly action?: string;
    /** `owner/repo` the payload names, when it names one. */
    readonly repository?: string;
    /** ISO 8601. */
    readonly receivedAt: string;
    readonly outcome: string;
  }[];
  /** Dispatch outcomes since start, by outcome. */
  readonly outcomes: Readonly<Record<string, number>>;
}

/** The replicas' shared state (DESIGN §13). */
export interface SharedStateStatus {
  /** The kind of store (`redis`, `upstash`, …), never its URL. */
  readonly backend: string;
  /** Whether this replica reaches it now. */
  readonly healthy: boolean;
  /** Why not, worded without the store's own error text. */
  readonly problem?: string;
  /** Replicas seen recently, when the backend tells. */
  readonly replicas?: number;
  /** Seconds since this replica last synchronised. */
  readonly lastSyncSecondsAgo?: number;
}

/** Everything `/status` shows. */
export interface StatusData {
  /** ISO 8601. */
  readonly generatedAt: string;
  readonly version: string;
  readonly pool: { readonly owners: readonly OwnerStatus[] };
  readonly clients: readonly ClientStatus[];
  readonly cache: CacheStatus;
  /** The last 60 minutes, oldest first. */
  readonly history: readonly MinuteStatus[];
  readonly installations?: readonly InstallationStatus[];
  readonly webhooks?: WebhookStatus;
  readonly sharedState?: SharedStateStatus;
}

/** The cache as its sources report it. */
export interface CacheSource {
  readonly backend: string;
  /** Undefined while the backend answers its ping. */
  readonly problem?: string;
  readonly failures: number;
  readonly size?: { readonly entries: number; readonly bytes: number };
}

/** What `buildStatusData` reads; each source is a value read at request time. */
export interface StatusSources {
  readonly nowMs: number;
  readonly version: string;
  readonly pool: PoolSnapshot;
  readonly clients: readonly { readonly name: string; readonly priority: Priority }[];
  readonly usage: readonly ClientUsage[];
  readonly budgets: readonly BudgetView[];
  readonly cache: CacheSource;
  readonly history: readonly MinuteCounts[];
  /** The pool's App installations; the section is shown when there is at least one. */
  readonly installations: readonly AppInstallationView[];
  /** The webhook receiver's work, when `GITHUB_WEBHOOK_SECRET` is set. */
  readonly webhooks?: {
    /** Newest first. */
    readonly deliveries: readonly DeliveryRecord[];
    readonly outcomes: Readonly<Record<string, number>>;
  };
  readonly sharedState?: SharedStateStatus;
}

/** Most webhook deliveries the page lists. */
export const DELIVERIES_SHOWN = 20;

const secondsUntil = (atMs: number, nowMs: number) => Math.max(0, Math.ceil((atMs - nowMs) / 1000));

/** The page's data from its sources. */
export function buildStatusData(sources: StatusSources): StatusData {
  const { nowMs, pool } = sources;
  const owners = pool.owners.map((owner): OwnerStatus => ({
    name: owner.name,
    credentials: pool.credentials.filter((credential) => credential.owner === owner.name)
      .map((credential) => ({
        name: credential.name,
        kind: credential.kind,
        bad: credential.bad,
        restingSeconds: secondsUntil(credential.unusableUntilMs, nowMs),
      })),
    coolingDownSeconds: secondsUntil(owner.frozenUntilMs, nowMs),
    inFlight: owner.inFlight,
    queued: owner.queued,
    resources: owner.resources.flatMap((resource) =>
      resource.limit === undefined || resource.remaining === undefined ||
        resource.resetAtMs === undefined
        ? []
        : [{
          resource: resource.resource,
          limit: resource.limit,
          remaining: resource.remaining,
          resetInSeconds: secondsUntil(resource.resetAtMs, nowMs),
          parked: resource.parkedUntilMs > nowMs,
        }]
    ),
  }));
  const usage = new Map(sources.usage.map((entry) => [entry.client, entry.lastHour]));
  const budgets = new Map(sources.budgets.map((budget) => [budget.client, budget]));
  const clients = sources.clients.map((client): ClientStatus => {
    const hour = usage.get(client.name);
    const budget = budgets.get(client.name);
    return {
      name: client.name,
      priority: client.priority,
      requests: hour?.requests ?? 0,
      pointsSpent: hour?.pointsSpent ?? 0,
      pointsSaved: hour?.pointsSaved ?? 0,
      ...(budget
        ? {
          budget: {
            limit: budget.limit,
            remaining: budget.remaining,
            used: budget.limit - budget.remaining,
          },
        }
        : {}),
      refused: { budget: 0, reserve: 0, rate: 0, concurrency: 0, ...hour?.refused },
    };
  });
  let answered = 0;
  let missed = 0;
  for (const minute of sources.history) {
    answered += minute.cacheAnswered;
    missed += minute.cacheMissed;
  }
  const { cache } = sources;
  return {
    generatedAt: new Date(nowMs).toISOString(),
    version: sources.version,
    pool: { owners },
    clients,
    cache: {
      backend: cache.backend,
      healthy: cache.problem === undefined,
      ...(cache.problem === undefined ? {} : { problem: cache.problem }),
      failures: cache.failures,
      hitRatio: answered + missed === 0 ? null : answered / (answered + missed),
      ...(cache.size ?? {}),
    },
    history: sources.history.map((minute) => ({
      minute: new Date(minute.startMs).toISOString(),
      spent: minute.spent,
      saved: minute.saved,
    })),
    ...(sources.installations.length > 0
      ? { installations: sources.installations.map((view) => installationStatus(view, nowMs)) }
      : {}),
    ...(sources.webhooks
      ? {
        webhooks: {
          deliveries: sources.webhooks.deliveries.slice(0, DELIVERIES_SHOWN).map((delivery) => ({
            id: delivery.id,
            event: delivery.event,
            ...(delivery.action === undefined ? {} : { action: delivery.action }),
            ...(delivery.repository === undefined ? {} : { repository: delivery.repository }),
            receivedAt: new Date(delivery.atMs).toISOString(),
            outcome: delivery.outcome,
          })),
          outcomes: sources.webhooks.outcomes,
        },
      }
      : {}),
    ...(sources.sharedState ? { sharedState: sources.sharedState } : {}),
  };
}

/** An installation and its cached tokens' narrowing and time left; the tokens stay unseen. */
function installationStatus(view: AppInstallationView, nowMs: number): InstallationStatus {
  return {
    credential: view.credential,
    installationId: view.installationId,
    ...(view.account === undefined ? {} : { account: view.account }),
    ...(view.repositorySelection === undefined
      ? {}
      : { repositorySelection: view.repositorySelection }),
    tokens: view.tokens.map((token) => ({
      ...(token.narrowing?.repositories ? { repositories: token.narrowing.repositories } : {}),
      ...(token.narrowing?.permissions ? { permissions: token.narrowing.permissions } : {}),
      expiresInSeconds: secondsUntil(token.expiresAtMs, nowMs),
    })),
  };
}
