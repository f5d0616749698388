/**
 * Dispatch outcomes since start, for `/status`: the receiver's and the dispatcher's counters,
 * counting each dispatch's outcome here before handing every report on to telemetry.
 */
import { DISPATCH_OUTCOMES, type DispatchOutcome } from "./dispatcher.ts";
import type { DeliveryOutcome } from "./recent.ts";
import type { WebhookCounters } from "./receiver.ts";

/** `WebhookCounters` that also count dispatches by outcome. */
export class DispatchTally implements WebhookCounters {
  readonly #counts = new Map<DispatchOutcome, number>(
    DISPATCH_OUTCOMES.map((outcome) => [outcome, 0]),
  );

  constructor(private readonly next: WebhookCounters) {}

  delivery(event: string, outcome: DeliveryOutcome): void {
    this.next.delivery(event, outcome);
  }

  signatureFailure(): void {
    this.next.signatureFailure();
  }

  dispatch(rule: string, outcome: DispatchOutcome): void {
    this.#counts.set(outcome, (this.#counts.get(outcome) ?? 0) + 1);
    this.next.dispatch(rule, outcome);
  }

  invalidation(event: string, resources: number): void {
    this.next.invalidation(event, resources);
  }

  /** Dispatches by outcome since start, every outcome present (0 before any). */
  counts(): Readonly<Record<DispatchOutcome, number>> {
    return Object.fromEntries(this.#counts) as Record<DispatchOutcome, number>;
  }
}
