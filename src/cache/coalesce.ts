/**
 * Request coalescing: concurrent calls with the same key share one piece of work, a flight. A
 * flight has a deadline and a count of waiters: at the deadline it is aborted and forgotten, so
 * a stuck call never holds later callers; when its last waiter leaves (every client
 * disconnected) it is aborted too, so nothing keeps running for no one. A waiter that leaves
 * while others stay changes nothing for them.
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
}

/** Work that gives up when `signal` aborts (deadline passed, or no one waits any more). */
export type Work<T> = (signal: AbortSignal) => Promise<T>;

interface Flight<T> {
  /** Absent for a solo flight, which no one can join. */
  readonly key?: string;
  readonly result: Promise<T>;
  readonly abort: AbortController;
  waiters: number;
  settled: boolean;
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

  /** Joins the flight for `key`, or starts one; `waiter` aborting means this caller left. */
  join(key: string, work: Work<T>, waiter?: AbortSignal): Joined<T> {
    const running = this.#inflight.get(key);
    if (running) return { result: this.#wait(running, waiter), leader: false };
    const flight = this.#start(work, key);
    return { result: this.#wait(flight, waiter), leader: true };
  }

  /** Runs `work` as a flight of its own that no one else can join, with the same bounds. */
  solo(work: Work<T>, waiter?: AbortSignal): Promise<T> {
    return this.#wait(this.#start(work), waiter);
  }

  #start(work: Work<T>, key?: string): Flight<T> {
    const abort = new AbortController();
    const aborted = new Promise<never>((_, reject) => {
      abort.signal.addEventListener("abort", () => reject(abort.signal.reason), { once: true });
    });
    // The one timer of the flight: it covers headers and body, for every credential tried.
    const timer = setTimeout(
      () => this.#abort(flight, this.options.overdue()),
      this.options.deadlineMs,
    );
    const flight: Flight<T> = {
      key,
      abort,
      waiters: 0,
      settled: false,
      result: Promise.race([work(abort.signal), aborted]).finally(() => {
        flight.settled = true;
        clearTimeout(timer);
        this.#forget(flight);
      }),
    };
    if (key !== undefined) this.#inflight.set(key, flight);
    return flight;
  }

  #wait(flight: Flight<T>, waiter: AbortSignal | undefined): Promise<T> {
    flight.waiters++;
    if (!waiter) return flight.result;
    return new Promise<T>((resolve, reject) => {
      const leave = () => {
        reject(waiter.reason);
        if (--flight.waiters === 0 && !flight.settled) this.#abort(flight, waiter.reason);
      };
      // Handled before anything can abort the flight: a waiter already gone (its client left
      // while the lookup was awaited) aborts it at once, and an unhandled rejection would end
      // the process.
      flight.result.then(resolve, reject).finally(() => waiter.removeEventListener("abort", leave));
      if (waiter.aborted) return leave();
      waiter.addEventListener("abort", leave, { once: true });
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
