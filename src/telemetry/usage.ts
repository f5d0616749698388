/**
 * Who used how much: per-client requests and rate-limit points, in the last hour (one-minute
 * buckets) and since start — what `GET /usage` shows and logging summaries report.
 */
import type { TelemetrySink } from "./events.ts";
import { noopSink } from "./events.ts";

export interface UsageCounts {
  requests: number;
  pointsSpent: number;
  pointsSaved: number;
}

export interface ClientUsage {
  readonly client: string;
  readonly lastHour: UsageCounts;
  readonly sinceStart: UsageCounts;
}

const BUCKET_MS = 60_000;
const BUCKETS = 60;

const zero = (): UsageCounts => ({ requests: 0, pointsSpent: 0, pointsSaved: 0 });

class ClientCounters {
  readonly total = zero();
  /** Ring of per-minute counts; `minutes[i]` says which minute slot i holds. */
  readonly buckets = Array.from({ length: BUCKETS }, zero);
  readonly minutes = new Array<number>(BUCKETS).fill(-1);

  add(now: number, field: keyof UsageCounts, amount: number): void {
    const minute = Math.floor(now / BUCKET_MS);
    const slot = minute % BUCKETS;
    if (this.minutes[slot] !== minute) {
      this.minutes[slot] = minute;
      this.buckets[slot] = zero();
    }
    this.buckets[slot][field] += amount;
    this.total[field] += amount;
  }

  lastHour(now: number): UsageCounts {
    const minute = Math.floor(now / BUCKET_MS);
    const sum = zero();
    for (let slot = 0; slot < BUCKETS; slot++) {
      if (minute - this.minutes[slot] >= BUCKETS) continue;
      sum.requests += this.buckets[slot].requests;
      sum.pointsSpent += this.buckets[slot].pointsSpent;
      sum.pointsSaved += this.buckets[slot].pointsSaved;
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
    clientRequest: (e) => this.#add(e.client, "requests", 1),
    upstreamRequest: (e) => {
      if (e.points > 0) this.#add(e.client, "pointsSpent", e.points);
    },
    pointsSaved: (client, points) => this.#add(client, "pointsSaved", points),
  };

  #add(client: string, field: keyof UsageCounts, amount: number): void {
    let counters = this.#clients.get(client);
    if (!counters) this.#clients.set(client, counters = new ClientCounters());
    counters.add(this.now(), field, amount);
  }

  /** Clients ordered by points spent in the last hour, most first. */
  clients(): ClientUsage[] {
    const now = this.now();
    return [...this.#clients].map(([client, counters]) => ({
      client,
      lastHour: counters.lastHour(now),
      sinceStart: { ...counters.total },
    })).sort((a, b) => b.lastHour.pointsSpent - a.lastHour.pointsSpent);
  }
}
