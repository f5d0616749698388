/**
 * Connects the credential pool to telemetry: every upstream answer becomes an upstream-request
 * event, App token cache events are counted, and a credential falling under 10 % of its quota
 * is warned about once per reset window.
 */
import type { CredentialPool } from "../credentials/pool.ts";
import type { PoolSnapshot } from "../credentials/events.ts";
import type { TelemetrySink } from "./events.ts";
import type { Logger } from "../log.ts";
import type { OwnerCooldown, PoolCapacityView, QuotaView } from "./prometheus.ts";

export const LOW_QUOTA_RATIO = 0.1;

export function connectPool(pool: CredentialPool, sink: TelemetrySink, logger: Logger): () => void {
  const warned = new Set<string>();
  return pool.observe((event) => {
    switch (event.type) {
      case "answer": {
        sink.upstreamRequest({
          client: event.client,
          credential: event.credential,
          resource: event.resource,
          status: event.status,
          seconds: event.ms / 1000,
          points: event.points,
        });
        const quota = event.quota;
        if (!quota || quota.limit === 0) return;
        const window = `${event.credential}/${event.resource}/${quota.resetAtMs}`;
        if (quota.remaining / quota.limit < LOW_QUOTA_RATIO && !warned.has(window)) {
          if (warned.size > 10_000) warned.clear();
          warned.add(window);
          logger.warn("credential below 10 % of its quota", {
            credential: event.credential,
            resource: event.resource,
            remaining: quota.remaining,
            limit: quota.limit,
            reset: new Date(quota.resetAtMs).toISOString(),
          });
        }
        return;
      }
      case "hit":
      case "miss":
      case "eviction":
        return sink.tokenCache(event.type);
      case "mint":
        // A failed mint is logged by the pool with its reason; a success is logged here.
        if (event.outcome === "success") {
          logger.info("GitHub App installation token minted", { credential: event.credential });
        }
        return sink.tokenCache(event.outcome);
    }
  });
}

/**
 * The pool's quotas as gauges and `/usage` show them: one budget per owner (GitHub account),
 * named by its first credential, for the resources GitHub has answered for.
 */
export function quotaViews(snapshot: PoolSnapshot): QuotaView[] {
  return snapshot.owners.flatMap((owner) => {
    const members = snapshot.credentials.filter((credential) => credential.owner === owner.name);
    return owner.resources.flatMap((resource) =>
      resource.limit === undefined || resource.remaining === undefined ||
        resource.resetAtMs === undefined
        ? []
        : [{
          credential: owner.name,
          resource: resource.resource,
          limit: resource.limit,
          remaining: resource.remaining,
          reset: Math.round(resource.resetAtMs / 1000),
          parked: resource.parkedUntilMs > snapshot.atMs,
          bad: members.every((credential) => credential.bad),
        }]
    );
  });
}

/** Seconds each owner still cools down after a secondary limit (0 when it does not). */
export function ownerCooldowns(snapshot: PoolSnapshot): OwnerCooldown[] {
  return snapshot.owners.map((owner) => ({
    owner: owner.name,
    seconds: Math.max(0, Math.ceil((owner.frozenUntilMs - snapshot.atMs) / 1000)),
  }));
}

/** The pool's capacity for every resource some account has a known quota for. */
export function poolCapacity(
  pool: Pick<CredentialPool, "capacity">,
  quotas: readonly QuotaView[],
): PoolCapacityView[] {
  return [...new Set(quotas.map((quota) => quota.resource))].sort().flatMap((resource) => {
    const capacity = pool.capacity(resource);
    return capacity ? [{ resource, limit: capacity.limit, remaining: capacity.remaining }] : [];
  });
}
