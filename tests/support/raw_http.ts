/**
 * Sends an HTTP/1.1 request byte for byte, for targets `fetch` and curl would normalise
 * (`/a/../b`, `%2e%2e`, lowercase methods) before they leave the client.
 */

export interface RawRequest {
  readonly method: string;
  /** The request target exactly as written on the request line. */
  readonly target: string;
  /** Sent after the request line; a `host` here replaces the server's address. */
  readonly headers?: Record<string, string>;
  readonly body?: string | Uint8Array;
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** `origin`: `http://host:port` of the server. */
export async function rawRequest(origin: string, request: RawRequest): Promise<RawResponse> {
  const { hostname, port } = new URL(origin);
  const body = typeof request.body === "string"
    ? encoder.encode(request.body)
    : request.body ?? new Uint8Array();
  const ownHost = Object.keys(request.headers ?? {}).some((name) => name.toLowerCase() === "host");
  const head = [
    `${request.method} ${request.target} HTTP/1.1`,
    ...(ownHost ? [] : [`host: ${hostname}:${port}`]),
    "connection: close",
    ...(body.length > 0 || request.method.toUpperCase() === "POST"
      ? [`content-length: ${body.length}`]
      : []),
    ...Object.entries(request.headers ?? {}).map(([name, value]) => `${name}: ${value}`),
  ].join("\r\n");
  const conn = await Deno.connect({ hostname, port: Number(port) });
  try {
    await writeAll(conn, encoder.encode(`${head}\r\n\r\n`));
    await writeAll(conn, body);
    return parseResponse(await readAll(conn));
  } finally {
    conn.close();
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let written = 0; written < bytes.length;) {
    written += await conn.write(bytes.subarray(written));
  }
}

async function readAll(conn: Deno.Conn): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const buffer = new Uint8Array(64 * 1024);
  for (;;) {
    const n = await conn.read(buffer).catch(() => null);
    if (n === null) break;
    chunks.push(buffer.slice(0, n));
  }
  return concat(chunks);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function parseResponse(bytes: Uint8Array): RawResponse {
  const end = indexOf(bytes, CRLF_CRLF, 0);
  if (end < 0) throw new Error(`incomplete HTTP response: ${decoder.decode(bytes.slice(0, 200))}`);
  const [statusLine, ...lines] = decoder.decode(bytes.subarray(0, end)).split("\r\n");
  const status = Number(statusLine.split(" ")[1]);
  const headers = new Headers();
  for (const line of lines) {
    const colon = line.indexOf(":");
    headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  const rest = bytes.subarray(end + 4);
  const chunked = headers.get("transfer-encoding")?.toLowerCase() === "chunked";
  return { status, headers, body: decoder.decode(chunked ? dechunk(rest) : rest) };
}

const CRLF = encoder.encode("\r\n");
const CRLF_CRLF = encoder.encode("\r\n\r\n");

function indexOf(haystack: Uint8Array, needle: Uint8Array, from: number): number {
  outer: for (let i = from; i <= haystack.length - needle.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

function dechunk(bytes: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = indexOf(bytes, CRLF, at);
    const size = parseInt(decoder.decode(bytes.subarray(at, lineEnd)), 16);
    if (!(size > 0)) break;
    parts.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return concat(parts);
}

/** A connection that sends exactly the bytes given, for requests left unfinished on purpose. */
export interface RawConnection {
  send(text: string): Promise<void>;
  /**
   * Reads until the server closes the connection or `withinMs` pass: `closed` says which, `text`
   * is what arrived.
   */
  closed(withinMs: number): Promise<{ closed: boolean; text: string }>;
  /** Reads one response with a Content-Length body, keeping the connection open. */
  response(withinMs: number): Promise<string>;
  close(): void;
}

/** `origin`: `http://host:port` of the server. */
export async function rawConnection(origin: string): Promise<RawConnection> {
  const { hostname, port } = new URL(origin);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  let pending: Uint8Array = new Uint8Array();
  // A read that lost the race against a timeout is kept for the next call: a second read
  // alongside it would lose bytes.
  let reading: Promise<Uint8Array | null> | undefined;
  const readWithin = async (deadline: number): Promise<Uint8Array | null | "timeout"> => {
    if (!reading) {
      const buffer = new Uint8Array(64 * 1024);
      reading = conn.read(buffer).then((n) => (n === null ? null : buffer.slice(0, n)))
        .catch(() => null);
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), Math.max(0, deadline - Date.now()));
    });
    try {
      const result = await Promise.race([reading, timeout]);
      if (result !== "timeout") reading = undefined;
      return result;
    } finally {
      clearTimeout(timer);
    }
  };
  let open = true;
  return {
    send: (text) => writeAll(conn, encoder.encode(text)),
    async closed(withinMs) {
      const deadline = Date.now() + withinMs;
      for (;;) {
        const chunk = await readWithin(deadline);
        if (chunk === "timeout") return { closed: false, text: decoder.decode(pending) };
        if (chunk === null) return { closed: true, text: decoder.decode(pending) };
        pending = concat([pending, chunk]);
      }
    },
    async response(withinMs) {
      const deadline = Date.now() + withinMs;
      for (;;) {
        const end = indexOf(pending, CRLF_CRLF, 0);
        if (end >= 0) {
          const head = decoder.decode(pending.subarray(0, end));
          const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? "0");
          if (pending.length >= end + 4 + length) {
            const text = decoder.decode(pending.subarray(0, end + 4 + length));
            pending = pending.slice(end + 4 + length);
            return text;
          }
        }
        const chunk = await readWithin(deadline);
        if (chunk === "timeout" || chunk === null) {
          throw new Error(`no complete response: ${decoder.decode(pending.slice(0, 200))}`);
        }
        pending = concat([pending, chunk]);
      }
    },
    close() {
      if (!open) return;
      open = false;
      try {
        conn.close();
      } catch {
        // Closed by the server already.
      }
    },
  };
}
