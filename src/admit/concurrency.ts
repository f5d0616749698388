/**
 * A client's requests in flight (DESIGN §11 `limits.concurrency`): up to the limit run, the next
 * ones wait in a FIFO queue no longer than the limit itself for at most a short while, and the
 * rest are refused at once. Every wait is bounded; a waiter whose client left is dropped. A
 * request holds its place until its answer's headers are ready: a body that streams on does not.
 */

/** Schedules `run` after `ms`; returns the cancel. Tests inject one they drive by hand. */
export type SetTimer = (ms: number, run: () => void) => () => void;

export const realTimer: SetTimer = (ms, run) => {
  const id = setTimeout(run, ms);
  return () => clearTimeout(id);
};

interface Waiter {
  readonly admit: () => void;
}

export class ConcurrencyGate {
  #inFlight = 0;
  readonly #queue: Waiter[] = [];

  constructor(private readonly setTimer: SetTimer) {}

  get inFlight(): number {
    return this.#inFlight;
  }

  get waiting(): number {
    return this.#queue.length;
  }

  /**
   * Resolves true once the request may run (it then holds a place until `release`), false when
   * the queue is full, the wait ran out or the signal aborted. `waiting` gives the signal, only
   * asked for when the request must wait (a request's signal costs Deno an operation).
   */
  acquire(limit: number, waitMs: number, waiting?: () => AbortSignal): Promise<boolean> {
    if (this.#inFlight < limit && this.#queue.length === 0) {
      this.#inFlight++;
      return Promise.resolve(true);
    }
    const signal = waiting?.();
    if (this.#queue.length >= limit || signal?.aborted) return Promise.resolve(false);
    const { promise, resolve } = Promise.withResolvers<boolean>();
    const leave = (admitted: boolean) => {
      cancel();
      signal?.removeEventListener("abort", onAbort);
      const index = this.#queue.indexOf(waiter);
      if (index >= 0) this.#queue.splice(index, 1);
      resolve(admitted);
    };
    const waiter: Waiter = { admit: () => leave(true) };
    const onAbort = () => leave(false);
    const cancel = this.setTimer(waitMs, () => leave(false));
    signal?.addEventListener("abort", onAbort, { once: true });
    this.#queue.push(waiter);
    return promise;
  }

  /** Gives a place back: the longest waiter takes it, else it is free. */
  release(): void {
    const next = this.#queue[0];
    if (next) next.admit();
    else this.#inFlight--;
  }
}
