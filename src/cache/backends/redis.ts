/**
 * `redis://[user:password@]host[:port][/db]` and `rediss://…` (TLS): Redis or Valkey over its own
 * protocol with `ioredis`, the Python proxy's backend. An entry is a hash with the validation
 * state (`s`, JSON) and the encoded content (`b`, bytes), replaced in one MULTI/EXEC so a reader
 * sees either entry whole; Redis expires the key; a refresh rewrites only `s`.
 *
 * The connection fails fast while the server is away (no offline queue, no retries per
 * command), so the guard turns a dead server into misses instead of requests piling up; it
 * reconnects in the background and is used again as soon as it is back.
 */
import { Redis, type RedisOptions } from "ioredis";
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
/** Bounds of the connection itself; the guard bounds each call sooner. */
const CONNECT_TIMEOUT_MS = 1000;
const COMMAND_TIMEOUT_MS = 2000;
/** Longest pause between reconnection attempts: the server is used again this soon after it is back. */
const MAX_RECONNECT_DELAY_MS = 500;
/** Start-up waits this long for a first connection, then goes on without (fail-open). */
const FIRST_CONNECT_WAIT_MS = 1000;

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
export function redisOptions(target: RedisTarget): RedisOptions {
  return {
    host: target.host,
    port: target.port,
    username: target.username,
    password: target.password,
    db: target.db,
    // SNI names hosts only; Node refuses an IP address as `servername`.
    tls: target.tls ? (isIP(target.host) ? {} : { servername: target.host }) : undefined,
    connectTimeout: CONNECT_TIMEOUT_MS,
    commandTimeout: COMMAND_TIMEOUT_MS,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    retryStrategy: (attempt: number) => Math.min(50 * attempt, MAX_RECONNECT_DELAY_MS),
    lazyConnect: false,
  };
}

/**
 * A client for `url`, connecting in the background. Its `error` events are swallowed here:
 * failed calls reach their callers, which count and log them without the server's words.
 */
export function connectRedis(url: string): Redis {
  const client = new Redis(redisOptions(parseRedisUrl(url)));
  client.on("error", () => {});
  return client;
}

/** Resolves once `client` is ready or `ms` passed, whichever is first; never rejects. */
export function firstConnection(client: Redis, ms: number = FIRST_CONNECT_WAIT_MS): Promise<void> {
  if (client.status === "ready") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      client.off("ready", done);
      client.off("end", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    client.once("ready", done);
    client.once("end", done);
  });
}

/** Redis's words for refused credentials (`AUTH`, ACL), told apart from an unreachable server. */
function isAuthError(error: unknown): boolean {
  return error instanceof Error && /^(WRONGPASS|NOAUTH|NOPERM)\b/.test(error.message);
}

export class RedisBackend implements CacheBackend {
  readonly kind = "redis";
  /** The connection's last error: a refused AUTH never lets a command through to say so. */
  #connectionError: unknown;

  constructor(private readonly redis: Redis) {
    redis.on("error", (error) => this.#connectionError = error);
    redis.on("ready", () => this.#connectionError = undefined);
  }

  async get(key: string): Promise<CacheEntry | undefined> {
    const [state, content] = await this.redis.hmgetBuffer(PREFIX + key, "s", "b");
    if (!state || !content) return undefined;
    return {
      ...decodeContent(new Uint8Array(content)),
      ...JSON.parse(state.toString("utf8")) as EntryState,
    };
  }

  async set(key: string, entry: CacheEntry, ttlSeconds: number): Promise<void> {
    await this.#exec(
      this.redis.multi()
        .del(PREFIX + key)
        .hset(
          PREFIX + key,
          "s",
          JSON.stringify(stateOf(entry)),
          "b",
          Buffer.from(encodeContent(entry)),
        )
        .expire(PREFIX + key, ttlSeconds),
    );
  }

  /** A key that expired meanwhile gets only `s`, which `get` reads as absent. */
  async touch(key: string, entry: CacheEntry, ttlSeconds: number): Promise<void> {
    await this.#exec(
      this.redis.multi()
        .hset(PREFIX + key, "s", JSON.stringify(stateOf(entry)))
        .expire(PREFIX + key, ttlSeconds),
    );
  }

  async delete(key: string): Promise<void> {
    await this.redis.del(PREFIX + key);
  }

  async ping(): Promise<void> {
    try {
      await this.redis.ping();
    } catch (error) {
      if (isAuthError(error) || isAuthError(this.#connectionError)) {
        throw new BackendAuthError(this.kind);
      }
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  /** EXEC's per-command errors are in its reply, not thrown: the first one fails the write. */
  async #exec(multi: ReturnType<Redis["multi"]>): Promise<void> {
    const replies = await multi.exec();
    const failed = replies?.find(([error]) => error !== null);
    if (failed) throw failed[0];
  }
}

/** `redis://` and `rediss://`: one Redis or Valkey server, whose host the launcher allows. */
export const redis: BackendDriver = {
  async open(url) {
    const client = connectRedis(url);
    const backend = new RedisBackend(client);
    await firstConnection(client);
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
