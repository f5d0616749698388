/**
 * Stale marks across replicas (DESIGN §12, §13). The cache asks `isStale` on every read of a
 * young entry, so the question is answered from this replica's own marks in memory; the store
 * only carries marks from one replica to the others, off the request path:
 *
 * - A mark is made locally at once and queued; the queue is written as one record, a new field
 *   of the journal map of the current second (`…:stale:<second>`, expiring after `JOURNAL_MS`).
 *   Every record is a field of its own, so writes never race and a repeated one changes nothing.
 * - Every `intervalMs` each replica reads the journal maps from just before its last read up to
 *   the next second (covering a write still in flight and clocks a second apart), and merges the
 *   records of the others it has not merged yet.
 *
 * So a mark made on one replica is honoured by the others within about one interval plus two
 * store round trips (under a second at the default 250 ms). A replica that has not read the
 * journal for longer than it keeps records (it just started, or the store failed that long) may
 * have missed marks, all older than the journal; it then distrusts every entry validated before
 * them, which costs one revalidation per entry and never serves a stale one. While the store
 * fails, each replica goes on with its own marks, and its queue is written when it is back.
 */
import { LocalStaleMarks, MAX_STALE_MARKS, type StaleMarks } from "../webhooks/stale_marks.ts";
import type { StaleResource } from "../webhooks/stale_resource.ts";
import type { GuardedStore } from "./guarded.ts";

const PREFIX = "github-proxy:state:stale:";
/** The journal's granularity: one map per second of the writer's clock. */
const SLOT_MS = 1000;
/** How long the journal keeps a record: the longest a replica may go without reading it. */
export const JOURNAL_MS = 60_000;
/** How often marks are exchanged. */
export const STALE_SYNC_INTERVAL_MS = 250;
/** Marks in one record at most, to keep a value small. */
const MAX_RECORD_MARKS = 1000;
/** The scope of a journal mark that means "distrust everything validated before its time". */
const WATERMARK = "";

/** A mark as the journal carries it: scope, pattern, when. */
type JournalMark = readonly [scope: string, pattern: string, atMs: number];

export interface SharedStaleMarksOptions {
  /** This replica's prefix on the records it writes (its own are not merged back). */
  readonly replica: string;
  /** `CACHE_TTL` in ms, as for `LocalStaleMarks`. */
  readonly ttlMs: number;
  readonly now?: () => number;
  readonly intervalMs?: number;
  /** Marks kept (and queued) at most. */
  readonly maxMarks?: number;
}

export class SharedStaleMarks implements StaleMarks {
  readonly #local: LocalStaleMarks;
  readonly #now: () => number;
  readonly #replica: string;
  readonly #intervalMs: number;
  readonly #maxMarks: number;
  /** Marks made here and not yet written, oldest first. */
  #queue: JournalMark[] = [];
  /** The latest time among marks the bounded queue dropped: written as a watermark. */
  #queueDroppedUpTo = -Infinity;
  #records = 0;
  #writing: Promise<void> = Promise.resolve();
  /** Journal second → records merged from it (kept while the second is read again). */
  readonly #merged = new Map<number, Set<string>>();
  /** The journal second of the last complete read; undefined before the first. */
  #readUpTo: number | undefined;
  #stopped = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> = Promise.resolve();

  private constructor(private readonly store: GuardedStore, options: SharedStaleMarksOptions) {
    this.#now = options.now ?? Date.now;
    this.#replica = options.replica;
    this.#intervalMs = options.intervalMs ?? STALE_SYNC_INTERVAL_MS;
    this.#maxMarks = options.maxMarks ?? MAX_STALE_MARKS;
    this.#local = new LocalStaleMarks({
      ttlMs: options.ttlMs,
      now: this.#now,
      maxMarks: this.#maxMarks,
    });
  }

  /**
   * Marks shared through `store`, exchanged until `stop`; resolves after the first exchange,
   * so a replica's first reads already honour the others' marks (when the store answers).
   */
  static async open(
    store: GuardedStore,
    options: SharedStaleMarksOptions,
  ): Promise<SharedStaleMarks> {
    const marks = new SharedStaleMarks(store, options);
    marks.#tick();
    await marks.#running;
    return marks;
  }

  mark(resources: readonly StaleResource[], atMs: number): void {
    this.#local.mark(resources, atMs);
    for (const { scope, pattern } of resources) this.#queue.push([scope, pattern, atMs]);
    this.#bound();
    void this.#write();
  }

  isStale(path: string, validatedAtMs: number): boolean {
    return this.#local.isStale(path, validatedAtMs);
  }

  /** Writes the queue and reads the journal now, after the exchange under way (for tests). */
  async sync(): Promise<void> {
    await this.#running;
    await this.#exchange();
  }

  /** Stops exchanging, after writing what is queued (when the store answers). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
    await this.#write();
  }

  #tick(): void {
    this.#running = this.#exchange().finally(() => {
      if (!this.#stopped) this.#timer = setTimeout(() => this.#tick(), this.#intervalMs);
    });
  }

  async #exchange(): Promise<void> {
    await this.#write();
    await this.#read();
  }

  /** Writes the queue, one record at a time; what fails goes back for the next exchange. */
  #write(): Promise<void> {
    this.#writing = this.#writing.then(async () => {
      while (this.#queue.length > 0 || this.#queueDroppedUpTo > -Infinity) {
        const record = this.#queue.splice(0, MAX_RECORD_MARKS);
        const watermark = this.#queueDroppedUpTo;
        this.#queueDroppedUpTo = -Infinity;
        const key = PREFIX + Math.floor(this.#now() / SLOT_MS);
        const field = `${this.#replica}:${++this.#records}`;
        const value = watermark > -Infinity ? [...record, [WATERMARK, "", watermark]] : record;
        const written = await this.store.write((store) =>
          store.mapSet(key, field, JSON.stringify(value), JOURNAL_MS)
        );
        if (written === undefined) {
          this.#queue.unshift(...record);
          this.#queueDroppedUpTo = Math.max(this.#queueDroppedUpTo, watermark);
          this.#bound();
          return;
        }
      }
    });
    return this.#writing;
  }

  /** Keeps the queue bounded: the oldest marks go, and the watermark stands for them. */
  #bound(): void {
    const over = this.#queue.length - this.#maxMarks;
    if (over <= 0) return;
    for (const [, , atMs] of this.#queue.splice(0, over)) {
      this.#queueDroppedUpTo = Math.max(this.#queueDroppedUpTo, atMs);
    }
  }

  /** Merges the others' records from the journal seconds not read completely yet. */
  async #read(): Promise<void> {
    const now = this.#now();
    const second = Math.floor(now / SLOT_MS);
    const oldest = second - JOURNAL_MS / SLOT_MS + 1;
    const missed = this.#readUpTo === undefined || this.#readUpTo - 1 < oldest;
    const from = missed ? oldest : this.#readUpTo! - 1;
    const seconds = Array.from({ length: second + 2 - from }, (_, i) => from + i);
    const maps = await Promise.all(
      seconds.map((s) => this.store.read((store) => store.mapGetAll(PREFIX + s))),
    );
    if (maps.some((map) => map === undefined)) return;
    seconds.forEach((s, i) => this.#merge(s, maps[i]!));
    // Records older than the journal are gone: whatever they marked is older than this.
    if (missed) this.#local.distrustBefore(now - JOURNAL_MS + 2 * SLOT_MS);
    this.#readUpTo = second;
    for (const s of this.#merged.keys()) if (s < from) this.#merged.delete(s);
  }

  #merge(second: number, map: Record<string, string>): void {
    const merged = this.#merged.get(second) ?? new Set<string>();
    this.#merged.set(second, merged);
    for (const [field, text] of Object.entries(map)) {
      if (merged.has(field) || field.startsWith(`${this.#replica}:`)) continue;
      merged.add(field);
      for (const [scope, pattern, atMs] of parseRecord(text)) {
        if (scope === WATERMARK) this.#local.distrustBefore(atMs);
        else this.#local.mark([{ scope, pattern }], atMs);
      }
    }
  }
}

/** The marks of a record another replica wrote; those not shaped as marks are ignored. */
function parseRecord(text: string): JournalMark[] {
  try {
    const value: unknown = JSON.parse(text);
    if (!Array.isArray(value)) return [];
    return value.filter((mark): mark is JournalMark =>
      Array.isArray(mark) && typeof mark[0] === "string" && typeof mark[1] === "string" &&
      typeof mark[2] === "number"
    );
  } catch {
    return [];
  }
}
