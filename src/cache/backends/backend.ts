/**
 * The cache backend contract: what the gateway asks of a backend, and what a backend's file
 * exports for the table of schemes in `mod.ts`.
 */
import type { CacheEntry } from "../entry.ts";

/** Thrown by a backend whose server refused the gateway's credentials (HTTP 401 or 403). */
export class BackendAuthError extends Error {
  constructor(readonly backendKind: string) {
    super(`cache backend ${backendKind} refused the gateway's credentials`);
    this.name = "BackendAuthError";
  }
}

/** An entry, or undefined for none. */
export type MaybeEntry = CacheEntry | undefined;
/** A write: done on return, or when the promise resolves. */
export type Written = void | Promise<void>;

export interface CacheBackend {
  /** `memory`, `denokv`, `upstash`: the label in logs. */
  readonly kind: string;
  /**
   * The live entry under `key`, or undefined when absent or expired. `acceptedAgeMs`, the age
   * since validation the client accepts, lets a tiered backend answer from a nearer tier. An
   * answer from this process's memory comes at once, not as a promise: it needs no deadline.
   */
  get(key: string, acceptedAgeMs?: number): MaybeEntry | Promise<MaybeEntry>;
  /**
   * Stores `entry` for `ttlSeconds`, replacing whatever `key` held. Writes to this process's
   * memory are done when they return (no promise, no deadline); others resolve when done.
   */
  set(key: string, entry: CacheEntry, ttlSeconds: number): Written;
  /**
   * Records a revalidation: `entry` carries the content `get` returned and a new state; its TTL
   * restarts. A backend may rewrite only the state when the stored content is the same.
   */
  touch(key: string, entry: CacheEntry, ttlSeconds: number): Written;
  delete(key: string): Written;
  /** Entries and bytes held, for backends that can tell cheaply. */
  stats?(): { entries: number; bytes: number };
  /** Resolves when the backend answers; for readiness checks. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** What a backend may need besides its URL. */
export interface BackendContext {
  readonly stateDirectory: string;
  readonly upstashToken?: string;
  readonly denoKvAccessToken?: string;
}

/** What a backend's URL needs from the process: for the launcher's permission flags. */
export interface BackendRequirements {
  /** URLs of the servers it connects to (their hosts go into `--allow-net`). */
  readonly servers: readonly string[];
  /** Directories it reads and writes (`--allow-read`, `--allow-write`). */
  readonly directories: readonly string[];
}

/** An embedded backend that needs neither network nor files. */
export const NO_REQUIREMENTS: BackendRequirements = { servers: [], directories: [] };

/** One kind of backend: how to open a URL of its schemes, and what that URL needs. */
export interface BackendDriver {
  open(url: string, context: BackendContext): Promise<CacheBackend>;
  requirements(url: string, stateDirectory: string): BackendRequirements;
}
