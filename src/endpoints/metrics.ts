/** The gateway's own observability endpoints: `GET /metrics` and `GET /usage`. */
import type { Context } from "hono";
import { sha256, timingSafeEqual } from "../digest.ts";
import { githubError } from "../http/errors.ts";
import { credentialOf } from "../identify/client_token.ts";
import type { QuotaView } from "../telemetry/prometheus.ts";
import type { Telemetry } from "../telemetry/mod.ts";

/** `/metrics`, behind `Authorization: Bearer <METRICS_TOKEN>` when a token is configured. */
export function metricsEndpoint(telemetry: Telemetry, metricsToken: string | undefined) {
  const expected = metricsToken === undefined ? undefined : sha256(metricsToken);
  return async (c: Context): Promise<Response> => {
    if (!telemetry.prometheus) {
      return githubError(404, "Metrics are disabled (TELEMETRY_COLLECTOR_TYPE is not prometheus)");
    }
    if (expected) {
      const token = credentialOf(c.req.header("authorization"));
      if (token === undefined || !timingSafeEqual(sha256(token), expected)) {
        return githubError(401, "Metrics require Authorization: Bearer <METRICS_TOKEN>");
      }
    }
    return new Response(await telemetry.prometheus.metrics(), {
      headers: { "content-type": telemetry.prometheus.contentType },
    });
  };
}

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
