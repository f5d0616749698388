/**
 * A throwaway `redis-server` on a free loopback port (no persistence), and a minimal RESP client
 * for it. Tests that need Redis skip with a message when the binary is missing.
 */

export type Reply = string | number | null | RedisError | Reply[];

export class RedisError {
  constructor(readonly message: string) {}
}

export const REDIS_MISSING =
  "redis-server is not installed (apt-get install -y redis-server); skipping";

export async function redisAvailable(): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("redis-server", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
}

export interface RedisProcess extends AsyncDisposable {
  readonly port: number;
  close(): Promise<void>;
}

export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

export interface RedisOptions {
  /** The port to listen on (to bring a stopped server back where clients expect it). */
  readonly port?: number;
  /** More `redis-server` arguments, e.g. `["--user", "app", "on", ">secret", "~*", "+@all"]`. */
  readonly args?: readonly string[];
}

export async function startRedis(options: RedisOptions = {}): Promise<RedisProcess> {
  const port = options.port ?? freePort();
  const child = new Deno.Command("redis-server", {
    args: [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      ...options.args ?? [],
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const deadline = Date.now() + 5000;
  while (true) {
    try {
      const client = await RespClient.connect(port);
      // A server with ACL users refuses PING with NOAUTH: it is up all the same.
      await client.send([["PING"]]);
      client.close();
      break;
    } catch (error) {
      if (Date.now() > deadline) {
        child.kill();
        await child.status;
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  const close = async () => {
    child.kill("SIGTERM");
    await child.status;
  };
  return { port, close, [Symbol.asyncDispose]: close };
}

const CRLF = "\r\n";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** RESP2 over one connection; commands sent together are written together, never interleaved. */
export class RespClient {
  readonly #waiting: ((reply: Reply) => void)[] = [];
  #buffer = new Uint8Array();
  #writes = Promise.resolve();
  readonly #reading: Promise<void>;

  private constructor(private readonly conn: Deno.TcpConn) {
    this.#reading = this.#read();
  }

  static async connect(port: number): Promise<RespClient> {
    return new RespClient(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  /** Sends the commands in one write; resolves with their replies in order. */
  send(commands: readonly (readonly string[])[]): Promise<Reply[]> {
    const replies = commands.map(() =>
      new Promise<Reply>((resolve) => this.#waiting.push(resolve))
    );
    const frame = commands.map((args) =>
      `*${args.length}${CRLF}` +
      args.map((arg) => `$${encoder.encode(arg).length}${CRLF}${arg}${CRLF}`).join("")
    ).join("");
    this.#writes = this.#writes.then(async () => {
      const bytes = encoder.encode(frame);
      for (let at = 0; at < bytes.length;) at += await this.conn.write(bytes.subarray(at));
    });
    return Promise.all(replies);
  }

  close(): void {
    this.conn.close();
  }

  async closed(): Promise<void> {
    await this.#reading;
  }

  async #read(): Promise<void> {
    try {
      for await (const chunk of this.conn.readable) {
        const joined = new Uint8Array(this.#buffer.length + chunk.length);
        joined.set(this.#buffer);
        joined.set(chunk, this.#buffer.length);
        this.#buffer = joined;
        let parsed;
        while ((parsed = parseReply(this.#buffer, 0)) !== undefined) {
          this.#buffer = this.#buffer.subarray(parsed.end);
          this.#waiting.shift()?.(parsed.value);
        }
      }
    } catch {
      // The connection was closed under the reader: nothing more to deliver.
    }
  }
}

function parseReply(buffer: Uint8Array, at: number): { value: Reply; end: number } | undefined {
  const lineEnd = indexOfCrlf(buffer, at);
  if (lineEnd < 0) return undefined;
  const type = String.fromCharCode(buffer[at]);
  const line = decoder.decode(buffer.subarray(at + 1, lineEnd));
  const next = lineEnd + 2;
  switch (type) {
    case "+":
      return { value: line, end: next };
    case "-":
      return { value: new RedisError(line), end: next };
    case ":":
      return { value: Number(line), end: next };
    case "$": {
      const length = Number(line);
      if (length < 0) return { value: null, end: next };
      if (buffer.length < next + length + 2) return undefined;
      return {
        value: decoder.decode(buffer.subarray(next, next + length)),
        end: next + length + 2,
      };
    }
    case "*": {
      const count = Number(line);
      if (count < 0) return { value: null, end: next };
      const items: Reply[] = [];
      let end = next;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buffer, end);
        if (!item) return undefined;
        items.push(item.value);
        end = item.end;
      }
      return { value: items, end };
    }
    default:
      throw new Error(`unexpected RESP type ${type}`);
  }
}

function indexOfCrlf(buffer: Uint8Array, from: number): number {
  for (let i = from; i < buffer.length - 1; i++) {
    if (buffer[i] === 13 && buffer[i + 1] === 10) return i;
  }
  return -1;
}
