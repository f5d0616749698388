/**
 * What happens to a verified delivery (DESIGN §12): a ping is acknowledged; a delivery id seen
 * before changes nothing, nor does a signed body seen before under a new id (the signature does
 * not cover `X-GitHub-Delivery`, so a captured delivery could otherwise be replayed with a fresh
 * one; GitHub's own redeliveries keep the body, so nothing genuine is lost); any other delivery
 * is taken at once and worked after the answer
 * (GitHub gives up after 10 s): its stale resources are marked, an installation change is
 * reported, and the `webhooks:` rules it triggers are queued for the dispatcher. Each step is
 * counted and logged with the delivery id; the last deliveries are kept for `/usage`.
 */
import { sha256Hex } from "../digest.ts";
import type { Logger } from "../log.ts";
import type { WebhookRule } from "../registry/model.ts";
import type { DeliveryLog } from "./deliveries.ts";
import type { Dispatcher, DispatchOutcome } from "./dispatcher.ts";
import { eventLabel } from "./events.ts";
import { invalidation } from "./invalidation.ts";
import { type DeliveryOutcome, type DeliveryRecord, RecentDeliveries } from "./recent.ts";
import { triggeredRules } from "./rules.ts";
import type { SignatureVerifier } from "./signature.ts";
import type { StaleMarks } from "./stale_marks.ts";

/** What the receiver reports to telemetry; event labels come from `eventLabel`. */
export interface WebhookCounters {
  delivery(event: string, outcome: DeliveryOutcome): void;
  signatureFailure(): void;
  dispatch(rule: string, outcome: DispatchOutcome): void;
  /** An event marked `resources` stale. */
  invalidation(event: string, resources: number): void;
}

export interface WebhookReceiverDeps {
  readonly verifier: SignatureVerifier;
  readonly deliveries: DeliveryLog;
  readonly staleMarks: StaleMarks;
  readonly dispatcher: Dispatcher;
  /** The current registry's rules. */
  readonly rules: () => readonly WebhookRule[];
  readonly counters: WebhookCounters;
  readonly logger: Logger;
  readonly now?: () => number;
  /**
   * Called after an `installation*` event: the App's installations or their repositories
   * changed, so the pool's routing table (DESIGN §8) should be read again. The delivery's
   * rules wait for it; a failure is logged and they run anyway.
   */
  readonly onInstallationsChanged?: () => void | Promise<void>;
}

/** A delivery whose signature was verified. */
export interface Delivery {
  /** `X-GitHub-Delivery`. */
  readonly id: string;
  /** `X-GitHub-Event`. */
  readonly event: string;
  readonly body: Uint8Array;
  /** `X-Hub-Signature-256`, as verified. */
  readonly signature: string;
  /** `Content-Type`: GitHub sends JSON, or a form with the JSON in `payload`. */
  readonly contentType: string | null;
}

/** How a delivery was taken: the endpoint answers 200 for `ping`, else 202. */
export type Taken = "ping" | "duplicate" | "accepted";

export class WebhookReceiver {
  readonly #recent = new RecentDeliveries();
  readonly #pending = new Set<Promise<void>>();
  readonly #now: () => number;

  constructor(private readonly deps: WebhookReceiverDeps) {
    this.#now = deps.now ?? Date.now;
  }

  /** Whether `signature` (`X-Hub-Signature-256`) signs `body`; a failure is counted and logged. */
  async verified(body: Uint8Array<ArrayBuffer>, signature: string | null): Promise<boolean> {
    if (await this.deps.verifier.verify(body, signature)) return true;
    this.deps.counters.signatureFailure();
    this.deps.logger.warn("webhook signature refused", {
      reason: signature === null ? "X-Hub-Signature-256 missing" : "X-Hub-Signature-256 wrong",
    });
    return false;
  }

  /** Takes a verified delivery; its work runs after the caller has answered. */
  async take(delivery: Delivery): Promise<Taken> {
    const receivedAt = this.#now();
    if (delivery.event === "ping") {
      this.#record(delivery, "ping", receivedAt);
      return "ping";
    }
    if (
      !await this.deps.deliveries.firstSeen(delivery.id) ||
      !await this.deps.deliveries.firstSeen(replayKey(delivery))
    ) {
      this.#record(delivery, "duplicate", receivedAt);
      return "duplicate";
    }
    // A timer, not a microtask: the answer is written before the payload is even parsed.
    const work = new Promise<void>((resolve) => setTimeout(resolve, 0))
      .then(() => this.#process(delivery, receivedAt))
      .catch((error) => {
        this.deps.logger.error("webhook delivery failed", {
          delivery: delivery.id,
          error: String(error),
        });
      });
    this.#pending.add(work);
    work.finally(() => this.#pending.delete(work));
    return "accepted";
  }

  /** The last deliveries, newest first. */
  recent(): readonly DeliveryRecord[] {
    return this.#recent.list();
  }

  /** Resolves when every delivery taken so far is worked and its dispatches are done. */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending);
    await this.deps.dispatcher.settled();
  }

  /** Finishes the deliveries taken and stops the dispatcher. */
  async close(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending);
    await this.deps.dispatcher.close();
  }

  async #process(delivery: Delivery, receivedAt: number): Promise<void> {
    const payload = parsePayload(delivery);
    if (payload === undefined) {
      this.#record(delivery, "malformed", receivedAt);
      return;
    }
    const { event, id } = delivery;
    const stale = invalidation(event, payload);
    if (stale.resources.length > 0) {
      await this.deps.staleMarks.mark(stale.resources, receivedAt);
      this.deps.counters.invalidation(eventLabel(event), stale.resources.length);
      this.deps.logger.info("webhook invalidated cached resources", {
        delivery: id,
        event,
        scopes: [...new Set(stale.resources.map((resource) => resource.scope))],
        patterns: stale.resources.length,
      });
    }
    if (stale.installations && this.deps.onInstallationsChanged) {
      this.deps.logger.info("webhook: installations changed", { delivery: id, event });
      try {
        await this.deps.onInstallationsChanged();
      } catch (error) {
        this.deps.logger.error("webhook: installations could not be read again", {
          delivery: id,
          error: String(error),
        });
      }
    }
    for (const outcome of triggeredRules(this.deps.rules(), event, payload)) {
      if ("skipped" in outcome) {
        this.deps.counters.dispatch(outcome.rule.label, "skipped");
        this.deps.logger.warn("webhook rule skipped", {
          delivery: id,
          rule: outcome.rule.label,
          reason: outcome.skipped,
        });
      } else {
        this.deps.dispatcher.enqueue({
          delivery: id,
          rule: outcome.rule.label,
          call: outcome.call,
        });
      }
    }
    this.#record(delivery, "processed", receivedAt, payload);
  }

  #record(delivery: Delivery, outcome: DeliveryOutcome, atMs: number, payload?: unknown): void {
    const fields = summary(payload);
    this.#recent.add({ id: delivery.id, event: delivery.event, ...fields, outcome, atMs });
    this.deps.counters.delivery(eventLabel(delivery.event), outcome);
    this.deps.logger.info("webhook delivery", {
      delivery: delivery.id,
      event: delivery.event,
      ...fields,
      outcome,
    });
  }
}

/**
 * What a replay of `delivery` under another id has in common with it: its body and signature
 * (hex in lower case, which the verifier accepts in either), digested.
 */
function replayKey(delivery: Delivery): string {
  return `body:${sha256Hex(delivery.body, "\n", delivery.signature.trim().toLowerCase())}`;
}

/** The payload as JSON (an object), from either content type GitHub sends; else undefined. */
function parsePayload(delivery: Delivery): Record<string, unknown> | undefined {
  let text = new TextDecoder().decode(delivery.body);
  if (delivery.contentType?.toLowerCase().startsWith("application/x-www-form-urlencoded")) {
    text = new URLSearchParams(text).get("payload") ?? "";
  }
  try {
    const payload = JSON.parse(text);
    return typeof payload === "object" && payload !== null && !Array.isArray(payload)
      ? payload
      : undefined;
  } catch {
    return undefined;
  }
}

/** `action` and `repository` of a payload, for the log and `/usage`. */
function summary(payload: unknown): { action?: string; repository?: string } {
  if (typeof payload !== "object" || payload === null) return {};
  const { action, repository } = payload as { action?: unknown; repository?: unknown };
  const fullName = typeof repository === "object" && repository !== null
    ? (repository as { full_name?: unknown }).full_name
    : undefined;
  return {
    ...(typeof action === "string" ? { action } : {}),
    ...(typeof fullName === "string" ? { repository: fullName } : {}),
  };
}
