/**
 * Who used how much: per-client requests, rate-limit points (per resource too) and admit's
 * refusals by reason, in the last hour (one-minute buckets) and since start — what `GET /usage`
 * shows and logging summaries report.
 */
import type { RefusalReason } from "../admit/state.ts";
import type { TelemetrySink } from "./events.ts";
import { noopSink } from "./events.ts";

export interface UsageCounts {
  requests: number;
  pointsSpent: number;
  pointsSaved: number;
  /** Points spent per rate-limit resource (`core`, `graphql`, …). */
  pointsByResource: Record<string, number>;
  refused: Record<RefusalReason, number>;
}

/** One thing to count: a plain field, or a key of a per-resource or per-reason record. */
type Count =
  | { readonly field: "requests" | "pointsSpent" | "pointsSaved" }
  | { readonly field: "pointsByResource"; readonly key: string }
  | { readonly field: "refused"; readonly key: RefusalReason };

export interface ClientUsage {
  readonly client: string;
  readonly lastHour: UsageCounts;
  readonly sinceStart: UsageCounts;
}

const BUCKET_MS = 60_000;
const BUCKETS = 60;

const zero = (): UsageCounts => ({
  requests: 0,
  pointsSpent: 0,
  pointsSaved: 0,
  pointsByResource: {},
  refused: { budget: 0, reserve: 0, rate: 0, concurrency: 0 },
});

function addTo(counts: UsageCounts, count: Count, amount: number): void {
  if (count.field === "pointsByResource") {
    counts.pointsByResource[count.key] = (counts.pointsByResource[count.key] ?? 0) + amount;
  } else if (count.field === "refused") {
    counts.refused[count.key] += amount;
  } else {
    counts[count.field] += amount;
  }
}

function sumInto(sum: UsageCounts, counts: UsageCounts): void {
  sum.requests += counts.requests;
  sum.pointsSpent += counts.pointsSpent;
  sum.pointsSaved += counts.pointsSaved;
  for (const [resource, points] of Object.entries(counts.pointsByResource)) {
    addTo(sum, { field: "pointsByResource", key: resource }, points);
  }
  for (const [reason, refused] of Object.entries(counts.refused)) {
    sum.refused[reason as RefusalReason] += refused;
  }
}

class ClientCounters {
  readonly total = zero();
  /** Ring of per-minute counts; `minutes[i]` says which minute slot i holds. */
  readonly buckets = Array.from({ length: BUCKETS }, zero);
  readonly minutes = new Array<number>(BUCKETS).fill(-1);

  add(now: number, count: Count, amount: number): void {
    const minute = Math.floor(now / BUCKET_MS);
    const slot = minute % BUCKETS;
    if (this.minutes[slot] !== minute) {
      this.minutes[slot] = minute;
      this.buckets[slot] = zero();
    }
    addTo(this.buckets[slot], count, amount);
    addTo(this.total, count, amount);
  }

  lastHour(now: number): UsageCounts {
    const minute = Math.floor(now / BUCKET_MS);
    const sum = zero();
    for (let slot = 0; slot < BUCKETS; slot++) {
      if (minute - this.minutes[slot] >= BUCKETS) continue;
      sumInto(sum, this.buckets[slot]);
    }
    return sum;
  }
}

export class UsageTracker {
  readonly #clients = new Map<string, ClientCounters>();
  readonly startedAt: Date;

  constructor(private readonly now: () => number = Date.now) {
    this.startedAt = new Date(now());
  }

  readonly sink: TelemetrySink = {
    ...noopSink,
    clientRequest: (e) => this.#add(e.client, { field: "requests" }, 1),
    upstreamRequest: (e) => {
      if (e.points <= 0) return;
      this.#add(e.client, { field: "pointsSpent" }, e.points);
      this.#add(e.client, { field: "pointsByResource", key: e.resource }, e.points);
    },
    pointsSaved: (client, _resource, points) => this.#add(client, { field: "pointsSaved" }, points),
    admitRefusal: (client, reason) => this.#add(client, { field: "refused", key: reason }, 1),
  };

  #add(client: string, count: Count, amount: number): void {
    let counters = this.#clients.get(client);
    if (!counters) this.#clients.set(client, counters = new ClientCounters());
    counters.add(this.now(), count, amount);
  }

  /** Clients ordered by points spent in the last hour, most first. */
  clients(): ClientUsage[] {
    const now = this.now();
    return [...this.#clients].map(([client, counters]) => ({
      client,
      lastHour: counters.lastHour(now),
      sinceStart: structuredClone(counters.total),
    })).sort((a, b) => b.lastHour.pointsSpent - a.lastHour.pointsSpent);
  }
}
