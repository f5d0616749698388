/**
 * A raw TCP "GitHub" that misbehaves on purpose: per connection it answers in full, or sends
 * nothing, or sends headers and the first bytes of a body and then goes quiet. It records when
 * the gateway closes each connection, which `fetch`-level servers cannot show.
 */

/** What one connection gets, in the order connections arrive; the last repeats. */
export type Behaviour =
  /** A complete, cacheable 200 with `ANSWER` as its body. */
  | "answer"
  /** Reads the request, sends nothing. */
  | "silent"
  /** Headers (`Content-Length: 100`) and 10 bytes, then nothing. */
  | "stall"
  /** Headers declaring a body over the cache's size cap, 10 bytes, then nothing. */
  | "stall-large";

export const ANSWER = '{"answered":true}';
/** What a stalling connection sends of its body before it goes quiet. */
export const FIRST_BYTES = "0123456789";

export interface Connection {
  readonly behaviour: Behaviour;
  /** Resolves once the connection has sent all it will send. */
  readonly sent: Promise<void>;
  /** Resolves when the gateway closed the connection (EOF or reset). */
  readonly closed: Promise<void>;
}

export interface StallingUpstream {
  readonly url: string;
  readonly connections: readonly Connection[];
  /** Resolves when the n-th connection (0-based) has arrived. */
  connection(index: number): Promise<Connection>;
  close(): Promise<void>;
}

const encoder = new TextEncoder();
const HEAD_END = encoder.encode("\r\n\r\n");

export function startStallingUpstream(behaviours: readonly Behaviour[]): StallingUpstream {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const connections: Connection[] = [];
  const open = new Set<Deno.Conn>();
  const arrivals: PromiseWithResolvers<Connection>[] = [];
  const arrival = (index: number) => (arrivals[index] ??= Promise.withResolvers());
  const served: Promise<void>[] = [];
  const accepting = (async () => {
    for await (const conn of listener) {
      const behaviour = behaviours[Math.min(connections.length, behaviours.length - 1)];
      const sent = Promise.withResolvers<void>();
      const closed = Promise.withResolvers<void>();
      const connection = { behaviour, sent: sent.promise, closed: closed.promise };
      arrival(connections.length).resolve(connection);
      connections.push(connection);
      open.add(conn);
      served.push(
        serve(conn, behaviour, sent.resolve).finally(() => {
          open.delete(conn);
          closed.resolve();
        }),
      );
    }
  })();
  return {
    url: `http://127.0.0.1:${listener.addr.port}`,
    connections,
    connection: (index) => arrival(index).promise,
    async close() {
      listener.close();
      await accepting;
      for (const conn of open) conn.close();
      await Promise.all(served);
    },
  };
}

/** Plays `behaviour` on one connection; returns once the peer closed it. */
async function serve(conn: Deno.Conn, behaviour: Behaviour, sent: () => void): Promise<void> {
  const buffer = new Uint8Array(16 * 1024);
  try {
    if (!await readHead(conn, buffer)) return;
    if (behaviour === "answer") {
      await write(
        conn,
        `HTTP/1.1 200 OK\r\ncontent-type: application/json; charset=utf-8\r\n` +
          `etag: W/"answered"\r\ncontent-length: ${ANSWER.length}\r\n\r\n${ANSWER}`,
      );
    } else if (behaviour !== "silent") {
      const length = behaviour === "stall" ? 100 : 64 * 1024 * 1024;
      await write(
        conn,
        `HTTP/1.1 200 OK\r\ncontent-type: application/json; charset=utf-8\r\n` +
          `etag: W/"stalled"\r\ncontent-length: ${length}\r\n\r\n${FIRST_BYTES}`,
      );
    }
    sent();
    // Whatever the gateway sends next (another request on a kept-alive connection) is ignored:
    // only its closing the connection ends this.
    while (await conn.read(buffer) !== null);
  } catch {
    // A reset is a close too.
  } finally {
    sent();
    try {
      conn.close();
    } catch {
      // Already closed by `close()`.
    }
  }
}

async function readHead(conn: Deno.Conn, buffer: Uint8Array): Promise<boolean> {
  let seen = new Uint8Array();
  while (true) {
    const n = await conn.read(buffer);
    if (n === null) return false;
    const joined = new Uint8Array(seen.length + n);
    joined.set(seen);
    joined.set(buffer.subarray(0, n), seen.length);
    seen = joined;
    for (let i = 0; i + HEAD_END.length <= seen.length; i++) {
      if (HEAD_END.every((byte, j) => seen[i + j] === byte)) return true;
    }
  }
}

async function write(conn: Deno.Conn, text: string): Promise<void> {
  const bytes = encoder.encode(text);
  for (let written = 0; written < bytes.length;) {
    written += await conn.write(bytes.subarray(written));
  }
}

/** `promise`, or a rejection naming `what` once `ms` have passed: every wait in a test is bounded. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}
