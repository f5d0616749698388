/**
 * Request coalescing: concurrent calls with the same key share one piece of work, a flight. A
 * flight has a deadline and its waiters: at the deadline it is aborted and forgotten, so a stuck
 * call never holds later callers; when its last waiter leaves (every client disconnected) it is
 * aborted too, so nothing keeps running for no one. A waiter that leaves while others stay
 * changes nothing for them. Waiters' signals are watched only once a flight has run a while:
 * asking Deno for a request's signal costs an operation, and most flights end sooner.
 */
export interface Joined<T> {
  /** The work's result, or a rejection with the waiter's own abort reason once it left. */
  readonly result: Promise<T>;
  /** False when this caller joined work another caller started. */
  readonly leader: boolean;
}

export interface CoalescerOptions {
  /** How long one flight may run, from its start until its work settles. */
  readonly deadlineMs: number;
  /** What an overdue flight is aborted with: its waiters' rejection. */
  readonly overdue: () => Error;
  /** How long a flight runs before its waiters' signals are watched (default 100 ms). */
  readonly watchAfterMs?: number;
}

/** Work that gives up when `signal` aborts (deadline passed, or no one waits any more). */
export type Work<T> = (signal: AbortSignal) => Promise<T>;

/** A caller's signal, asked for only when its flight has run long enough to watch it. */
export type Waiter = () => AbortSignal;

const WATCH_AFTER_MS = 100;

interface Flight<T> {
  /** Absent for a solo flight, which no one can join. */
  readonly key?: string;
  readonly result: Promise<T>;
  readonly abort: AbortController;
  waiters: number;
  settled: boolean;
  /** Waiters to watch once the flight has run `watchAfterMs`; null once they are watched. */
  unwatched: (() => void)[] | null;
}

export class Coalescer<T> {
  readonly #inflight = new Map<string, Flight<T>>();

  constructor(private readonly options: CoalescerOptions) {}

  get size(): number {
    return this.#inflight.size;
  }

  has(key: string): boolean {
    return this.#inflight.has(key);
  }

  /** Callers waiting on flights others can join (counted when asked, not on the way). */
  get waiting(): number {
    let waiting = 0;
    for (const flight of this.#inflight.values()) waiting += flight.waiters;
    return waiting;
  }

  /** Joins the flight for `key`, or starts one; `waiter` aborting means this caller left. */
  join(key: string, work: Work<T>, waiter?: Waiter): Joined<T> {
    const running = this.#inflight.get(key);
    if (running) return { result: this.#wait(running, waiter), leader: false };
    const flight = this.#start(work, key);
    return { result: this.#wait(flight, waiter), leader: true };
  }

  /** Runs `work` as a flight of its own that no one else can join, with the same bounds. */
  solo(work: Work<T>, waiter?: Waiter): Promise<T> {
    return this.#wait(this.#start(work), waiter);
  }

  #start(work: Work<T>, key?: string): Flight<T> {
    const abort = new AbortController();
    const aborted = new Promise<never>((_, reject) => {
      abort.signal.addEventListener("abort", () => reject(abort.signal.reason), { once: true });
    });
    const { deadlineMs } = this.options;
    const watchAfterMs = Math.min(this.options.watchAfterMs ?? WATCH_AFTER_MS, deadlineMs);
    // The one timer of the flight: first to start watching its waiters, then for the deadline,
    // which covers headers and body, for every credential tried.
    let timer = setTimeout(() => {
      const unwatched = flight.unwatched ?? [];
      flight.unwatched = null;
      for (const watch of unwatched) watch();
      timer = setTimeout(
        () => this.#abort(flight, this.options.overdue()),
        deadlineMs - watchAfterMs,
      );
    }, watchAfterMs);
    const flight: Flight<T> = {
      key,
      abort,
      waiters: 0,
      settled: false,
      unwatched: [],
      result: Promise.race([work(abort.signal), aborted]).finally(() => {
        flight.settled = true;
        flight.unwatched = null;
        clearTimeout(timer);
        this.#forget(flight);
      }),
    };
    if (key !== undefined) this.#inflight.set(key, flight);
    return flight;
  }

  #wait(flight: Flight<T>, waiter: Waiter | undefined): Promise<T> {
    flight.waiters++;
    if (!waiter) return flight.result;
    return new Promise<T>((resolve, reject) => {
      let signal: AbortSignal | undefined;
      const leave = () => {
        reject(signal!.reason);
        if (--flight.waiters === 0 && !flight.settled) this.#abort(flight, signal!.reason);
      };
      // Handled before anything can abort the flight, or a rejection no one handles would end
      // the process.
      flight.result.then(resolve, reject).finally(() =>
        signal?.removeEventListener("abort", leave)
      );
      const watch = () => {
        signal = waiter();
        // Gone before it was watched (its client left while the flight ran): it leaves now.
        if (signal.aborted) leave();
        else signal.addEventListener("abort", leave, { once: true });
      };
      if (flight.unwatched) flight.unwatched.push(watch);
      else if (!flight.settled) watch();
    });
  }

  /** Forgets the flight first: from now on a caller of its key starts a new one. */
  #abort(flight: Flight<T>, reason: unknown): void {
    this.#forget(flight);
    flight.abort.abort(reason);
  }

  #forget(flight: Flight<T>): void {
    const { key } = flight;
    if (key !== undefined && this.#inflight.get(key) === flight) this.#inflight.delete(key);
  }
}
