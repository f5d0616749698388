/**
 * What admit remembers per client (DESIGN §11): its points budget, its requests-per-minute
 * bucket, its requests in flight and the points promised to its new upstream calls not yet
 * answered. Keyed by client name, with the limits read from the client's current registry entry
 * at every request, so a registry reload changes the limits and keeps what was spent.
 */
import type { Client, Limits } from "../registry/model.ts";
import { type Bucket, fullBucket, levelAt, type Rate, take, waitMs } from "./bucket.ts";
import { ConcurrencyGate, realTimer, type SetTimer } from "./concurrency.ts";

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;

/** Why admit refused a request: the label of its refusal metric. */
export type RefusalReason = "budget" | "reserve" | "rate" | "concurrency";
export const REFUSAL_REASONS: readonly RefusalReason[] = [
  "budget",
  "reserve",
  "rate",
  "concurrency",
];

/** A refusal as admit decided it; `refusal.ts` words it for the client. */
export interface Refusal {
  readonly reason: RefusalReason;
  /** The registry rule that refused, e.g. `limits.points_per_hour`. */
  readonly rule: string;
  /** The limit the rule enforces, as `x-ratelimit-limit`. */
  readonly limit: number;
  /** When a retry can pass (epoch ms). */
  readonly retryAtMs: number;
  /** One sentence for people: what ran out. */
  readonly detail: string;
}

/** A client's points budget now, for the gauge and `/usage`. */
export interface BudgetView {
  readonly client: string;
  readonly limit: number;
  /** Whole points left; below 0 after revalidations that came back 200. */
  readonly remaining: number;
  /** When the bucket is full again (epoch ms). */
  readonly fullAtMs: number;
}

interface ClientState {
  points?: { bucket: Bucket; rate: Rate };
  requests?: { bucket: Bucket; rate: Rate };
  /** Points promised to new upstream calls in flight: one each until they are answered. */
  held: number;
  readonly gate: ConcurrencyGate;
}

/**
 * A budget kept with other replicas (DESIGN §13, `src/state/budgets.ts`): admit decides on the
 * stricter of its own bucket and the shared one.
 */
export interface BudgetLedger {
  /** Points left in `client`'s shared bucket now; undefined when not known (or the store fails). */
  level(client: string, rate: Rate): number | undefined;
  /** `client` spent `points` on this replica (negative: a held point given back). */
  spend(client: string, points: number, rate: Rate): void;
}

export interface AdmitStateOptions {
  readonly now?: () => number;
  /** Shares budgets with other replicas; without it each replica keeps its own. */
  readonly ledger?: BudgetLedger;
  /** Longest wait in a client's concurrency queue. */
  readonly queueWaitMs?: number;
  readonly setTimer?: SetTimer;
}

/** Short enough for a client's own timeout, long enough to absorb a burst. */
export const QUEUE_WAIT_MS = 2000;

export class AdmitState {
  readonly #clients = new Map<string, ClientState>();
  readonly #now: () => number;
  readonly #queueWaitMs: number;
  readonly #setTimer: SetTimer;
  readonly #ledger: BudgetLedger | undefined;

  constructor(options: AdmitStateOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#ledger = options.ledger;
    this.#queueWaitMs = options.queueWaitMs ?? QUEUE_WAIT_MS;
    this.#setTimer = options.setTimer ?? realTimer;
  }

  /** Requests waiting for a place among their client's requests in flight, all clients. */
  get waiting(): number {
    let waiting = 0;
    for (const state of this.#clients.values()) waiting += state.gate.waiting;
    return waiting;
  }

  /**
   * A request of `client` arrives: takes one from its requests-per-minute bucket and a place
   * among its requests in flight (waiting briefly for one). Undefined when admitted, and the
   * caller then calls `leave` once the request is answered.
   */
  async enter(client: Client, signal?: () => AbortSignal): Promise<Refusal | undefined> {
    const state = this.#state(client);
    const now = this.#now();
    const { requestsPerMinute, concurrency } = client.limits;
    if (state.requests && requestsPerMinute !== undefined) {
      const { bucket, rate } = state.requests;
      const wait = waitMs(bucket, rate, now, 1);
      if (wait > 0) {
        return {
          reason: "rate",
          rule: "limits.requests_per_minute",
          limit: requestsPerMinute,
          retryAtMs: now + wait,
          detail: `client "${client.name}" may make ${requestsPerMinute} requests a minute`,
        };
      }
      take(bucket, rate, now, 1);
    }
    if (concurrency !== undefined) {
      const admitted = await state.gate.acquire(concurrency, this.#queueWaitMs, signal);
      if (!admitted) {
        return {
          reason: "concurrency",
          rule: "limits.concurrency",
          limit: concurrency,
          retryAtMs: this.#now() + 1000,
          detail: `client "${client.name}" may have ${concurrency} requests in flight at once`,
        };
      }
    }
    return undefined;
  }

  /** The request `enter` admitted is answered: its place in flight is free. */
  leave(client: Client): void {
    if (client.limits.concurrency !== undefined) this.#state(client).gate.release();
  }

  /**
   * Whether `client` may start a new upstream call: its budget must have a point left beyond
   * those promised to its calls in flight. Undefined when it may; the point is then held until
   * `settle` (the call's real cost arrives through `charge`).
   */
  startCall(client: Client): Refusal | undefined {
    const state = this.#state(client);
    const limit = client.limits.pointsPerHour;
    if (state.points && limit !== undefined) {
      const now = this.#now();
      const { rate } = state.points;
      // The shared bucket already counts this replica's held points among those spent.
      const shared = this.#ledger?.level(client.name, rate);
      const wait = Math.max(
        waitMs(state.points.bucket, rate, now, 1, state.held),
        shared === undefined || shared >= 1 ? 0 : Math.ceil(((1 - shared) * rate.periodMs) / limit),
      );
      if (wait > 0) {
        return {
          reason: "budget",
          rule: "limits.points_per_hour",
          limit,
          retryAtMs: now + wait,
          detail: `client "${client.name}" has spent its budget of ${limit} points an hour`,
        };
      }
    }
    state.held++;
    if (state.points) this.#ledger?.spend(client.name, 1, state.points.rate);
    return undefined;
  }

  /** A call `startCall` allowed is over: its promised point is released. */
  settle(client: Client, calls: number): void {
    if (calls <= 0) return;
    const state = this.#state(client);
    state.held -= calls;
    if (state.points) this.#ledger?.spend(client.name, -calls, state.points.rate);
  }

  /** Points GitHub really charged for a call made for `client` (the pool's count). */
  charge(client: string, points: number): void {
    const budget = this.#clients.get(client)?.points;
    if (!budget || points <= 0) return;
    take(budget.bucket, budget.rate, this.#now(), points);
    this.#ledger?.spend(client, points, budget.rate);
  }

  /** Budgets of the given clients (those with `limits.points_per_hour`). */
  budgets(clients: readonly Client[]): BudgetView[] {
    const now = this.#now();
    return clients.flatMap((client) => {
      const limit = client.limits.pointsPerHour;
      if (limit === undefined) return [];
      const points = this.#clients.get(client.name)?.points;
      const local = points ? levelAt(points.bucket, points.rate, now) : limit;
      const shared = points && this.#ledger?.level(client.name, points.rate);
      const level = shared === undefined ? local : Math.min(local, shared);
      const missing = limit - level;
      return [{
        client: client.name,
        limit,
        remaining: Math.floor(level),
        fullAtMs: now + Math.ceil((missing * HOUR_MS) / limit),
      }];
    });
  }

  /** The client's state with its buckets sized to its current limits. */
  #state(client: Client): ClientState {
    let state = this.#clients.get(client.name);
    if (!state) {
      state = { held: 0, gate: new ConcurrencyGate(this.#setTimer) };
      this.#clients.set(client.name, state);
    }
    const now = this.#now();
    state.points = sized(state.points, client.limits.pointsPerHour, HOUR_MS, now);
    state.requests = sized(state.requests, client.limits.requestsPerMinute, MINUTE_MS, now);
    return state;
  }
}

/**
 * A bucket for `capacity` per `periodMs`: the existing one at its level now (a changed limit
 * keeps what was spent), a full one when the limit is new, none when there is no limit.
 */
function sized(
  current: { bucket: Bucket; rate: Rate } | undefined,
  capacity: Limits[keyof Limits],
  periodMs: number,
  now: number,
): { bucket: Bucket; rate: Rate } | undefined {
  if (capacity === undefined) return undefined;
  const rate = { capacity, periodMs };
  if (!current) return { bucket: fullBucket(rate, now), rate };
  if (current.rate.capacity === capacity) return current;
  const bucket = { tokens: levelAt(current.bucket, current.rate, now), atMs: now };
  bucket.tokens = Math.min(bucket.tokens, capacity);
  return { bucket, rate };
}
