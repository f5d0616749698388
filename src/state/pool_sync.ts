/**
 * The pool's standing across replicas (DESIGN §13), off the request path: write-behind and
 * poll. Every `intervalMs` this replica writes what it learnt (only when it changed) into its
 * own field of one shared map, and reads every replica's field into its own standing, so a park,
 * a cooldown or a refused PAT one replica saw is seen by the others within two intervals. Each
 * replica writes only its own field, and merging keeps the later or lower of two readings, so
 * writes never race and repeating one changes nothing.
 */
import type { Standing, StandingRecord } from "../credentials/standing.ts";
import type { GuardedStore } from "./guarded.ts";

const KEY = "github-proxy:state:pool";
/** A replica gone for this long is forgotten with its field (the map expires as a whole). */
const TTL_MS = 3_600_000;
/** How often the standing is exchanged: a park is seen by the others within about twice this. */
export const POOL_SYNC_INTERVAL_MS = 250;

export interface PoolSyncOptions {
  /** This replica's field in the shared map. */
  readonly replica: string;
  readonly intervalMs?: number;
}

/** Exchanges `standing` through `store` until the returned function is called. */
export function syncStanding(
  standing: Standing,
  store: GuardedStore,
  options: PoolSyncOptions,
): { stop(): Promise<void>; flush(): Promise<void> } {
  const intervalMs = options.intervalMs ?? POOL_SYNC_INTERVAL_MS;
  let written = "";
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> = Promise.resolve();

  const exchange = async () => {
    const mine = JSON.stringify(standing.learnt());
    if (mine !== written) {
      const ok = await store.write((s) => s.mapSet(KEY, options.replica, mine, TTL_MS));
      if (ok !== undefined) written = mine;
    }
    const all = await store.read((s) => s.mapGetAll(KEY));
    for (const [replica, text] of Object.entries(all ?? {})) {
      if (replica === options.replica) continue;
      const record = parseRecord(text);
      if (record) standing.absorb(record);
    }
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
  };
}

/** A field another replica wrote; undefined when it is not a standing record. */
function parseRecord(text: string): StandingRecord | undefined {
  try {
    const value = JSON.parse(text);
    if (typeof value?.owners !== "object" || !Array.isArray(value?.bad)) return undefined;
    return value as StandingRecord;
  } catch {
    return undefined;
  }
}
