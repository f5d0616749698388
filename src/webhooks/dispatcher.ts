/**
 * Sends the calls `webhooks:` rules make (DESIGN §12) after the delivery has been answered: a
 * bounded queue worked one call at a time, each call admitted as the built-in client `webhooks`
 * (its budget and the pool's reserve apply, metrics and logs name it) and sent through the
 * pool's transport, which picks the credential and paces writes per owner. A 5xx, a rate or
 * secondary limit, or GitHub out of reach is retried with growing waits, a bounded number of
 * times; any other answer is final. Every call ends in one counted, logged outcome.
 */
import type { Admitted } from "../admit/admit.ts";
import { pathAccount } from "../credentials/routing.ts";
import type { RequestTarget } from "../identify/target.ts";
import { USER_AGENT } from "../http/headers.ts";
import { type Transport, UpstreamError } from "../http/upstream.ts";
import type { Logger } from "../log.ts";
import type { Client } from "../registry/model.ts";
import type { DispatchCall } from "./rules.ts";

/** How a rule's call for one delivery ended: its metric label, from this fixed set. */
export type DispatchOutcome = "sent" | "failed" | "skipped" | "queue_full";
export const DISPATCH_OUTCOMES: readonly DispatchOutcome[] = [
  "sent",
  "failed",
  "skipped",
  "queue_full",
];

/** One rule's call for one delivery. */
export interface DispatchJob {
  readonly delivery: string;
  /** The rule's label (`webhooks[0] repository.created`). */
  readonly rule: string;
  readonly call: DispatchCall;
}

export interface DispatcherDeps {
  readonly transport: Transport;
  /** `GITHUB_API_URL`. */
  readonly apiUrl: string;
  /** The client the calls are made as, from the current registry. */
  readonly client: () => Client;
  /** Admit's decision for one call (see `admitRequest`). */
  readonly admit: (
    client: Client,
    target: Pick<RequestTarget, "method" | "path" | "graphql">,
    signal: AbortSignal,
  ) => Promise<Admitted | Response>;
  readonly logger: Logger;
  /** Counts an outcome (metrics). */
  readonly counted: (rule: string, outcome: DispatchOutcome) => void;
  /** The first retry's wait in ms, doubled each time (default 1 s; tests shorten it). */
  readonly retryDelayMs?: number;
}

/** Calls waiting at most; a delivery's calls past it are dropped, counted and logged. */
export const DISPATCH_QUEUE_SIZE = 256;
/** Attempts per call, the first included. */
export const DISPATCH_ATTEMPTS = 4;
/** Longest wait between attempts, also when GitHub's `retry-after` asks for more. */
export const MAX_RETRY_DELAY_MS = 60_000;

/** The queue and its one worker. */
export class Dispatcher {
  readonly #queue: DispatchJob[] = [];
  readonly #closed = new AbortController();
  #working: Promise<void> | undefined;

  constructor(private readonly deps: DispatcherDeps) {}

  /** Queues `job`; false (counted and logged) when the queue is full. */
  enqueue(job: DispatchJob): boolean {
    if (this.#queue.length >= DISPATCH_QUEUE_SIZE || this.#closed.signal.aborted) {
      this.#finish(job, "queue_full", { queued: this.#queue.length });
      return false;
    }
    this.#queue.push(job);
    this.#working ??= this.#work().finally(() => this.#working = undefined);
    return true;
  }

  /** Resolves when the queue is empty and no call is in flight. */
  async settled(): Promise<void> {
    while (this.#working) await this.#working;
  }

  /** Stops: waits are cut short and what is still queued is dropped. */
  async close(): Promise<void> {
    this.#closed.abort();
    await this.settled();
  }

  /** Counts and logs a job's outcome. */
  #finish(job: DispatchJob, outcome: DispatchOutcome, fields: Record<string, unknown>): void {
    this.deps.counted(job.rule, outcome);
    const line = { delivery: job.delivery, rule: job.rule, path: job.call.path, ...fields };
    if (outcome === "sent") this.deps.logger.info("webhook dispatch sent", line);
    else this.deps.logger.warn(`webhook dispatch ${outcome.replace("_", " ")}`, line);
  }

  async #work(): Promise<void> {
    for (let job = this.#queue.shift(); job; job = this.#queue.shift()) {
      if (this.#closed.signal.aborted) {
        this.#finish(job, "failed", { reason: "the gateway stopped" });
        continue;
      }
      await this.#send(job);
    }
  }

  async #send(job: DispatchJob): Promise<void> {
    const base = this.deps.retryDelayMs ?? 1000;
    let last = "";
    let attempts = 0;
    for (let attempt = 1; attempt <= DISPATCH_ATTEMPTS; attempt++) {
      attempts = attempt;
      const result = await this.#attempt(job);
      if (result.kind === "done") {
        const fields = { status: result.status, attempts: attempt };
        if (result.status >= 200 && result.status < 300) this.#finish(job, "sent", fields);
        else this.#finish(job, "failed", { ...fields, message: result.message });
        return;
      }
      last = result.reason;
      if (attempt === DISPATCH_ATTEMPTS) break;
      const waitMs = Math.min(result.retryAfterMs ?? base * 2 ** (attempt - 1), MAX_RETRY_DELAY_MS);
      this.deps.logger.info("webhook dispatch retrying", {
        delivery: job.delivery,
        rule: job.rule,
        attempt,
        reason: result.reason,
        waitMs,
      });
      if (!await sleep(waitMs, this.#closed.signal)) break;
    }
    // Fewer than DISPATCH_ATTEMPTS when the gateway stopped during a wait.
    this.#finish(job, "failed", { attempts, reason: last });
  }

  async #attempt(job: DispatchJob): Promise<Attempt> {
    const { deps } = this;
    const client = deps.client();
    const target = { method: "POST", path: job.call.path, graphql: false } as const;
    const signal = this.#closed.signal;
    const admitted = await deps.admit(client, target, signal);
    if (admitted instanceof Response) return await judged(admitted, "admit refused it");
    try {
      const refused = admitted.admission.newCall();
      if (refused) return await judged(refused, "admit refused it");
      const answer = await deps.transport({
        method: "POST",
        url: `${deps.apiUrl}${job.call.path}`,
        headers: new Headers({
          accept: "application/vnd.github+json",
          "content-type": "application/json",
          "user-agent": USER_AGENT,
          "x-github-api-version": "2022-11-28",
        }),
        body: JSON.stringify(job.call.body),
        signal,
        resource: "core",
        client: client.name,
        // Routed as a client's call is: the installation of the repository's account (DESIGN §8).
        account: pathAccount(job.call.path),
        mutating: true,
        replayable: true,
      });
      return await judged(answer.response, `GitHub answered ${answer.response.status}`);
    } catch (error) {
      // A call that timed out may have reached GitHub: sending it again could dispatch twice.
      if (error instanceof UpstreamError && error.failure === "unreachable") {
        return { kind: "retry", reason: error.reason ?? error.message };
      }
      const message = error instanceof Error ? error.message : String(error);
      return { kind: "done", status: 504, message };
    } finally {
      admitted.leave();
    }
  }
}

type Attempt =
  | { readonly kind: "done"; readonly status: number; readonly message?: string }
  | { readonly kind: "retry"; readonly reason: string; readonly retryAfterMs?: number };

/** Final, or worth retrying: a 5xx, or a rate or secondary limit (403/429 that says so). */
async function judged(response: Response, reason: string): Promise<Attempt> {
  const text = await response.text().catch(() => "");
  const retryAfter = Number(response.headers.get("retry-after"));
  const retryAfterMs = retryAfter > 0 ? retryAfter * 1000 : undefined;
  const limited = (response.status === 403 || response.status === 429) &&
    (retryAfterMs !== undefined || response.headers.get("x-ratelimit-remaining") === "0" ||
      /rate limit/i.test(text));
  if (response.status >= 500 || limited) return { kind: "retry", reason, retryAfterMs };
  return { kind: "done", status: response.status, message: messageOf(text) };
}

/** GitHub's `message`, short, for the log. */
function messageOf(text: string): string | undefined {
  try {
    const message = JSON.parse(text)?.message;
    return typeof message === "string" ? message.slice(0, 200) : undefined;
  } catch {
    return undefined;
  }
}

/** Waits `ms`; false when `signal` aborted first. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const done = (completed: boolean) => {
      clearTimeout(timer);
      signal.removeEventListener("abort", abort);
      resolve(completed);
    };
    const abort = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    signal.addEventListener("abort", abort, { once: true });
  });
}
