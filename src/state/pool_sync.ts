/**
 * The pool's standing across replicas (DESIGN §13), off the request path: write-behind and
 * poll. Every `intervalMs` this replica writes what it learnt (only when it changed) into its
 * own field of one shared map, and reads every replica's field into its own standing, so a park,
 * a cooldown or a refused PAT one replica saw is seen by the others within two intervals. Each
 * replica writes only its own field, and merging keeps the later or lower of two readings, so
 * writes never race and repeating one changes nothing. A replica also rewrites its field every
 * `HEARTBEAT_MS` with the time, so each can tell how many replicas are running (for `/status`).
 * A field without a recent heartbeat is a replica that stopped: what it learnt is not merged
 * (its refusal of a PAT since reloaded would otherwise come back for ever), and the readers
 * remove it, a few per exchange, so the map holds about one field per running replica.
 */
import type { Standing, StandingRecord } from "../credentials/standing.ts";
import type { GuardedStore } from "./guarded.ts";

const KEY = "github-proxy:state:pool";
/** The map itself is forgotten this long after the last write (every replica gone). */
const TTL_MS = 3_600_000;
/** How often the standing is exchanged: a park is seen by the others within about twice this. */
export const POOL_SYNC_INTERVAL_MS = 250;
/** How often a replica rewrites its field even unchanged: it is counted as running meanwhile. */
const HEARTBEAT_MS = 10_000;
/**
 * A replica whose field is older than this is no longer counted, merged or kept (three missed
 * heartbeats; a running replica that reaches the store rewrites its field every `HEARTBEAT_MS`).
 */
const RUNNING_MS = 3 * HEARTBEAT_MS;
/** Abandoned fields one exchange removes at most: its work stays bounded after any churn. */
const PRUNED_PER_SYNC = 16;

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
    const abandoned: string[] = [];
    for (const [replica, text] of Object.entries(all)) {
      if (replica === options.replica) continue;
      const field = parseField(text);
      if (field === undefined || field.at <= at - RUNNING_MS) {
        if (abandoned.length < PRUNED_PER_SYNC) abandoned.push(replica);
        continue;
      }
      alive++;
      if (field.record) standing.absorb(field.record);
    }
    // A replica silent this long that comes back rewrites its field at its next heartbeat.
    if (abandoned.length > 0) await store.write((s) => s.mapDelete(KEY, abandoned));
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

/**
 * A field another replica wrote: its heartbeat, and its standing unless written in a shape this
 * version does not read (a replica of another version still counts as running); undefined
 * when it carries no heartbeat at all.
 */
function parseField(text: string): { at: number; record?: StandingRecord } | undefined {
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value?.at !== "number") return undefined;
  const isMap = (part: unknown) =>
    typeof part === "object" && part !== null && !Array.isArray(part);
  return isMap(value.owners) && isMap(value.pats)
    ? { at: value.at, record: value }
    : { at: value.at };
}
