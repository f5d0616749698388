/**
 * `redis://[user:password@]host[:port][/db]` and `rediss://…` (TLS): Redis or Valkey over its own
 * protocol with `@redis/client` (node-redis's core, which reads no environment), the Python
 * proxy's backend. An entry is a hash with the validation
 * state (`s`, JSON) and the encoded content (`b`, bytes), replaced in one MULTI/EXEC so a reader
 * sees either entry whole; Redis expires the key; a refresh rewrites only `s`.
 *
 * The connection fails fast while the server is away (no offline queue, no retries per
 * command), so the guard turns a dead server into misses instead of requests piling up; it
 * reconnects in the background and is used again as soon as it is back.
 */
import { createClient, RESP_TYPES } from "@redis/client";
import { Buffer } from "node:buffer";
import { isIP } from "node:net";
import { ConfigError } from "../../config_error.ts";
import { BackendAuthError, type BackendDriver, type CacheBackend } from "./backend.ts";
import {
  type CacheEntry,
  decodeContent,
  encodeContent,
  type EntryState,
  stateOf,
} from "../entry.ts";

const PREFIX = "github-proxy:cache:";
const DEFAULT_PORT = 6379;
/** Bound of a connection attempt; the guard bounds each call sooner. */
const CONNECT_TIMEOUT_MS = 1000;
/** Longest pause between reconnection attempts: the server is used again this soon after it is back. */
const MAX_RECONNECT_DELAY_MS = 500;
/** Start-up waits this long for a first connection, then goes on without (fail-open). */
const FIRST_CONNECT_WAIT_MS = 1000;
/** Commands waiting for the connection at most (the offline queue is off: none wait for a dead one). */
const MAX_QUEUED_COMMANDS = 10_000;

function newClient(target: RedisTarget) {
  return createClient(redisOptions(target));
}

/** A client as `connectRedis` makes it. */
export type RedisClient = ReturnType<typeof newClient>;

/** What a `redis://` or `rediss://` URL names; the password never leaves this record. */
export interface RedisTarget {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  readonly username?: string;
  readonly password?: string;
  readonly db: number;
}

/**
 * Reads a `redis://` or `rediss://` URL. Problems name the variable and the part, never the
 * URL itself (it may carry a password).
 */
export function parseRedisUrl(url: string): RedisTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError([
      "CACHE_BACKEND_URL is not a valid redis:// URL, e.g. redis://user:password@host:6379/0",
    ]);
  }
  const problems: string[] = [];
  const tls = parsed.protocol === "rediss:";
  if (!tls && parsed.protocol !== "redis:") problems.push("CACHE_BACKEND_URL is not redis://");
  if (parsed.hostname === "") problems.push("CACHE_BACKEND_URL names no Redis host");
  const path = parsed.pathname.replace(/^\/+/, "");
  if (path !== "" && !/^\d{1,5}$/.test(path)) {
    problems.push("CACHE_BACKEND_URL: the Redis database after the host must be a number, e.g. /0");
  }
  if (parsed.search !== "" || parsed.hash !== "") {
    problems.push("CACHE_BACKEND_URL: redis:// takes no query or fragment");
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const username = decodeURIComponent(parsed.username);
  const password = decodeURIComponent(parsed.password);
  return {
    host: parsed.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: parsed.port === "" ? DEFAULT_PORT : Number(parsed.port),
    tls,
    username: username === "" ? undefined : username,
    password: password === "" ? undefined : password,
    db: path === "" ? 0 : Number(path),
  };
}

/** The client options for a target: bounded, failing fast while the server is away. */
export function redisOptions(target: RedisTarget) {
  return {
    socket: {
      host: target.host,
      port: target.port,
      connectTimeout: CONNECT_TIMEOUT_MS,
      reconnectStrategy: (attempt: number) => Math.min(50 * (attempt + 1), MAX_RECONNECT_DELAY_MS),
      // SNI names hosts only; Node refuses an IP address as `servername`.
      ...(target.tls
        ? { tls: true as const, servername: isIP(target.host) ? undefined : target.host }
        : {}),
    },
    username: target.username,
    password: target.password,
    database: target.db,
    disableOfflineQueue: true,
    commandsQueueMaxLength: MAX_QUEUED_COMMANDS,
  };
}

/**
 * A client for `url`, connecting (and reconnecting) in the background; `onError` hears of every
 * connection error, which is otherwise swallowed here: failed calls reach their callers, which
 * count and log them without the server's words.
 */
export function connectRedis(url: string, onError: (error: unknown) => void = () => {}): {
  readonly client: RedisClient;
  /** Resolves once connected or after `ms`, whichever is first; never rejects. */
  readonly connected: (ms?: number) => Promise<void>;
} {
  const client = newClient(parseRedisUrl(url));
  client.on("error", onError);
  const connecting = client.connect().then(() => {}, onError);
  return {
    client,
    connected: (ms = FIRST_CONNECT_WAIT_MS) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const waited = new Promise<void>((resolve) => timer = setTimeout(resolve, ms));
      return Promise.race([connecting, waited]).finally(() => clearTimeout(timer));
    },
  };
}

/** Redis's words for refused credentials (`AUTH`, ACL), told apart from an unreachable server. */
function isAuthError(error: unknown): boolean {
  return error instanceof Error && /^(WRONGPASS|NOAUTH|NOPERM)\b/.test(error.message);
}

export class RedisBackend implements CacheBackend {
  readonly kind = "redis";
  /** The connection's last error: a refused AUTH never lets a command through to say so. */
  #connectionError: unknown;
  readonly #client: RedisClient;
  readonly #connected: Promise<void>;

  constructor(url: string) {
    const { client, connected } = connectRedis(url, (error) => this.#connectionError = error);
    client.on("ready", () => this.#connectionError = undefined);
    this.#client = client;
    this.#connected = connected();
  }

  /** Resolves once connected, or after a bounded wait. */
  connected(): Promise<void> {
    return this.#connected;
  }

  async get(key: string): Promise<CacheEntry | undefined> {
    const bytes = this.#client.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
    const [state, content] = await bytes.hmGet(PREFIX + key, ["s", "b"]);
    if (!state || !content) return undefined;
    return {
      ...decodeContent(new Uint8Array(content)),
      ...JSON.parse(state.toString("utf8")) as EntryState,
    };
  }

  async set(key: string, entry: CacheEntry, ttlSeconds: number): Promise<void> {
    await this.#client.multi()
      .del(PREFIX + key)
      .hSet(PREFIX + key, {
        s: JSON.stringify(stateOf(entry)),
        b: Buffer.from(encodeContent(entry)),
      })
      .expire(PREFIX + key, ttlSeconds)
      .exec();
  }

  /** A key that expired meanwhile gets only `s`, which `get` reads as absent. */
  async touch(key: string, entry: CacheEntry, ttlSeconds: number): Promise<void> {
    await this.#client.multi()
      .hSet(PREFIX + key, { s: JSON.stringify(stateOf(entry)) })
      .expire(PREFIX + key, ttlSeconds)
      .exec();
  }

  async delete(key: string): Promise<void> {
    await this.#client.del(PREFIX + key);
  }

  async ping(): Promise<void> {
    try {
      await this.#client.ping();
    } catch (error) {
      if (isAuthError(error) || isAuthError(this.#connectionError)) {
        throw new BackendAuthError(this.kind);
      }
      throw error;
    }
  }

  async close(): Promise<void> {
    await closeRedis(this.#client);
  }
}

/** Closes a client whether or not it is connected. */
export async function closeRedis(client: RedisClient): Promise<void> {
  if (client.isOpen) await client.close().catch(() => client.destroy());
  else client.destroy();
}

/** `redis://` and `rediss://`: one Redis or Valkey server, whose host the launcher allows. */
export const redis: BackendDriver = {
  async open(url) {
    const backend = new RedisBackend(url);
    await backend.connected();
    return backend;
  },
  requirements: (url) => {
    try {
      const { host, port, tls } = parseRedisUrl(url);
      const shown = host.includes(":") ? `[${host}]` : host;
      return { servers: [`${tls ? "https" : "http"}://${shown}:${port}`], directories: [] };
    } catch {
      return { servers: [], directories: [] };
    }
  },
};
