/**
 * The cache backend contract and the registry of backends by URL scheme. A backend is one file
 * that calls `registerBackend` for its schemes; `backends.ts` imports them all.
 */
import { ConfigError } from "../../config.ts";
import type { CacheEntry } from "../entry.ts";

/** Thrown by a backend whose server refused the gateway's credentials (HTTP 401 or 403). */
export class BackendAuthError extends Error {
  constructor(readonly backendKind: string) {
    super(`cache backend ${backendKind} refused the gateway's credentials`);
    this.name = "BackendAuthError";
  }
}

export interface CacheBackend {
  /** `memory`, `denokv`, `upstash`: the label in logs. */
  readonly kind: string;
  /** The live entry under `key`, or undefined when absent or expired. */
  get(key: string): Promise<CacheEntry | undefined>;
  /** Stores `entry` for `ttlSeconds`, replacing whatever `key` held. */
  set(key: string, entry: CacheEntry, ttlSeconds: number): Promise<void>;
  /**
   * Records a revalidation: `entry` carries the content `get` returned and a new state; its TTL
   * restarts. A backend may rewrite only the state when the stored content is the same.
   */
  touch(key: string, entry: CacheEntry, ttlSeconds: number): Promise<void>;
  delete(key: string): Promise<void>;
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

export type BackendOpener = (url: string, context: BackendContext) => Promise<CacheBackend>;

const openers = new Map<string, BackendOpener>();

export function registerBackend(schemes: readonly string[], open: BackendOpener): void {
  for (const scheme of schemes) openers.set(scheme, open);
}

export function knownSchemes(): string[] {
  return [...openers.keys()].sort();
}

export function schemeOf(url: string): string {
  return /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1].toLowerCase() ?? "";
}

/** Opens the backend `url` names; an unknown scheme is a `ConfigError` listing the known ones. */
export function openBackend(url: string, context: BackendContext): Promise<CacheBackend> {
  const open = openers.get(schemeOf(url));
  if (!open) {
    throw new ConfigError([
      `CACHE_BACKEND_URL has an unknown scheme "${schemeOf(url)}://"; known: ${
        knownSchemes().map((s) => `${s}://`).join(", ")
      }`,
    ]);
  }
  return open(url, context);
}
