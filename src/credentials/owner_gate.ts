/**
 * One owner's door to GitHub (DESIGN §11): at most `concurrency` requests in flight, more wait
 * in a FIFO queue bounded in length and in wait; mutating requests are also paced (one a second,
 * 80 a minute), booked in arrival order. What waits too long, or finds the queue full, is
 * refused so the pool can answer with a rate refusal instead of GitHub's secondary limit.
 */
import { admission, nextWriteAtMs, recentWrites } from "./pacing.ts";

export interface GateLimits {
  /** `UPSTREAM_CONCURRENCY`: requests in flight per owner. */
  readonly concurrency: number;
  /** Longest queue per owner. */
  readonly maxQueued: number;
  /** Longest wait for a slot, and longest wait for a mutating request's turn. */
  readonly maxWaitMs: number;
}

/** What `enter` gives: a slot to release when the call has answered, or a refusal. */
export type Entry =
  | { readonly ok: true; release(): void }
  | { readonly ok: false; readonly retryAfterMs: number };

interface Waiter {
  readonly admit: () => void;
}

export class OwnerGate {
  #inFlight = 0;
  readonly #queue: Waiter[] = [];
  #writes: number[] = [];

  constructor(private readonly limits: GateLimits, private readonly now: () => number) {}

  get inFlight(): number {
    return this.#inFlight;
  }

  get queued(): number {
    return this.#queue.length;
  }

  /**
   * Waits for a slot (and, for a mutating request, its turn). `signal` aborting while it waits
   * rejects with the signal's reason and gives the place up.
   */
  async enter(mutating: boolean, signal?: AbortSignal): Promise<Entry> {
    const { concurrency, maxQueued, maxWaitMs } = this.limits;
    const decision = admission(this.#inFlight, this.#queue.length, concurrency, maxQueued);
    if (decision === "full") return { ok: false, retryAfterMs: 1000 };
    if (decision === "go") this.#inFlight++;
    else if (!await this.#wait(maxWaitMs, signal)) return { ok: false, retryAfterMs: 1000 };
    // A freed slot passes straight to the first waiter, so no newcomer can take it between.
    const release = once(() => {
      const next = this.#queue.shift();
      if (next) next.admit();
      else this.#inFlight--;
    });
    if (!mutating) return { ok: true, release };
    const at = this.now();
    this.#writes = recentWrites(this.#writes, at);
    const turn = nextWriteAtMs(this.#writes, at);
    if (turn - at > maxWaitMs) {
      release();
      return { ok: false, retryAfterMs: turn - at - maxWaitMs };
    }
    this.#writes.push(turn);
    try {
      await sleep(turn - at, signal);
    } catch (error) {
      release();
      throw error;
    }
    return { ok: true, release };
  }

  /** True once handed a slot from the queue, false when `maxWaitMs` passed first. */
  #wait(maxWaitMs: number, signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const { promise, resolve, reject } = Promise.withResolvers<boolean>();
    const leave = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", aborted);
      const index = this.#queue.indexOf(waiter);
      if (index >= 0) this.#queue.splice(index, 1);
    };
    const waiter: Waiter = {
      admit: () => {
        leave();
        resolve(true);
      },
    };
    const timer = setTimeout(() => {
      leave();
      resolve(false);
    }, maxWaitMs);
    const aborted = () => {
      leave();
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", aborted, { once: true });
    this.#queue.push(waiter);
    return promise;
  }
}

function once(run: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    run();
  };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  if (signal?.aborted) return Promise.reject(signal.reason);
  const { promise, resolve, reject } = Promise.withResolvers<void>();
  const timer = setTimeout(() => {
    signal?.removeEventListener("abort", aborted);
    resolve();
  }, ms);
  const aborted = () => {
    clearTimeout(timer);
    reject(signal?.reason);
  };
  signal?.addEventListener("abort", aborted, { once: true });
  return promise;
}
