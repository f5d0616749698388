/**
 * Where HTTP/1.1 messages begin and end in a byte stream, without keeping their bytes: the
 * connection guard (src/serve/guard.ts) watches both directions of a connection with it to know
 * whether a request head, a request body or nothing at all is awaited, and so which timeout runs.
 * It never changes a byte; a stream it cannot frame (an oversized head, a bad length, an
 * upgrade) turns `opaque`, and the HTTP server behind it answers that on its own.
 */

/** What the framer is waiting for: between messages, inside a head, inside a body. */
export type FramePhase = "idle" | "head" | "body" | "opaque";

/** The head lines a guard needs to decide the message's length. */
export interface MessageHead {
  /** Request method (requests) or `undefined`. */
  readonly method?: string;
  /** Response status (responses) or `undefined`. */
  readonly status?: number;
}

/** Largest head the framer follows; Deno's HTTP server refuses larger ones itself. */
export const MAX_HEAD_BYTES = 64 * 1024;
/** Longest chunk-size or trailer line followed. */
const MAX_LINE_BYTES = 4096;

const LF = 0x0a;
const CR = 0x0d;
const decoder = new TextDecoder();

type BodyState =
  | { readonly kind: "length"; remaining: number }
  | { readonly kind: "chunk-size"; line: number[] }
  | { readonly kind: "chunk-data"; remaining: number }
  | { readonly kind: "chunk-end" }
  | { readonly kind: "trailer"; line: number[] };

/**
 * An incremental framer for one direction. `bodyLength` decides a message's body from its head
 * and its framing headers (`content-length`, `transfer-encoding`, lower-cased): `"chunked"`, a
 * byte count, or `"opaque"` when the rest of the stream cannot be framed (read until close, an
 * upgrade).
 */
export class MessageFramer {
  #phase: FramePhase = "idle";
  /** The current head's bytes from earlier pushes (copied: the caller reuses its buffer). */
  #head: Uint8Array[] = [];
  #headBytes = 0;
  /** Bytes of the head's current line so far, and whether its last one was CR. */
  #lineBytes = 0;
  #lineEndsCR = false;
  #body: BodyState | undefined;
  #current: MessageHead | undefined;
  #completed = 0;

  constructor(
    private readonly kind: "request" | "response",
    private readonly bodyLength: (
      head: MessageHead,
      headers: ReadonlyMap<string, string>,
    ) => number | "chunked" | "opaque",
  ) {}

  get phase(): FramePhase {
    return this.#phase;
  }

  /** Messages read to their end so far; 1xx interim responses do not count. */
  get completed(): number {
    return this.#completed;
  }

  /** Follows `bytes`; returns the heads that ended in them, in order. */
  push(bytes: Uint8Array): MessageHead[] {
    const heads: MessageHead[] = [];
    let at = 0;
    while (at < bytes.length && this.#phase !== "opaque") {
      if (this.#phase === "idle") {
        // RFC 9112 §2.2: empty lines before a request line are ignored.
        if (bytes[at] === CR || bytes[at] === LF) {
          at++;
          continue;
        }
        this.#phase = "head";
      }
      if (this.#phase === "head") {
        at = this.#readHead(bytes, at, heads);
      } else {
        at = this.#readBody(bytes, at);
      }
    }
    return heads;
  }

  /**
   * Finds the head's end by scanning for line feeds (natively, `indexOf`) rather than byte by
   * byte: a head ends at a line feed whose line is empty or a lone CR.
   */
  #readHead(bytes: Uint8Array, from: number, heads: MessageHead[]): number {
    for (let at = from; at < bytes.length;) {
      const lf = bytes.indexOf(LF, at);
      const end = lf < 0 ? bytes.length : lf;
      if (end > at) {
        this.#lineBytes += end - at;
        this.#lineEndsCR = bytes[end - 1] === CR;
      }
      const size = this.#headBytes + (lf < 0 ? end : end + 1) - from;
      if (size > MAX_HEAD_BYTES) {
        this.#phase = "opaque";
        return bytes.length;
      }
      if (lf < 0) break;
      const ended = this.#lineBytes === 0 || (this.#lineBytes === 1 && this.#lineEndsCR);
      this.#lineBytes = 0;
      this.#lineEndsCR = false;
      at = lf + 1;
      // A head's first line is never empty: the idle phase skipped empty lines before it.
      if (!ended) continue;
      const text = decoder.decode(this.#takeHead(bytes.subarray(from, at)));
      const [head, length] = this.#parseHead(text);
      heads.push(head);
      this.#current = head;
      this.#startBody(length);
      return at;
    }
    this.#head.push(bytes.slice(from));
    this.#headBytes += bytes.length - from;
    return bytes.length;
  }

  /** The whole head: `last` after the parts kept from earlier pushes. */
  #takeHead(last: Uint8Array): Uint8Array {
    if (this.#head.length === 0) return last;
    const whole = new Uint8Array(this.#headBytes + last.length);
    let at = 0;
    for (const part of [...this.#head, last]) {
      whole.set(part, at);
      at += part.length;
    }
    this.#head = [];
    this.#headBytes = 0;
    return whole;
  }

  #parseHead(text: string): [MessageHead, number | "chunked" | "opaque"] {
    const firstEnd = text.indexOf("\n");
    const first = text.slice(0, firstEnd).replace(/\r$/, "");
    const start = first.split(" ");
    const head: MessageHead = this.kind === "request"
      ? { method: start[0] }
      : { status: /^\d{3}$/.test(start[1] ?? "") ? Number(start[1]) : NaN };
    // HTTP/2 with prior knowledge is binary from here on: only the header timeout can apply.
    if (this.kind === "request" && first === "PRI * HTTP/2.0") return [head, "opaque"];
    return [head, this.bodyLength(head, framingHeaders(text, firstEnd + 1))];
  }

  #startBody(length: number | "chunked" | "opaque"): void {
    if (length === "opaque") {
      this.#phase = "opaque";
    } else if (length === "chunked") {
      this.#phase = "body";
      this.#body = { kind: "chunk-size", line: [] };
    } else if (length > 0) {
      this.#phase = "body";
      this.#body = { kind: "length", remaining: length };
    } else {
      this.#end();
    }
  }

  #end(): void {
    this.#phase = "idle";
    this.#body = undefined;
    if (!(this.#current!.status! < 200)) this.#completed++;
  }

  #readBody(bytes: Uint8Array, at: number): number {
    const body = this.#body!;
    switch (body.kind) {
      case "length":
      case "chunk-data": {
        const take = Math.min(body.remaining, bytes.length - at);
        body.remaining -= take;
        if (body.remaining === 0) {
          if (body.kind === "length") this.#end();
          else this.#body = { kind: "chunk-end" };
        }
        return at + take;
      }
      case "chunk-end":
        if (bytes[at] === LF) this.#body = { kind: "chunk-size", line: [] };
        return at + 1;
      case "chunk-size":
      case "trailer": {
        const byte = bytes[at];
        if (byte !== LF) {
          body.line.push(byte);
          if (body.line.length > MAX_LINE_BYTES) this.#phase = "opaque";
          return at + 1;
        }
        const line = decoder.decode(new Uint8Array(body.line)).replace(/\r$/, "");
        body.line = [];
        if (body.kind === "trailer") {
          if (line === "") this.#end();
          return at + 1;
        }
        const size = /^[0-9a-fA-F]{1,15}/.exec(line.trim());
        if (!size) {
          this.#phase = "opaque";
        } else if (parseInt(size[0], 16) === 0) {
          this.#body = { kind: "trailer", line: [] };
        } else {
          this.#body = { kind: "chunk-data", remaining: parseInt(size[0], 16) };
        }
        return at + 1;
      }
    }
  }
}

/** The header names a message's length depends on; the other lines are not looked at. */
const FRAMING = new Set(["content-length", "transfer-encoding"]);

/** The framing headers of a head's `text` from `from` on, repeated ones joined with ", ". */
function framingHeaders(text: string, from: number): Map<string, string> {
  const headers = new Map<string, string>();
  for (let at = from; at < text.length;) {
    let end = text.indexOf("\n", at);
    if (end < 0) end = text.length;
    const colon = text.indexOf(":", at);
    if (colon > at && colon < end) {
      const rawName = text.slice(at, colon);
      // Only a name as long as a framing header's (after trimming) is lowered and compared.
      const name = rawName.length >= 14 ? rawName.trim().toLowerCase() : "";
      if (FRAMING.has(name)) {
        const value = text.slice(colon + 1, end).trim();
        const seen = headers.get(name);
        headers.set(name, seen === undefined ? value : `${seen}, ${value}`);
      }
    }
    at = end + 1;
  }
  return headers;
}

function contentLength(headers: ReadonlyMap<string, string>): number | "opaque" | undefined {
  const raw = headers.get("content-length");
  if (raw === undefined) return undefined;
  // Repeated equal values (`5, 5`) are one length (RFC 9110 §8.6); anything else is unframeable.
  const values = new Set(raw.split(",").map((v) => v.trim()));
  const [value] = values;
  return values.size === 1 && /^\d{1,15}$/.test(value) ? Number(value) : "opaque";
}

function isChunked(headers: ReadonlyMap<string, string>): boolean | "opaque" {
  const raw = headers.get("transfer-encoding");
  if (raw === undefined) return false;
  return raw.split(",").at(-1)!.trim().toLowerCase() === "chunked" ? true : "opaque";
}

/** A request's body length (RFC 9112 §6.3): chunked, else Content-Length, else none. */
export function requestBodyLength(
  _head: MessageHead,
  headers: ReadonlyMap<string, string>,
): number | "chunked" | "opaque" {
  const chunked = isChunked(headers);
  if (chunked === "opaque" || (chunked && headers.has("content-length"))) return "opaque";
  if (chunked) return "chunked";
  return contentLength(headers) ?? 0;
}

/**
 * A response's body length (RFC 9112 §6.3); `requestMethod` is the method of the request it
 * answers. 1xx answers have no body and are followed by the real answer; 101 switches protocol.
 */
export function responseBodyLength(
  head: MessageHead,
  headers: ReadonlyMap<string, string>,
  requestMethod: string | undefined,
): number | "chunked" | "opaque" {
  const status = head.status!;
  if (!(status >= 100) || status === 101) return "opaque";
  if (status < 200 || status === 204 || status === 304 || requestMethod === "HEAD") return 0;
  const chunked = isChunked(headers);
  if (chunked === "opaque") return "opaque";
  if (chunked) return "chunked";
  return contentLength(headers) ?? "opaque";
}
