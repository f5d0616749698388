/**
 * Fail-open: every backend call is bounded in time and never throws at the request path. A
 * failure turns a lookup into a miss and a write into a no-op; failures are counted and logged
 * at most once per interval, so a dead backend cannot flood the log or fail a client request.
 * After a failed lookup the backend is left alone for a cool-down, so that while it hangs only
 * one request now and then waits for the timeout; a timed-out lookup that answers late ends the
 * cool-down, as skipping lookups turns free revalidations into paid requests. (A slow write does
 * not trigger it: writes are off the request path.)
 */
import type { CacheBackendEvent } from "../../telemetry/events.ts";
import type { Logger } from "../../log.ts";
import { safeErrorSummary } from "../../http/errors.ts";
import { withDeadline } from "../../deadline.ts";
import { BackendAuthError, type CacheBackend, type MaybeEntry, type Written } from "./backend.ts";
import type { CacheEntry } from "../entry.ts";

export interface GuardOptions {
  /** Bound for lookups and readiness pings. */
  readonly readTimeoutMs: number;
  /** Bound for writes, which carry whole bodies. */
  readonly writeTimeoutMs: number;
  readonly reportIntervalMs: number;
  /** After a failed lookup, calls are skipped (as failed) for this long. */
  readonly cooldownMs: number;
  readonly logger: Logger;
  readonly now?: () => number;
  /** Told of every backend call: its latency and whether it failed. */
  readonly onOperation?: (event: CacheBackendEvent) => void;
}

export const DEFAULT_GUARD: Omit<GuardOptions, "logger"> = {
  readTimeoutMs: 200,
  writeTimeoutMs: 1000,
  reportIntervalMs: 60_000,
  cooldownMs: 1000,
};

export type Lookup =
  | { readonly ok: true; readonly entry: CacheEntry | undefined }
  | { readonly ok: false };

class BackendTimeout extends Error {
  constructor(operation: string, ms: number) {
    super(`cache ${operation} took longer than ${ms} ms`);
    this.name = "BackendTimeout";
  }
}

export class GuardedBackend {
  #failures = 0;
  #unreported = 0;
  #lastReport = -Infinity;
  #skipUntil = -Infinity;
  #skipped = 0;
  #healthy = true;
  readonly #now: () => number;

  constructor(readonly backend: CacheBackend, private readonly options: GuardOptions) {
    this.#now = options.now ?? Date.now;
  }

  get kind(): string {
    return this.backend.kind;
  }

  /** Failed or timed-out backend calls since start. */
  get failures(): number {
    return this.#failures;
  }

  /** The last call answered in time (a degraded backend is reported, never a client error). */
  get healthy(): boolean {
    return this.#healthy;
  }

  /** Calls not made because the backend had just failed. */
  get skipped(): number {
    return this.#skipped;
  }

  /**
   * The backend's lookup; `acceptedAgeMs` as `CacheBackend.get` takes it. An answer from this
   * process's memory comes at once (no deadline to arm), others within the read timeout.
   */
  get(key: string, acceptedAgeMs = 0): Lookup | Promise<Lookup> {
    if (this.#coolingDown()) return { ok: false };
    const started = performance.now();
    let answer: MaybeEntry | Promise<MaybeEntry>;
    try {
      answer = this.backend.get(key, acceptedAgeMs);
    } catch (error) {
      this.#report("get", started, true);
      return this.#lookupFailed(error);
    }
    if (answer instanceof Promise) return this.#awaitLookup(answer);
    this.#healthy = true;
    this.#report("get", started, false);
    return { ok: true, entry: answer };
  }

  async #awaitLookup(answer: Promise<MaybeEntry>): Promise<Lookup> {
    try {
      return { ok: true, entry: await this.#bounded("get", this.options.readTimeoutMs, answer) };
    } catch (error) {
      this.#lookupFailed(error);
      const until = this.#skipUntil;
      // A lookup answered after its timeout shows a slow moment (a loaded machine), not a
      // backend gone: the cool-down ends, since every lookup it skips is a revalidation that
      // would have been free and is paid instead.
      if (error instanceof BackendTimeout) {
        answer.then(() => {
          if (this.#skipUntil === until) this.#skipUntil = -Infinity;
        }, () => {});
      }
      return { ok: false };
    }
  }

  /** A failed lookup: counted, and the backend left alone for the cool-down. */
  #lookupFailed(error: unknown): { readonly ok: false } {
    this.#failed("get", error);
    this.#skipUntil = this.#now() + this.options.cooldownMs;
    return { ok: false };
  }

  /** Whether the entry was stored: at once for this process's memory, else within the bound. */
  set(key: string, entry: CacheEntry, ttlSeconds: number): boolean | Promise<boolean> {
    return this.#write("set", () => this.backend.set(key, entry, ttlSeconds));
  }

  touch(key: string, entry: CacheEntry, ttlSeconds: number): boolean | Promise<boolean> {
    return this.#write("touch", () => this.backend.touch(key, entry, ttlSeconds));
  }

  delete(key: string): boolean | Promise<boolean> {
    return this.#write("delete", () => this.backend.delete(key));
  }

  /** Throws when the backend does not answer in time: for `/readyz`. */
  ping(): Promise<void> {
    return this.#bounded("ping", this.options.readTimeoutMs, this.backend.ping());
  }

  close(): Promise<void> {
    return this.backend.close();
  }

  #write(
    operation: CacheBackendEvent["operation"],
    call: () => Written,
  ): boolean | Promise<boolean> {
    if (this.#coolingDown()) return false;
    const started = performance.now();
    let written: Written;
    try {
      written = call();
    } catch (error) {
      this.#report(operation, started, true);
      this.#failed(operation, error);
      return false;
    }
    if (!(written instanceof Promise)) {
      this.#healthy = true;
      this.#report(operation, started, false);
      return true;
    }
    return this.#bounded(operation, this.options.writeTimeoutMs, written).then(
      () => true,
      (error) => {
        this.#failed(operation, error);
        return false;
      },
    );
  }

  async #bounded<T>(
    operation: CacheBackendEvent["operation"],
    ms: number,
    work: Promise<T>,
  ): Promise<T> {
    const started = performance.now();
    let error = true;
    try {
      const result = await withDeadline(work, ms, () => new BackendTimeout(operation, ms));
      error = false;
      this.#healthy = true;
      return result;
    } finally {
      this.#report(operation, started, error);
    }
  }

  #report(operation: CacheBackendEvent["operation"], started: number, error: boolean): void {
    this.options.onOperation?.({
      operation,
      seconds: (performance.now() - started) / 1000,
      error,
    });
  }

  #coolingDown(): boolean {
    if (this.#now() >= this.#skipUntil) return false;
    this.#skipped++;
    return true;
  }

  #failed(operation: string, error: unknown): void {
    this.#failures++;
    this.#healthy = false;
    this.#unreported++;
    const now = this.#now();
    if (now - this.#lastReport < this.options.reportIntervalMs) return;
    this.options.logger.warn("cache backend failing; serving without it", {
      backend: this.backend.kind,
      operation,
      failures: this.#unreported,
      error: safeErrorSummary(error),
    });
    this.#lastReport = now;
    this.#unreported = 0;
  }
}

/**
 * Why a backend is not ready, in the gateway's words only: `/readyz` needs no token, so it
 * never repeats the backend's own error text (hosts, commands, server messages).
 */
export function readinessFailure(error: unknown): "auth failed" | "unreachable" {
  return error instanceof BackendAuthError ? "auth failed" : "unreachable";
}
