/** The gateway's usage report: `GET /usage`, behind the client's scopes like any GitHub path. */
import type { Context } from "hono";
import type { QuotaView } from "../telemetry/prometheus.ts";
import type { Telemetry } from "../telemetry/mod.ts";

/** `/usage`: per-client usage and per-credential quota, for clients whose scopes allow it. */
export function usageEndpoint(telemetry: Telemetry, quotas: () => readonly QuotaView[]) {
  return (c: Context): Response =>
    c.json({
      since: telemetry.usage.startedAt.toISOString(),
      clients: telemetry.usage.clients().map((usage) => ({
        client: usage.client,
        last_hour: snake(usage.lastHour),
        since_start: snake(usage.sinceStart),
      })),
      credentials: quotas().map((q) => ({
        credential: q.credential,
        resource: q.resource,
        limit: q.limit,
        remaining: q.remaining,
        reset: new Date(q.reset * 1000).toISOString(),
        parked: q.parked,
        bad: q.bad,
      })),
    });
}

function snake(counts: { requests: number; pointsSpent: number; pointsSaved: number }) {
  return {
    requests: counts.requests,
    points_spent: counts.pointsSpent,
    points_saved: counts.pointsSaved,
  };
}
