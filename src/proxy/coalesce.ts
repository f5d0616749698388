/**
 * Request coalescing: concurrent calls with the same key share one piece of work. The work runs
 * detached from every caller, so a caller that goes away (its client disconnected) neither
 * cancels it nor the answer the others wait for.
 */
export interface Joined<T> {
  readonly result: Promise<T>;
  /** False when this caller joined work another caller started. */
  readonly leader: boolean;
}

export class Coalescer<T> {
  readonly #inflight = new Map<string, Promise<T>>();

  get size(): number {
    return this.#inflight.size;
  }

  has(key: string): boolean {
    return this.#inflight.has(key);
  }

  join(key: string, work: () => Promise<T>): Joined<T> {
    const running = this.#inflight.get(key);
    if (running) return { result: running, leader: false };
    const result = work().finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, result);
    return { result, leader: true };
  }
}
