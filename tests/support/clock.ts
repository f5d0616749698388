/**
 * A clock that moves only when a test moves it, for the fake GitHub and the gateway to share,
 * so that no assertion depends on where a second boundary falls on a loaded machine.
 */
export class ManualClock {
  #ms: number;

  /** Starts at `startMs` (default: the current whole second, so epoch seconds are exact). */
  constructor(startMs = Math.floor(Date.now() / 1000) * 1000) {
    this.#ms = startMs;
  }

  /** The clock's time in epoch milliseconds; pass it as a `now` option (it is bound). */
  readonly now = (): number => this.#ms;

  /** The clock's time in whole epoch seconds, as GitHub's rate-limit headers count. */
  seconds(): number {
    return Math.floor(this.#ms / 1000);
  }

  advance(ms: number): void {
    this.#ms += ms;
  }

  /** Moves the clock to `ms`; never backwards. */
  set(ms: number): void {
    this.#ms = Math.max(this.#ms, ms);
  }
}
