/**
 * Narrowed mints GitHub refused for a reason the installation's permissions do not explain — a
 * repository the installation does not cover (DESIGN §8). Remembered per (installation,
 * narrowing) so the client's later requests get the same 403 at once instead of one refused mint
 * each; forgotten when the installations are read again (a webhook, hourly, a reload) or after
 * `ttlMs`, and bounded: the oldest refusal goes first.
 */

/** A bounded, expiring memory of refused narrowings: key → the refusal's wording. */
export class RefusedNarrowings {
  readonly #refusals = new Map<string, { readonly atMs: number; readonly why: string }>();

  constructor(
    readonly maxSize: number,
    readonly ttlMs: number,
    readonly now: () => number,
  ) {}

  /** GitHub refused the narrowing under `key`, for `why`. */
  remember(key: string, why: string): void {
    this.#refusals.delete(key);
    this.#refusals.set(key, { atMs: this.now(), why });
    for (const oldest of this.#refusals.keys()) {
      if (this.#refusals.size <= this.maxSize) break;
      this.#refusals.delete(oldest);
    }
  }

  /** Why GitHub refused the narrowing under `key`, while that is still remembered. */
  recall(key: string): string | undefined {
    const refusal = this.#refusals.get(key);
    if (refusal === undefined) return undefined;
    if (this.now() - refusal.atMs < this.ttlMs) return refusal.why;
    this.#refusals.delete(key);
    return undefined;
  }

  /** Forgets every refusal: what GitHub refused may be granted now. */
  clear(): void {
    this.#refusals.clear();
  }

  /** Refusals remembered. */
  get size(): number {
    return this.#refusals.size;
  }
}
