/**
 * Which timeout runs on a client connection, decided from what its two directions have carried
 * so far (DESIGN §9, issue 9 items 1 and 4). Deno.serve has no header, body or idle timeouts, so
 * the listener (src/serve/listener.ts) follows every connection with two framers and closes the
 * ones past their deadline.
 */
import {
  type FramePhase,
  MessageFramer,
  requestBodyLength,
  responseBodyLength,
} from "./framing.ts";

/** Milliseconds a client may take; the defaults follow Node's and nginx's. */
export interface Timeouts {
  /** From the connection's start, or the first byte of a later request, to the end of its head. */
  readonly headerMs: number;
  /** Longest pause between two reads of a request body. */
  readonly bodyMs: number;
  /** How long a keep-alive connection may wait for its next request. */
  readonly idleMs: number;
}

/** Requests a client may send ahead of their answers (pipelining) before it is disconnected. */
export const MAX_PIPELINED = 64;

/** The times and counts the deadline depends on; all times from the same clock. */
export interface ConnectionSnapshot {
  readonly openedAt: number;
  readonly request: FramePhase;
  /** When the current request head, or the unframeable stream, began. */
  readonly headStartedAt: number;
  readonly lastClientByteAt: number;
  readonly lastResponseAt: number;
  readonly requestsDone: number;
  readonly responsesDone: number;
  /** The answers cannot be framed (an upgrade, a body read until close): no deadline applies. */
  readonly responseOpaque: boolean;
}

export type DeadlineReason = "header" | "body" | "idle";

export interface Deadline {
  readonly at: number;
  readonly reason: DeadlineReason;
}

/**
 * The moment `connection` is to be closed, or undefined while the gateway owes it an answer
 * (the upstream timeouts bound that wait).
 */
export function deadlineOf(
  connection: ConnectionSnapshot,
  timeouts: Timeouts,
): Deadline | undefined {
  if (connection.responseOpaque) return undefined;
  switch (connection.request) {
    case "head":
    case "opaque":
      return { at: connection.headStartedAt + timeouts.headerMs, reason: "header" };
    case "body":
      return { at: connection.lastClientByteAt + timeouts.bodyMs, reason: "body" };
    case "idle":
      if (connection.requestsDone > connection.responsesDone) return undefined;
      return connection.requestsDone === 0
        ? { at: connection.openedAt + timeouts.headerMs, reason: "header" }
        : { at: connection.lastResponseAt + timeouts.idleMs, reason: "idle" };
  }
}

/** One client connection's two directions, followed byte by byte. */
export class ConnectionWatch {
  readonly #requests = new MessageFramer("request", requestBodyLength);
  readonly #responses: MessageFramer;
  /** Methods of the requests still to be answered, oldest first (a HEAD answer has no body). */
  readonly #methods: string[] = [];
  #headStartedAt: number;
  #lastClientByteAt: number;
  #lastResponseAt: number;
  readonly #openedAt: number;

  constructor(now: number) {
    this.#openedAt =
      this.#headStartedAt =
      this.#lastClientByteAt =
      this.#lastResponseAt =
        now;
    this.#responses = new MessageFramer("response", (head, headers) => {
      const method = this.#methods[0];
      if (head.status! >= 200) this.#methods.shift();
      return responseBodyLength(head, headers, method);
    });
  }

  /** Follows bytes from the client; false when it pipelined more than `MAX_PIPELINED` requests. */
  fromClient(bytes: Uint8Array, now: number): boolean {
    const before = this.#requests.phase;
    const done = this.#requests.completed;
    for (const head of this.#requests.push(bytes)) this.#methods.push(head.method!);
    const after = this.#requests.phase;
    const newHead = after === "head" && (before !== "head" || this.#requests.completed > done);
    if (newHead || (before !== "opaque" && after === "opaque")) {
      this.#headStartedAt = now;
    }
    this.#lastClientByteAt = now;
    return this.#methods.length <= MAX_PIPELINED;
  }

  /** Follows bytes of the answers. */
  fromServer(bytes: Uint8Array, now: number): void {
    this.#responses.push(bytes);
    this.#lastResponseAt = now;
  }

  snapshot(): ConnectionSnapshot {
    return {
      openedAt: this.#openedAt,
      request: this.#requests.phase,
      headStartedAt: this.#headStartedAt,
      lastClientByteAt: this.#lastClientByteAt,
      lastResponseAt: this.#lastResponseAt,
      requestsDone: this.#requests.completed,
      responsesDone: this.#responses.completed,
      responseOpaque: this.#responses.phase === "opaque",
    };
  }
}
