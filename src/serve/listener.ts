/**
 * The supervised listener (issue 9 items 1 and 4). Deno.serve (2.9.6) has no connection cap and
 * no header, body or idle timeouts, and its accept loop ends for good on `EMFILE`. So the
 * gateway accepts TCP connections itself, caps them below the descriptor limit, follows each
 * one's bytes to enforce the timeouts (src/serve/guard.ts) and relays them to Deno.serve on a
 * unix socket that only this process uses. An accept error backs off and accepting goes on;
 * should the HTTP server or the accept loop stop anyway, `failed` settles and main exits non-zero.
 */
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import { ConnectionWatch, deadlineOf, type Timeouts } from "./guard.ts";

export interface GuardedServeOptions {
  readonly hostname: string;
  readonly port: number;
  /** The unix socket between the guard and the HTTP server. */
  readonly socketPath: string;
  readonly maxConnections: number;
  readonly timeouts: Timeouts;
  readonly logger: Logger;
  readonly handler: Deno.ServeHandler;
  /** Answers what the handler could not: an error after the status line was sent. */
  readonly onError?: (error: unknown) => Response;
}

export interface GuardedServer {
  readonly addr: Deno.NetAddr;
  /** Settles only if serving stopped other than by `shutdown`, with the reason. */
  readonly failed: Promise<Error>;
  /** Stops accepting, lets in-flight requests finish, then closes every connection. */
  shutdown(): Promise<void>;
}

/**
 * The unix socket between guard and HTTP server: in the state directory, named by port so
 * that gateways sharing a state directory on different ports keep apart.
 */
export function listenerSocketPath(config: Pick<Config, "stateDirectory" | "port">): string {
  return `${config.stateDirectory.replace(/\/+$/, "")}/listener-${config.port}.sock`;
}

const BUFFER_BYTES = 16 * 1024;
const BACKOFF_MIN_MS = 10;
const BACKOFF_MAX_MS = 1000;
/** At most one log line per kind of refusal per this many milliseconds. */
const LOG_EVERY_MS = 5000;

/** Starts the listener; throws when the address or the socket cannot be bound. */
export async function serveGuarded(options: GuardedServeOptions): Promise<GuardedServer> {
  const now = () => performance.now();
  const { logger, timeouts } = options;
  const throttled = throttledLog(logger);
  let stopping = false;
  let reportFailure: (error: Error) => void = () => {};
  const httpFailed = new Promise<Error>((resolve) => reportFailure = resolve);
  Deno.mkdirSync(options.socketPath.slice(0, options.socketPath.lastIndexOf("/")) || "/", {
    recursive: true,
  });
  const startHttp = (): Deno.HttpServer<Deno.UnixAddr> => {
    removeStaleSocket(options.socketPath);
    const server = Deno.serve({
      path: options.socketPath,
      transport: "unix",
      onListen: () => {},
      onError: options.onError,
    }, options.handler);
    server.finished.then(
      () => {
        if (!stopping) reportFailure(new Error("the HTTP server stopped"));
      },
      (error) => {
        if (!stopping) restartHttp(error as Error);
      },
    );
    return server;
  };
  // Deno.serve's accept loop ends for good when descriptors run out: it is started again once
  // some are free, the way the guard's own accept loop backs off and goes on.
  const restartHttp = async (error: Error): Promise<void> => {
    for (let backoff = BACKOFF_MIN_MS;; backoff = Math.min(backoff * 2, BACKOFF_MAX_MS)) {
      if (!outOfDescriptors(error)) {
        reportFailure(new Error(`the HTTP server stopped: ${error.message}`));
        return;
      }
      throttled("out of file descriptors: restarting the HTTP server", { error: error.message });
      await new Promise((resolve) => setTimeout(resolve, backoff));
      if (stopping) return;
      try {
        http = startHttp();
        return;
      } catch (again) {
        error = again as Error;
      }
    }
  };
  let http = startHttp();
  let listener: Deno.TcpListener;
  try {
    listener = Deno.listen({ hostname: options.hostname, port: options.port });
  } catch (error) {
    stopping = true;
    await http.shutdown();
    throw error;
  }
  const connections = new Set<Relay>();

  const sweep = setInterval(() => {
    const at = now();
    for (const relay of connections) {
      const deadline = deadlineOf(relay.watch.snapshot(), timeouts);
      if (deadline && at >= deadline.at) {
        logger.debug("closing connection", { reason: `${deadline.reason} timeout` });
        relay.close();
      }
    }
  }, sweepPeriod(timeouts));

  const accepting = (async (): Promise<Error | undefined> => {
    let backoff = BACKOFF_MIN_MS;
    for (;;) {
      let client: Deno.TcpConn;
      try {
        client = await listener.accept();
      } catch (error) {
        if (stopping) return undefined;
        if (error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted) {
          return error as Error;
        }
        throttled("accept failed; backing off", {
          error: (error as Error).message,
          backoffMs: backoff,
        });
        await new Promise((resolve) => setTimeout(resolve, backoff));
        backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
        continue;
      }
      backoff = BACKOFF_MIN_MS;
      if (connections.size >= options.maxConnections) {
        throttled("connection limit reached; refusing connections", {
          maxConnections: options.maxConnections,
        });
        client.close();
        continue;
      }
      const relay = new Relay(client, new ConnectionWatch(now()), now, () => {
        connections.delete(relay);
      });
      connections.add(relay);
      relay.start(options.socketPath, throttled);
    }
  })();

  const failed = Promise.race([
    accepting.then((error) => error ?? new Promise<never>(() => {})).then((error) =>
      new Error(`the accept loop ended: ${error.message}`)
    ),
    httpFailed,
  ]).then((error) => (stopping ? new Promise<never>(() => {}) : error));

  return {
    addr: listener.addr,
    failed,
    async shutdown() {
      stopping = true;
      listener.close();
      // A server that ran out of descriptors and awaits its restart has nothing to drain.
      await http.shutdown().catch(() => {});
      // The HTTP server has answered and closed its ends; each relay ends once it has passed
      // the last bytes on to its client.
      await Promise.all([...connections].map((relay) => relay.done));
      clearInterval(sweep);
      await accepting;
    },
  };
}

/** Often enough that a deadline is met within a quarter of the shortest timeout. */
function sweepPeriod(timeouts: Timeouts): number {
  return Math.max(
    50,
    Math.min(1000, Math.min(timeouts.headerMs, timeouts.bodyMs, timeouts.idleMs) / 4),
  );
}

/** EMFILE (24) or ENFILE (23): the process's or the system's descriptors are used up. */
function outOfDescriptors(error: Error): boolean {
  return /\(os error 2[34]\)/.test(error.message);
}

function removeStaleSocket(path: string): void {
  try {
    Deno.removeSync(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

type Log = (message: string, fields: Record<string, unknown>) => void;

/** A warning per message at most every `LOG_EVERY_MS`: an attack must not flood the log. */
function throttledLog(logger: Logger): Log {
  const last = new Map<string, number>();
  return (message, fields) => {
    const at = Date.now();
    if (at - (last.get(message) ?? -Infinity) < LOG_EVERY_MS) return;
    last.set(message, at);
    logger.warn(message, fields);
  };
}

/** One client connection relayed to the HTTP server, watched in both directions. */
class Relay {
  #inner: Deno.UnixConn | undefined;
  #closed = false;
  #ended: () => void = () => {};
  /** Settles when the relay has closed both connections. */
  readonly done = new Promise<void>((resolve) => this.#ended = resolve);

  constructor(
    private readonly client: Deno.TcpConn,
    readonly watch: ConnectionWatch,
    private readonly now: () => number,
    private readonly onClose: () => void,
  ) {}

  start(socketPath: string, log: Log): void {
    (async () => {
      try {
        this.#inner = await Deno.connect({ path: socketPath, transport: "unix" });
      } catch (error) {
        log("cannot reach the HTTP server; closing connection", {
          error: (error as Error).message,
        });
        this.close();
        return;
      }
      if (this.#closed) {
        this.#inner.close();
        return;
      }
      const inner = this.#inner;
      // The client's end of stream is passed on; its failure ends the relay at once.
      this.#copy(this.client, inner, (bytes) => this.watch.fromClient(bytes, this.now()))
        .then(() => inner.closeWrite())
        .catch(() => this.close());
      await this.#copy(inner, this.client, (bytes) => {
        this.watch.fromServer(bytes, this.now());
        return true;
      }).catch(() => {});
      this.close();
    })();
  }

  /** Copies until end of stream; a failure or an over-pipelining client closes the relay. */
  async #copy(from: Deno.Conn, to: Deno.Conn, observe: (bytes: Uint8Array) => boolean) {
    const buffer = new Uint8Array(BUFFER_BYTES);
    for (;;) {
      const n = await from.read(buffer);
      if (n === null) return;
      const chunk = buffer.subarray(0, n);
      if (!observe(chunk)) throw new Error("too many pipelined requests");
      for (let written = 0; written < n;) written += await to.write(chunk.subarray(written));
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const conn of [this.client, this.#inner]) {
      try {
        conn?.close();
      } catch {
        // Already closed by the peer's end of stream.
      }
    }
    this.onClose();
    this.#ended();
  }
}
