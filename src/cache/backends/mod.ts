/**
 * Every cache backend the gateway can open, by URL scheme: one table says which schemes exist,
 * what opens each and what each needs from the process (hosts, directories), so the launcher
 * asks here instead of parsing URLs itself. A new backend is one file plus its lines here.
 */
import { ConfigError } from "../../config_error.ts";
import {
  type BackendContext,
  type BackendDriver,
  type BackendRequirements,
  type CacheBackend,
  NO_REQUIREMENTS,
} from "./backend.ts";
import { denoKv } from "./denokv.ts";
import { memory } from "./memory.ts";
import { redis } from "./redis.ts";
import { upstash } from "./upstash.ts";

export type { BackendRequirements, CacheBackend } from "./backend.ts";

/** A Map, not an object: a scheme such as `constructor://` must not find a prototype member. */
const BACKENDS = new Map<string, BackendDriver>([
  ["memory", memory],
  ["inmemory", memory],
  ["denokv", denoKv],
  ["denokv+https", denoKv],
  ["denokv+http", denoKv],
  ["upstash", upstash],
  ["upstash+http", upstash],
  ["upstash+https", upstash],
  ["redis", redis],
  ["rediss", redis],
]);

function schemeOf(url: string): string {
  return /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1].toLowerCase() ?? "";
}

/** Opens the backend `url` names; an unknown scheme is a `ConfigError` listing the known ones. */
export function openBackend(url: string, context: BackendContext): Promise<CacheBackend> {
  const driver = BACKENDS.get(schemeOf(url));
  if (!driver) {
    throw new ConfigError([
      `CACHE_BACKEND_URL has an unknown scheme "${schemeOf(url)}://"; known: ${
        [...BACKENDS.keys()].sort().map((scheme) => `${scheme}://`).join(", ")
      }`,
    ]);
  }
  return driver.open(url, context);
}

/**
 * The servers and directories the backend `url` names needs; none for an unknown scheme, which
 * `openBackend` refuses at start-up.
 */
export function backendRequirements(url: string, stateDirectory: string): BackendRequirements {
  return BACKENDS.get(schemeOf(url))?.requirements(url, stateDirectory) ?? NO_REQUIREMENTS;
}
