/**
 * The status page's 60-minute chart: a ring of one bucket per minute (points spent, points
 * saved, cache answers), fed by telemetry events. Bounded: 60 buckets, whatever the traffic.
 */
import type { CacheResult, TelemetrySink } from "./events.ts";
import { noopSink } from "./events.ts";

const MINUTE_MS = 60_000;
/** Minutes the chart shows. */
export const HISTORY_MINUTES = 60;

/** One minute of traffic. */
export interface MinuteCounts {
  /** The minute's start, epoch ms. */
  readonly startMs: number;
  readonly spent: number;
  readonly saved: number;
  /** Requests the cache answered (hit, free 304, shared call). */
  readonly cacheAnswered: number;
  /** Requests the cache could have answered but GitHub did (a miss). */
  readonly cacheMissed: number;
}

interface Bucket {
  minute: number;
  spent: number;
  saved: number;
  cacheAnswered: number;
  cacheMissed: number;
}

const ANSWERED: ReadonlySet<CacheResult> = new Set(["hit", "revalidated", "coalesced"]);

/** Per-minute counts of the last hour, for the status page. */
export class PointsHistory {
  readonly #buckets: Bucket[] = Array.from(
    { length: HISTORY_MINUTES },
    () => ({ minute: -1, spent: 0, saved: 0, cacheAnswered: 0, cacheMissed: 0 }),
  );

  constructor(private readonly now: () => number = Date.now) {}

  /** Feeds the ring: points from the pool's answers, savings and cache results per request. */
  readonly sink: TelemetrySink = {
    ...noopSink,
    upstreamRequest: (event) => {
      if (event.points > 0) this.#bucket().spent += event.points;
    },
    pointsSaved: (_client, _resource, points) => {
      this.#bucket().saved += points;
    },
    clientRequest: (event) => {
      if (ANSWERED.has(event.cache)) this.#bucket().cacheAnswered++;
      else if (event.cache === "miss") this.#bucket().cacheMissed++;
    },
  };

  #bucket(): Bucket {
    const minute = Math.floor(this.now() / MINUTE_MS);
    const bucket = this.#buckets[minute % HISTORY_MINUTES];
    if (bucket.minute !== minute) {
      Object.assign(bucket, { minute, spent: 0, saved: 0, cacheAnswered: 0, cacheMissed: 0 });
    }
    return bucket;
  }

  /** The last 60 minutes, oldest first, the current minute last; minutes without traffic at 0. */
  minutes(): MinuteCounts[] {
    const current = Math.floor(this.now() / MINUTE_MS);
    return Array.from({ length: HISTORY_MINUTES }, (_, index) => {
      const minute = current - (HISTORY_MINUTES - 1) + index;
      const bucket = this.#buckets[minute % HISTORY_MINUTES];
      const held = bucket.minute === minute;
      return {
        startMs: minute * MINUTE_MS,
        spent: held ? bucket.spent : 0,
        saved: held ? bucket.saved : 0,
        cacheAnswered: held ? bucket.cacheAnswered : 0,
        cacheMissed: held ? bucket.cacheMissed : 0,
      };
    });
  }
}
