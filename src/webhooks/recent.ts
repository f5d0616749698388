/**
 * The last deliveries, for `/usage` (and `/status`): what arrived and what became of it, in a
 * ring of fixed size. Only what an operator needs to find a delivery in GitHub's log — never
 * the payload, never a secret.
 */

/** What became of a delivery: the label of its metric, from this fixed set. */
export type DeliveryOutcome = "processed" | "duplicate" | "ping" | "malformed";
export const DELIVERY_OUTCOMES: readonly DeliveryOutcome[] = [
  "processed",
  "duplicate",
  "ping",
  "malformed",
];

/** One delivery as `/usage` lists it. */
export interface DeliveryRecord {
  /** `X-GitHub-Delivery`. */
  readonly id: string;
  readonly event: string;
  /** The payload's `action`, when it has one. */
  readonly action?: string;
  /** `owner/repo` of the payload's repository, when it names one. */
  readonly repository?: string;
  readonly outcome: DeliveryOutcome;
  /** Epoch ms when it arrived. */
  readonly atMs: number;
}

/** Deliveries `/usage` lists. */
export const RECENT_DELIVERIES = 20;

/** The last `size` deliveries, newest first. */
export class RecentDeliveries {
  readonly #ring: DeliveryRecord[] = [];

  constructor(private readonly size = RECENT_DELIVERIES) {}

  add(record: DeliveryRecord): void {
    this.#ring.unshift(record);
    if (this.#ring.length > this.size) this.#ring.length = this.size;
  }

  list(): readonly DeliveryRecord[] {
    return [...this.#ring];
  }
}
