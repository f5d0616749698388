/** The gateway's health endpoints: `GET /healthz` (the process answers) and `GET /readyz`. */
import type { Context } from "hono";
import type { RegistrySource } from "../registry/store.ts";

/** `/healthz`: the process is up and answering. */
export function healthz(): (c: Context) => Response {
  return (c) => c.json({ status: "ok" });
}

/**
 * `/readyz`: ready when `readiness` resolves, else 503 with its error's message as the reason.
 * `readiness` words that message itself (`cache backend … unreachable`, `… auth failed`), so no
 * backend's raw text reaches an unauthenticated caller.
 */
export function readyz(
  registry: RegistrySource,
  readiness: () => Promise<void>,
): (c: Context) => Promise<Response> {
  return async (c) => {
    try {
      await readiness();
      return c.json({ status: "ready", clients: registry.current.clients.length });
    } catch (error) {
      return c.json({ status: "not ready", reason: (error as Error).message }, 503);
    }
  };
}
