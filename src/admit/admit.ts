/**
 * The admit stage (DESIGN §3, §11), between authorize and the cache: whether this client may be
 * served now. Every request takes one from the client's `requests_per_minute` and a place among
 * its `concurrency` (waiting briefly), cache hits included. Whether it may also start a *new*
 * upstream call — spend points of its `points_per_hour` budget and of the pool's reserve — only
 * the cache knows: a fresh entry is served, an entry is revalidated (a 304 is free, a 200 is
 * charged after the fact and may take the budget below 0), a call in flight for the same key is
 * joined for nothing. So admit does not decide that here; it sets `admission`, which the cache
 * consults before it starts a call for a key it has no entry and no call for, and the forwarder
 * before every call it makes. Putting the check in a per-request Transport wrapper instead would
 * refuse the followers of a coalesced call along with its leader.
 *
 * What a call really cost is charged when GitHub has answered: the pool reports the points of
 * every call it makes (retries included) with the client it was made for, and `gateway.ts` hands
 * those reports to `AdmitState.charge`. Until then each admitted call holds one point, so a burst
 * cannot overrun the budget while its answers are on the way.
 */
import type { MiddlewareHandler } from "hono";
import { inferResource } from "../credentials/resource.ts";
import { shownMethod } from "../http/method.ts";
import type { IdentifyVariables } from "../identify/identify.ts";
import type { RequestTarget } from "../identify/target.ts";
import type { Client } from "../registry/model.ts";
import type { RegistrySource } from "../registry/store.ts";
import { refusalResponse } from "./refusal.ts";
import type { RateLimitStatus } from "../http/rate_refusal.ts";
import type { RefusalLine } from "./refusal_log.ts";
import { type Capacity, reserveRefusal } from "./reserve.ts";
import type { AdmitState, Refusal, RefusalReason } from "./state.ts";

/** What admit puts in the context for the cache and the forwarder. */
export type AdmitVariables = {
  admission: Admission;
};

/** The request's right to new upstream calls. */
export interface Admission {
  /**
   * Call before starting a new upstream call (not a revalidation of a stored entry, not joining
   * one in flight): the client's refusal when its budget or the pool's reserve says no, else
   * undefined and the call may go.
   */
  newCall(): Response | undefined;
}

export interface AdmitDeps {
  readonly state: AdmitState;
  readonly registry: RegistrySource;
  /** `RATE_LIMIT_STATUS`: GitHub's 403, or 429. */
  readonly status: RateLimitStatus;
  /** The pool's capacity for a rate-limit resource; undefined while it is not known. */
  readonly capacity: (resource: string) => Capacity | undefined;
  /** Counts a refusal (metrics, `/usage`). */
  readonly refused: (client: string, reason: RefusalReason) => void;
  /** Writes a refusal's log line. */
  readonly log: (line: RefusalLine) => void;
  readonly now?: () => number;
}

/** Refuses what the client's limits or the pool's reserve refuse; sets `admission` for the rest. */
export function admit(
  deps: AdmitDeps,
): MiddlewareHandler<{ Variables: IdentifyVariables & AdmitVariables }> {
  return async (c, next) => {
    const entered = await admitRequest(
      deps,
      c.get("client"),
      c.get("target"),
      () => c.req.raw.signal,
    );
    if (entered instanceof Response) return entered;
    c.set("admission", entered.admission);
    try {
      await next();
    } finally {
      entered.leave();
    }
  };
}

/** A request let in: its right to new upstream calls, and `leave` once it is answered. */
export interface Admitted {
  readonly admission: Admission;
  /** Settles the points held for its calls and frees its place; call exactly once. */
  leave(): void;
}

/**
 * Admit's decision for one request of `client` to `target`, for the middleware and for the
 * gateway's own calls made as a client (webhook dispatches): the refusal, or the admission.
 * `signal` gives the request's signal, asked for only when it must wait for a place.
 */
export async function admitRequest(
  deps: AdmitDeps,
  client: Client,
  target: Pick<RequestTarget, "method" | "path" | "graphql">,
  signal: () => AbortSignal,
): Promise<Admitted | Response> {
  const { state, registry, capacity } = deps;
  const now = deps.now ?? Date.now;
  const resource = inferResource(target);
  const refuse = (refusal: Refusal) => {
    const response = refusalResponse(deps.status, client.name, resource, refusal, now());
    deps.refused(client.name, refusal.reason);
    deps.log({
      client: client.name,
      reason: refusal.reason,
      rule: refusal.rule,
      method: shownMethod(target.method),
      path: target.path,
      retryAfterSeconds: Number(response.headers.get("retry-after")),
    });
    return response;
  };
  const entered = await state.enter(client, signal);
  if (entered) return refuse(entered);
  let calls = 0;
  return {
    admission: {
      newCall: () => {
        const reserve = reserveVerdict(client, registry, capacity(resource), resource);
        if (reserve) return refuse(reserve);
        const budget = state.startCall(client);
        if (budget) return refuse(budget);
        calls++;
        return undefined;
      },
    },
    leave() {
      state.settle(client, calls);
      state.leave(client);
    },
  };
}

function reserveVerdict(
  client: Client,
  registry: RegistrySource,
  capacity: Capacity | undefined,
  resource: string,
): Refusal | undefined {
  const refusal = reserveRefusal(client.priority, registry.current.reserve, capacity);
  if (!refusal || !capacity) return undefined;
  return {
    reason: "reserve",
    rule: refusal.rule,
    limit: capacity.limit,
    retryAtMs: capacity.resetAtMs,
    detail: `the pool has ${capacity.remaining} of ${capacity.limit} ${resource} points left, ` +
      `under the ${refusal.percent} % kept back from ${client.priority}-priority clients`,
  };
}
