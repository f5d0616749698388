/**
 * `denokv://` — Deno KV in a local file (default `<state directory>/cache.kv`, or
 * `denokv:///path/file.kv`); `denokv+https://host/path` — a remote Deno KV over KV Connect,
 * authenticated by the runtime with `DENO_KV_ACCESS_TOKEN`.
 *
 * Layout, so that a reader never sees half an entry: the encoded content is cut into chunks under
 * KV's 64 KiB value limit; the first travels inside the manifest, the rest under keys that carry
 * the manifest's version. A new version's chunks are written before the manifest that names
 * them, and a small entry is one atomic commit. A reader that finds a chunk of its version
 * missing (replaced meanwhile) treats the entry as absent. KV's `expireIn` removes expired
 * manifests and chunks; chunks live twice the TTL so that refreshing a manifest seldom needs to
 * rewrite them.
 */
import { ConfigError } from "../../config_error.ts";
import {
  type BackendContext,
  type BackendDriver,
  type BackendRequirements,
  type CacheBackend,
  NO_REQUIREMENTS,
} from "./backend.ts";
import { concat } from "../../http/body.ts";
import {
  type CacheEntry,
  decodeContent,
  encodeContent,
  type EntryState,
  stateOf,
} from "../entry.ts";

/** Bytes per chunk: under the 64 KiB value limit with room for the manifest's other fields. */
const CHUNK_BYTES = 60_000;
/** Chunks per atomic commit: well under the 800 KiB commit limit. */
const CHUNKS_PER_COMMIT = 10;
/** `getMany` reads at most 10 keys. */
const KEYS_PER_READ = 10;
const PREFIX = "github-proxy-cache";

interface Manifest {
  readonly version: string;
  readonly chunks: number;
  readonly head: Uint8Array;
  readonly digest: string;
  readonly state: EntryState;
  readonly expiresAt: number;
  readonly chunksExpireAt: number;
}

const manifestKey = (key: string): Deno.KvKey => [PREFIX, "m", key];
const chunkKey = (key: string, version: string, index: number): Deno.KvKey => [
  PREFIX,
  "c",
  key,
  version,
  index,
];

export class DenoKvBackend implements CacheBackend {
  readonly kind = "denokv";

  constructor(private readonly kv: Deno.Kv, private readonly now: () => number = Date.now) {}

  async get(key: string): Promise<CacheEntry | undefined> {
    const manifest = (await this.kv.get<Manifest>(manifestKey(key))).value;
    if (!manifest || manifest.expiresAt <= this.now()) return undefined;
    const parts = [manifest.head];
    for (let first = 1; first < manifest.chunks; first += KEYS_PER_READ) {
      const keys: Deno.KvKey[] = [];
      for (let i = first; i < Math.min(first + KEYS_PER_READ, manifest.chunks); i++) {
        keys.push(chunkKey(key, manifest.version, i));
      }
      for (const chunk of await this.kv.getMany<Uint8Array[]>(keys)) {
        if (chunk.value === null) return undefined;
        parts.push(chunk.value);
      }
    }
    return { ...decodeContent(concat(parts)), ...manifest.state };
  }

  async set(key: string, entry: CacheEntry, ttlSeconds: number): Promise<void> {
    const previous = (await this.kv.get<Manifest>(manifestKey(key))).value;
    const encoded = encodeContent(entry);
    const version = crypto.randomUUID();
    const chunks: Uint8Array[] = [];
    for (let at = 0; at < encoded.length; at += CHUNK_BYTES) {
      // A copy, not a view: KV serialises a view together with its whole buffer.
      chunks.push(encoded.slice(at, at + CHUNK_BYTES));
    }
    const ttlMs = ttlSeconds * 1000;
    const chunkTtlMs = 2 * ttlMs;
    const now = this.now();
    const manifest: Manifest = {
      version,
      chunks: Math.max(1, chunks.length),
      head: chunks[0] ?? new Uint8Array(),
      digest: entry.digest,
      state: stateOf(entry),
      expiresAt: now + ttlMs,
      chunksExpireAt: now + chunkTtlMs,
    };
    const rest = chunks.slice(1);
    let start = 0;
    if (rest.length > CHUNKS_PER_COMMIT) {
      for (; start + CHUNKS_PER_COMMIT < rest.length; start += CHUNKS_PER_COMMIT) {
        const batch = this.kv.atomic();
        for (let i = start; i < start + CHUNKS_PER_COMMIT; i++) {
          batch.set(chunkKey(key, version, i + 1), rest[i], { expireIn: chunkTtlMs });
        }
        await commit(batch);
      }
    }
    const last = this.kv.atomic();
    for (let i = start; i < rest.length; i++) {
      last.set(chunkKey(key, version, i + 1), rest[i], { expireIn: chunkTtlMs });
    }
    last.set(manifestKey(key), manifest, { expireIn: ttlMs });
    await commit(last);
    if (previous) await this.#deleteChunks(key, previous);
  }

  async touch(key: string, entry: CacheEntry, ttlSeconds: number): Promise<void> {
    const current = await this.kv.get<Manifest>(manifestKey(key));
    const manifest = current.value;
    const ttlMs = ttlSeconds * 1000;
    const expiresAt = this.now() + ttlMs;
    const chunksOutlive = manifest !== null &&
      (manifest.chunks === 1 || manifest.chunksExpireAt >= expiresAt);
    if (!manifest || manifest.digest !== entry.digest || !chunksOutlive) {
      return this.set(key, entry, ttlSeconds);
    }
    const refreshed: Manifest = { ...manifest, state: stateOf(entry), expiresAt };
    await this.kv.atomic().check(current).set(manifestKey(key), refreshed, { expireIn: ttlMs })
      .commit();
  }

  async delete(key: string): Promise<void> {
    const manifest = (await this.kv.get<Manifest>(manifestKey(key))).value;
    await this.kv.delete(manifestKey(key));
    if (manifest) await this.#deleteChunks(key, manifest);
  }

  async ping(): Promise<void> {
    await this.kv.get([PREFIX, "ping"]);
  }

  close(): Promise<void> {
    this.kv.close();
    return Promise.resolve();
  }

  async #deleteChunks(key: string, manifest: Manifest): Promise<void> {
    for (let first = 1; first < manifest.chunks; first += CHUNKS_PER_COMMIT) {
      const batch = this.kv.atomic();
      for (let i = first; i < Math.min(first + CHUNKS_PER_COMMIT, manifest.chunks); i++) {
        batch.delete(chunkKey(key, manifest.version, i));
      }
      await commit(batch);
    }
  }
}

async function commit(operation: Deno.AtomicOperation): Promise<void> {
  const result = await operation.commit();
  if (!result.ok) throw new Error("Deno KV commit was rejected");
}

/** Where a `denokv://` URL keeps its file, or the KV Connect URL of a `denokv+https://` one. */
export function kvLocation(url: string, stateDirectory: string): string {
  const remote = /^denokv\+(https?):\/\/(.+)$/i.exec(url);
  if (remote) return `${remote[1].toLowerCase()}://${remote[2]}`;
  const path = url.replace(/^denokv:\/\//i, "");
  return path === "" ? `${stateDirectory.replace(/\/+$/, "")}/cache.kv` : path;
}

const isRemote = (location: string): boolean => /^https?:\/\//.test(location);

/** The directory of a local KV file, where KV also writes its `-wal`/`-shm` files. */
function directoryOf(file: string): string {
  const slash = file.lastIndexOf("/");
  return slash < 0 ? "." : file.slice(0, slash) || "/";
}

/** A remote KV's server, or a local file's directory (the state directory by default). */
function denoKvRequirements(url: string, stateDirectory: string): BackendRequirements {
  const location = kvLocation(url, stateDirectory);
  if (isRemote(location)) return { servers: [location], directories: [] };
  if (!/^denokv:\/\//i.test(url)) return NO_REQUIREMENTS;
  return { servers: [], directories: [directoryOf(location)] };
}

/** Deno's KV Connect errors name the server's status: 401/403 mean the token was refused. */
function refusedCredentials(error: unknown): boolean {
  return error instanceof Error && /\bstatus 40[13]\b/.test(error.message);
}

async function openDenoKv(url: string, context: BackendContext): Promise<CacheBackend> {
  const location = kvLocation(url, context.stateDirectory);
  const remote = isRemote(location);
  if (remote && !context.denoKvAccessToken) {
    throw new ConfigError([`DENO_KV_ACCESS_TOKEN is required for CACHE_BACKEND_URL ${url}`]);
  }
  if (!remote) await Deno.mkdir(directoryOf(location), { recursive: true });
  try {
    return new DenoKvBackend(await Deno.openKv(location));
  } catch (error) {
    if (!remote) throw error;
    // Deno's message quotes the URL and the server's answer: neither is repeated.
    const why = refusedCredentials(error) ? "auth failed" : "unreachable";
    throw new ConfigError([`CACHE_BACKEND_URL ${url}: cannot open the remote Deno KV (${why})`]);
  }
}

/** `denokv://` (a local file) and `denokv+https://` (KV Connect). */
export const denoKv: BackendDriver = { open: openDenoKv, requirements: denoKvRequirements };
