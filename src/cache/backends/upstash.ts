/**
 * `upstash://host` (HTTPS) and `upstash+http://host:port` (a self-hosted Upstash-REST-compatible
 * server): a Redis hash per entry with the validation state (`s`, JSON) and the compressed
 * content (`c`, base64), replaced in one MULTI/EXEC so a reader sees either entry whole. Redis
 * expires the key; a refresh rewrites only `s`.
 */
import { Redis } from "@upstash/redis";
import { Buffer } from "node:buffer";
import { ConfigError } from "../../config_error.ts";
import {
  BackendAuthError,
  type BackendContext,
  type BackendDriver,
  type CacheBackend,
} from "./backend.ts";
import {
  type CacheEntry,
  decodeContent,
  encodeContent,
  type EntryState,
  stateOf,
} from "../entry.ts";

const PREFIX = "github-proxy:cache:";
/** Bound for the readiness probe's own request (the guard answers `/readyz` sooner). */
const PING_TIMEOUT_MS = 5000;

/** Where and how the readiness probe calls the REST endpoint. */
interface UpstashEndpoint {
  readonly restUrl: string;
  readonly token: string;
}

class UpstashBackend implements CacheBackend {
  readonly kind = "upstash";

  constructor(private readonly redis: Redis, private readonly endpoint: UpstashEndpoint) {}

  async get(key: string): Promise<CacheEntry | undefined> {
    // Without automatic deserialisation the client hands back Redis's reply as is: an array.
    const [state, content] = await this.redis.hmget(PREFIX + key, "s", "c") as unknown as [
      string | null,
      string | null,
    ];
    if (!state || !content) return undefined;
    return {
      ...decodeContent(Buffer.from(content, "base64")),
      ...JSON.parse(state) as EntryState,
    };
  }

  async set(key: string, entry: CacheEntry, ttlSeconds: number): Promise<void> {
    const content = Buffer.from(encodeContent(entry)).toString("base64");
    await this.redis.multi()
      .del(PREFIX + key)
      .hset(PREFIX + key, { s: JSON.stringify(stateOf(entry)), c: content })
      .expire(PREFIX + key, ttlSeconds)
      .exec();
  }

  /** A key that expired meanwhile gets only `s`, which `get` reads as absent. */
  async touch(key: string, entry: CacheEntry, ttlSeconds: number): Promise<void> {
    await this.redis.multi()
      .hset(PREFIX + key, { s: JSON.stringify(stateOf(entry)) })
      .expire(PREFIX + key, ttlSeconds)
      .exec();
  }

  async delete(key: string): Promise<void> {
    await this.redis.del(PREFIX + key);
  }

  /**
   * PING over plain `fetch`, not the client: the client's errors carry the server's words but
   * not the HTTP status, and readiness must tell refused credentials from an unreachable server.
   */
  async ping(): Promise<void> {
    const response = await fetch(this.endpoint.restUrl, {
      method: "POST",
      headers: { authorization: `Bearer ${this.endpoint.token}` },
      body: JSON.stringify(["PING"]),
      signal: AbortSignal.timeout(PING_TIMEOUT_MS),
    });
    await response.body?.cancel();
    if (response.status === 401 || response.status === 403) throw new BackendAuthError(this.kind);
    if (!response.ok) throw new Error(`Upstash PING answered ${response.status}`);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** The REST base URL of an `upstash://` or `upstash+http://` URL; undefined without a host. */
function restUrlOf(url: string): string | undefined {
  const match = /^upstash(?:\+(https?))?:\/\/(.+)$/i.exec(url);
  if (!match) return undefined;
  return `${(match[1] ?? "https").toLowerCase()}://${match[2].replace(/\/+$/, "")}`;
}

/** The REST base URL of an `upstash://` or `upstash+http://` URL. */
export function upstashRestUrl(url: string): string {
  const restUrl = restUrlOf(url);
  if (!restUrl) throw new ConfigError([`CACHE_BACKEND_URL ${url} names no Upstash host`]);
  return restUrl;
}

function openUpstash(url: string, context: BackendContext): Promise<CacheBackend> {
  const restUrl = upstashRestUrl(url);
  if (!context.upstashToken) {
    throw new ConfigError([`UPSTASH_REDIS_REST_TOKEN is required for CACHE_BACKEND_URL ${url}`]);
  }
  const redis = upstashClient(restUrl, context.upstashToken);
  return Promise.resolve(new UpstashBackend(redis, { restUrl, token: context.upstashToken }));
}

/** A client for the REST endpoint at `restUrl`, as the cache backend and the shared state use it. */
export function upstashClient(restUrl: string, token: string): Redis {
  return new Redis({
    url: restUrl,
    token,
    // Values are JSON and base64 text that the callers decode themselves; the gateway bounds
    // every call in time and fails open, so the client's own retries would only add delay.
    automaticDeserialization: false,
    responseEncoding: false,
    retry: false,
    enableTelemetry: false,
    enableAutoPipelining: false,
    readYourWrites: false,
  });
}

/** `upstash://host` (HTTPS) and `upstash+http://host:port`: one REST server. */
export const upstash: BackendDriver = {
  open: openUpstash,
  requirements: (url) => {
    const restUrl = restUrlOf(url);
    return { servers: restUrl ? [restUrl] : [], directories: [] };
  },
};
