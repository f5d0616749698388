/**
 * Client budgets across replicas (DESIGN §11, §13): every point a replica spends or gives back
 * goes to one shared bucket per client, atomically (`StateStore.spend`), and the bucket's reply
 * tells the replica what all of them have left. Sends are batched per client, one in flight at
 * a time, so the request path never waits for the store; what a replica spent and has not yet
 * seen acknowledged is counted against the last reply, so its own calls are never forgotten.
 * While the store fails, the level is unknown and admit decides on the replica's own bucket.
 */
import { type Bucket, levelAt, type Rate } from "../admit/bucket.ts";
import type { BudgetLedger } from "../admit/state.ts";
import type { GuardedStore } from "./guarded.ts";

const PREFIX = "github-proxy:state:budget:";

export class SharedBudgets implements BudgetLedger {
  /** The shared bucket as the last reply left it. */
  readonly #known = new Map<string, Bucket>();
  /** Points spent here and not yet acknowledged (sent or not). */
  readonly #pending = new Map<string, number>();
  readonly #unsent = new Map<string, number>();
  readonly #sending = new Map<string, Promise<void>>();

  constructor(
    private readonly store: GuardedStore,
    private readonly now: () => number = Date.now,
  ) {}

  level(client: string, rate: Rate): number | undefined {
    const known = this.#known.get(client);
    if (!known || !this.store.health.healthy) return undefined;
    return levelAt(known, rate, this.now()) - (this.#pending.get(client) ?? 0);
  }

  spend(client: string, points: number, rate: Rate): void {
    if (points === 0) return;
    this.#pending.set(client, (this.#pending.get(client) ?? 0) + points);
    this.#unsent.set(client, (this.#unsent.get(client) ?? 0) + points);
    if (!this.#sending.has(client)) {
      const sending = this.#send(client, rate).finally(() => this.#sending.delete(client));
      this.#sending.set(client, sending);
    }
  }

  /** Resolves when every point spent so far has been sent. */
  async settled(): Promise<void> {
    while (this.#sending.size > 0) await Promise.all(this.#sending.values());
  }

  async #send(client: string, rate: Rate): Promise<void> {
    for (;;) {
      const delta = this.#unsent.get(client) ?? 0;
      if (delta === 0) return;
      this.#unsent.delete(client);
      const at = this.now();
      const left = await this.store.write((store) =>
        store.spend(PREFIX + client, delta, rate, at, rate.periodMs)
      );
      this.#pending.set(client, (this.#pending.get(client) ?? 0) - delta);
      if (left === undefined) this.#known.delete(client);
      else this.#known.set(client, { tokens: left, atMs: at });
    }
  }
}
