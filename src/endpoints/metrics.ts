/** The gateway's Prometheus endpoint: `GET /metrics`. */
import type { Context } from "hono";
import { sha256, timingSafeEqual } from "../digest.ts";
import { githubError } from "../http/errors.ts";
import { clientTokenOf } from "../identify/client_token.ts";
import type { Telemetry } from "../telemetry/mod.ts";

/** `/metrics`, behind `Authorization: Bearer <METRICS_TOKEN>` when a token is configured. */
export function metricsEndpoint(telemetry: Telemetry, metricsToken: string | undefined) {
  const expected = metricsToken === undefined ? undefined : sha256(metricsToken);
  return async (c: Context): Promise<Response> => {
    if (!telemetry.prometheus) {
      return githubError(404, "Metrics are disabled (TELEMETRY_COLLECTOR_TYPE is not prometheus)");
    }
    if (expected) {
      const token = clientTokenOf(c.req.header("authorization"));
      if (token === undefined || !timingSafeEqual(sha256(token), expected)) {
        return githubError(401, "Metrics require Authorization: Bearer <METRICS_TOKEN>");
      }
    }
    return new Response(await telemetry.prometheus.metrics(), {
      headers: { "content-type": telemetry.prometheus.contentType },
    });
  };
}
