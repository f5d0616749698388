/** The gateway's usage report: `GET /usage`, behind the client's scopes like any GitHub path. */
import type { Context } from "hono";
import type { BudgetView } from "../admit/state.ts";
import type { QuotaView } from "../telemetry/prometheus.ts";
import type { Telemetry } from "../telemetry/mod.ts";
import type { UsageCounts } from "../telemetry/usage.ts";
import type { DeliveryRecord } from "../webhooks/recent.ts";

/** What `/usage` reads besides telemetry's counts. */
export interface UsageSources {
  /** Current quota per credential and resource. */
  readonly quotas: () => readonly QuotaView[];
  /** Each budgeted client's points budget now. */
  readonly budgets: () => readonly BudgetView[];
  /** The last webhook deliveries, newest first. */
  readonly deliveries: () => readonly DeliveryRecord[];
}

/**
 * `/usage`: per-client usage (points per resource, refusals by reason, budget left),
 * per-credential quota and the last webhook deliveries, for clients whose scopes allow it.
 */
export function usageEndpoint(telemetry: Telemetry, sources: UsageSources) {
  return (c: Context): Response => {
    const budgets = new Map(sources.budgets().map((budget) => [budget.client, budget]));
    return c.json({
      since: telemetry.usage.startedAt.toISOString(),
      clients: telemetry.usage.clients().map((usage) => {
        const budget = budgets.get(usage.client);
        return {
          client: usage.client,
          last_hour: snake(usage.lastHour),
          since_start: snake(usage.sinceStart),
          ...(budget
            ? {
              budget: {
                points_per_hour: budget.limit,
                remaining: budget.remaining,
                full_at: new Date(budget.fullAtMs).toISOString(),
              },
            }
            : {}),
        };
      }),
      credentials: sources.quotas().map((q) => ({
        credential: q.credential,
        resource: q.resource,
        limit: q.limit,
        remaining: q.remaining,
        reset: new Date(q.reset * 1000).toISOString(),
        parked: q.parked,
        bad: q.bad,
      })),
      webhooks: {
        last_deliveries: sources.deliveries().map((d) => ({
          id: d.id,
          event: d.event,
          ...(d.action === undefined ? {} : { action: d.action }),
          ...(d.repository === undefined ? {} : { repository: d.repository }),
          outcome: d.outcome,
          at: new Date(d.atMs).toISOString(),
        })),
      },
    });
  };
}

function snake(counts: UsageCounts) {
  return {
    requests: counts.requests,
    points_spent: counts.pointsSpent,
    points_saved: counts.pointsSaved,
    points_by_resource: counts.pointsByResource,
    refused: counts.refused,
  };
}
