/** The gateway's health endpoints: `GET /healthz` (the process answers) and `GET /readyz`. */
import type { Context } from "hono";
import type { RegistrySource } from "../registry/store.ts";

/** `/healthz`: the process is up and answering. */
export function healthz(): (c: Context) => Response {
  return (c) => c.json({ status: "ok" });
}

/** One part `/readyz` reports on: `ok`, or what is wrong in the gateway's own words. */
export interface PartReadiness {
  readonly status: "ok" | "unreachable" | "auth failed" | "failing";
  readonly [detail: string]: string | number | boolean;
}

/**
 * `/readyz`: 200 once the configuration is loaded, because requests are served even while the
 * cache or the shared state is down (DESIGN §5) — a 503 would take every replica out of its
 * load balancer during a cache outage. The body says which part is degraded (`status:
 * "degraded"`), in words `readiness` chose, so no backend's raw text reaches an
 * unauthenticated caller.
 */
export function readyz(
  registry: RegistrySource,
  readiness: () => Promise<Readonly<Record<string, PartReadiness>>>,
): (c: Context) => Promise<Response> {
  return async (c) => {
    const parts = await readiness();
    const degraded = Object.values(parts).some((part) => part.status !== "ok");
    return c.json({
      status: degraded ? "degraded" : "ready",
      clients: registry.current.clients.length,
      ...parts,
    });
  };
}
