/**
 * Fail-open for the shared state (DESIGN §13): every call is bounded by the cache guard's read
 * timeout (writes by its write timeout) and never throws; a failure is counted, the replica goes
 * on with its own view, and the change between healthy and failing is logged once each way.
 */
import { withDeadline } from "../deadline.ts";
import { safeErrorSummary } from "../http/errors.ts";
import type { Logger } from "../log.ts";
import type { StateStore, StoreKind } from "./store.ts";

/** The shared state's health, for `/readyz` and the metrics. */
export interface StateHealth {
  readonly kind: StoreKind;
  /** Replicas share this store (false for `local`). */
  readonly shared: boolean;
  /** The last call answered in time. */
  readonly healthy: boolean;
  /** Calls that failed or timed out since start (each fell back to local state). */
  readonly failures: number;
}

export interface GuardedStoreOptions {
  readonly readTimeoutMs: number;
  readonly writeTimeoutMs: number;
  readonly logger: Logger;
}

export class GuardedStore {
  #healthy = true;
  #failures = 0;

  constructor(readonly store: StateStore, private readonly options: GuardedStoreOptions) {}

  get health(): StateHealth {
    return {
      kind: this.store.kind,
      shared: this.store.kind !== "local",
      healthy: this.#healthy,
      failures: this.#failures,
    };
  }

  /** `call` on the store within the read bound; undefined when it failed or took too long. */
  read<T>(call: (store: StateStore) => Promise<T>): Promise<T | undefined> {
    return this.#bounded(this.options.readTimeoutMs, call);
  }

  /** `call` on the store within the write bound; undefined when it failed or took too long. */
  write<T>(call: (store: StateStore) => Promise<T>): Promise<T | undefined> {
    return this.#bounded(this.options.writeTimeoutMs, call);
  }

  close(): Promise<void> {
    return this.store.close().catch(() => {});
  }

  async #bounded<T>(ms: number, call: (store: StateStore) => Promise<T>): Promise<T | undefined> {
    try {
      const result = await withDeadline(
        call(this.store),
        ms,
        () => new Error(`shared state took longer than ${ms} ms`),
      );
      if (!this.#healthy) {
        this.#healthy = true;
        this.options.logger.info("shared state reachable again: replicas share it", {
          store: this.store.kind,
        });
      }
      return result;
    } catch (error) {
      this.#failures++;
      if (this.#healthy) {
        this.#healthy = false;
        this.options.logger.warn("shared state failing: each replica goes on with its own view", {
          store: this.store.kind,
          error: safeErrorSummary(error),
        });
      }
      return undefined;
    }
  }
}
