/**
 * The pool's standing across replicas (DESIGN §13), off the request path: write-behind and
 * poll. Every `intervalMs` this replica writes what it learnt (only when it changed) into its
 * own field of one shared map, and reads every replica's field into its own standing, so a park,
 * a cooldown or a refused PAT one replica saw is seen by the others within two intervals. Each
 * replica writes only its own field, and merging keeps the later or lower of two readings, so
 * writes never race and repeating one changes nothing. A replica also rewrites its field every
 * `HEARTBEAT_MS` with the time, so each can tell how many replicas are running (for `/status`).
 */
import type { Standing, StandingRecord } from "../credentials/standing.ts";
import type { GuardedStore } from "./guarded.ts";

const KEY = "github-proxy:state:pool";
/** A replica gone for this long is forgotten with its field (the map expires as a whole). */
const TTL_MS = 3_600_000;
/** How often the standing is exchanged: a park is seen by the others within about twice this. */
export const POOL_SYNC_INTERVAL_MS = 250;
/** How often a replica rewrites its field even unchanged: it is counted as running meanwhile. */
const HEARTBEAT_MS = 10_000;
/** A replica whose field is older than this is no longer counted (three missed heartbeats). */
const RUNNING_MS = 3 * HEARTBEAT_MS;

export interface PoolSyncOptions {
  /** This replica's field in the shared map. */
  readonly replica: string;
  readonly intervalMs?: number;
  /** The clock the heartbeats carry (default `Date.now`). */
  readonly now?: () => number;
}

/** What the exchange tells of the fleet. */
export interface PoolSyncView {
  /** Replicas whose heartbeat is recent, this one included; undefined before the first read. */
  readonly replicas?: number;
  /** When this replica last read the others' standing; undefined before the first read. */
  readonly lastSyncAt?: number;
}

/** Exchanges `standing` through `store` until the returned function is called. */
export function syncStanding(
  standing: Standing,
  store: GuardedStore,
  options: PoolSyncOptions,
): { stop(): Promise<void>; flush(): Promise<void>; view(): PoolSyncView } {
  const intervalMs = options.intervalMs ?? POOL_SYNC_INTERVAL_MS;
  const now = options.now ?? Date.now;
  let written = "";
  let writtenAt = -Infinity;
  let view: PoolSyncView = {};
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> = Promise.resolve();

  const exchange = async () => {
    const learnt = standing.learnt();
    const mine = JSON.stringify(learnt);
    const at = now();
    if (mine !== written || at - writtenAt >= HEARTBEAT_MS) {
      const field = JSON.stringify({ ...learnt, at });
      const ok = await store.write((s) => s.mapSet(KEY, options.replica, field, TTL_MS));
      if (ok !== undefined) [written, writtenAt] = [mine, at];
    }
    const all = await store.read((s) => s.mapGetAll(KEY));
    if (all === undefined) return;
    let alive = 1;
    for (const [replica, text] of Object.entries(all)) {
      if (replica === options.replica) continue;
      const record = parseRecord(text);
      if (!record) continue;
      standing.absorb(record);
      if (typeof record.at === "number" && record.at > at - RUNNING_MS) alive++;
    }
    view = { replicas: alive, lastSyncAt: at };
  };

  const tick = () => {
    running = exchange().finally(() => {
      if (!stopped) timer = setTimeout(tick, intervalMs);
    });
  };
  tick();

  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
    /** One exchange now, after the one under way: for tests and for a clean shutdown. */
    async flush() {
      await running;
      await exchange();
    },
    view: () => view,
  };
}

/** A field another replica wrote; undefined when it is not a standing record. */
function parseRecord(text: string): (StandingRecord & { at?: unknown }) | undefined {
  try {
    const value = JSON.parse(text);
    if (typeof value?.owners !== "object" || !Array.isArray(value?.bad)) return undefined;
    return value as StandingRecord;
  } catch {
    return undefined;
  }
}
