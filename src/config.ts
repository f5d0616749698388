/**
 * Start-up configuration: every environment variable of DESIGN §4, parsed once into an
 * immutable typed object. Nothing below `main.ts` reads the environment.
 */
import { createPrivateKey } from "node:crypto";
import { redactUserinfo } from "./redact.ts";

export type TelemetryCollector = "prometheus" | "logging" | "noop";
export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFormat = "json" | "pretty";

export interface PatSource {
  readonly kind: "pat";
  readonly name: string;
  readonly token: string;
}

export interface AppSource {
  readonly kind: "app";
  readonly name: string;
  readonly appId: string;
  readonly installationId: string;
  readonly privateKey: string;
}

export type CredentialSource = PatSource | AppSource;

export interface Config {
  /** REST base without a trailing slash, e.g. `https://api.github.com` or `https://ghe/api/v3`. */
  readonly githubApiUrl: string;
  /** The GraphQL endpoint that belongs to `githubApiUrl`. */
  readonly githubGraphqlUrl: string;
  readonly registryPath: string;
  readonly stateDirectory: string;
  readonly cacheBackendUrl: string;
  readonly cacheTtlSeconds: number;
  readonly upstashToken?: string;
  readonly denoKvAccessToken?: string;
  readonly credentials: readonly CredentialSource[];
  readonly credsCacheMaxSize: number;
  readonly credsTtlPaddingSeconds: number;
  readonly telemetry: TelemetryCollector;
  readonly metricsToken?: string;
  readonly port: number;
  readonly bind: string;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
  readonly upstreamTimeoutMs: number;
  readonly drainTimeoutMs: number;
  /** Time a client has for a request head (from connecting, or from its first byte). */
  readonly headerTimeoutMs: number;
  /** Longest pause allowed between two reads of a request body. */
  readonly bodyTimeoutMs: number;
  /** Time a keep-alive connection may wait for its next request. */
  readonly idleTimeoutMs: number;
  /** Cap on open client connections; each holds up to 4 file descriptors. */
  readonly maxConnections: number;
}

/** Every variable the gateway reads besides the `GITHUB_PAT_*`/`GITHUB_APP_*` families. */
export const CONFIG_VARIABLES = [
  "GITHUB_API_URL",
  "CLIENT_REGISTRY_FILE_PATH",
  "STATE_DIRECTORY",
  "CACHE_BACKEND_URL",
  "CACHE_TTL",
  "UPSTASH_REDIS_REST_TOKEN",
  "DENO_KV_ACCESS_TOKEN",
  "GITHUB_CREDS_CACHE_MAXSIZE",
  "GITHUB_CREDS_CACHE_TTL_PADDING",
  "TELEMETRY_COLLECTOR_TYPE",
  "METRICS_TOKEN",
  "PORT",
  "BIND",
  "LOG_LEVEL",
  "LOG_FORMAT",
  "UPSTREAM_TIMEOUT",
  "DRAIN_TIMEOUT",
  "HEADER_TIMEOUT",
  "BODY_TIMEOUT",
  "IDLE_TIMEOUT",
  "MAX_CONNECTIONS",
] as const;

export const DEFAULT_STATE_DIRECTORY = ".state";

/**
 * Fits the usual soft descriptor limit of 1024: a client connection holds its socket, both ends
 * of the listener's internal socket and an upstream connection. Deno cannot read RLIMIT_NOFILE
 * without --allow-all, so the cap is configured, not derived.
 */
export const DEFAULT_MAX_CONNECTIONS = 240;

/** Start-up problems; a URL quoted in one never shows its userinfo. */
export class ConfigError extends Error {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    const redacted = problems.map(redactUserinfo);
    super(`invalid configuration:\n${redacted.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
    this.problems = redacted;
  }
}

type Env = Readonly<Record<string, string | undefined>>;

const PAT_PREFIX = "GITHUB_PAT_";
const APP_VARIABLE = /^GITHUB_APP_(.+?)_(ID|INSTALLATION_ID|PEM)$/;

/** Parses the environment; throws one `ConfigError` listing every problem. */
export function parseConfig(env: Env): Config {
  const problems: string[] = [];
  const text = (name: string, fallback: string): string => {
    const value = env[name]?.trim();
    return value === undefined || value === "" ? fallback : value;
  };
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = text(name, String(fallback));
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || value < min || value > max) {
      problems.push(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    return value;
  };
  const oneOf = <T extends string>(name: string, allowed: readonly T[], fallback: T): T => {
    const raw = text(name, fallback).toLowerCase();
    if ((allowed as readonly string[]).includes(raw)) return raw as T;
    problems.push(`${name} must be one of ${allowed.join(", ")}, got "${raw}"`);
    return fallback;
  };

  const githubApiUrl = parseApiUrl(text("GITHUB_API_URL", "https://api.github.com"), problems);
  const registryPath = text("CLIENT_REGISTRY_FILE_PATH", "");
  if (registryPath === "") problems.push("CLIENT_REGISTRY_FILE_PATH is required");
  const stateDirectory = text("STATE_DIRECTORY", DEFAULT_STATE_DIRECTORY).split(":")[0];
  const cacheBackendUrl = text("CACHE_BACKEND_URL", "denokv://");
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(cacheBackendUrl)) {
    problems.push(`CACHE_BACKEND_URL must be a URL such as denokv:// or memory://`);
  }
  const config: Config = {
    githubApiUrl,
    githubGraphqlUrl: graphqlUrlFor(githubApiUrl),
    registryPath,
    stateDirectory,
    cacheBackendUrl,
    cacheTtlSeconds: integer("CACHE_TTL", 3600, 1, 31_536_000),
    upstashToken: env.UPSTASH_REDIS_REST_TOKEN || undefined,
    denoKvAccessToken: env.DENO_KV_ACCESS_TOKEN || undefined,
    credentials: parseCredentials(env, problems),
    credsCacheMaxSize: integer("GITHUB_CREDS_CACHE_MAXSIZE", 256, 1, 1_000_000),
    credsTtlPaddingSeconds: 60 * integer("GITHUB_CREDS_CACHE_TTL_PADDING", 1, 0, 1440),
    telemetry: oneOf("TELEMETRY_COLLECTOR_TYPE", ["prometheus", "logging", "noop"], "prometheus"),
    metricsToken: env.METRICS_TOKEN || undefined,
    port: integer("PORT", 8080, 0, 65535),
    bind: text("BIND", "0.0.0.0"),
    logLevel: oneOf("LOG_LEVEL", ["debug", "info", "warn", "error"], "info"),
    logFormat: oneOf("LOG_FORMAT", ["json", "pretty"], "json"),
    upstreamTimeoutMs: 1000 * integer("UPSTREAM_TIMEOUT", 30, 1, 3600),
    drainTimeoutMs: 1000 * integer("DRAIN_TIMEOUT", 25, 0, 3600),
    headerTimeoutMs: 1000 * integer("HEADER_TIMEOUT", 30, 1, 3600),
    bodyTimeoutMs: 1000 * integer("BODY_TIMEOUT", 60, 1, 3600),
    idleTimeoutMs: 1000 * integer("IDLE_TIMEOUT", 5, 1, 3600),
    maxConnections: integer("MAX_CONNECTIONS", DEFAULT_MAX_CONNECTIONS, 1, 1_000_000),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}

function parseApiUrl(raw: string, problems: string[]): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // The value is not repeated: a malformed URL may still carry a token.
    problems.push(
      "GITHUB_API_URL is not a URL; expected e.g. https://api.github.com or https://ghe.example.com/api/v3",
    );
    return "https://api.github.com";
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    problems.push(`GITHUB_API_URL must be http(s), got "${url.protocol}"`);
  }
  if (url.username || url.password || url.search || url.hash) {
    problems.push("GITHUB_API_URL must not carry credentials, a query or a fragment");
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}

/** `…/api/v3` (GitHub Enterprise Server) → `…/api/graphql`; anything else → `<base>/graphql`. */
export function graphqlUrlFor(apiUrl: string): string {
  return apiUrl.endsWith("/api/v3")
    ? `${apiUrl.slice(0, -"/v3".length)}/graphql`
    : `${apiUrl}/graphql`;
}

function isRsaPrivateKey(pem: string): boolean {
  try {
    return createPrivateKey(pem).asymmetricKeyType === "rsa";
  } catch {
    return false;
  }
}

function parseCredentials(env: Env, problems: string[]): CredentialSource[] {
  const credentials: CredentialSource[] = [];
  const apps = new Map<string, Partial<Record<"ID" | "INSTALLATION_ID" | "PEM", string>>>();
  for (const [variable, value] of Object.entries(env).sort(([a], [b]) => a.localeCompare(b))) {
    if (value === undefined) continue;
    if (variable.startsWith(PAT_PREFIX) && variable.length > PAT_PREFIX.length) {
      const name = variable.slice(PAT_PREFIX.length);
      if (value.trim() === "") problems.push(`${variable} is empty`);
      else credentials.push({ kind: "pat", name, token: value.trim() });
      continue;
    }
    const app = APP_VARIABLE.exec(variable);
    if (app) {
      const [, name, part] = app;
      const entry = apps.get(name) ?? {};
      entry[part as "ID" | "INSTALLATION_ID" | "PEM"] = value;
      apps.set(name, entry);
    }
  }
  for (const name of apps.keys()) {
    // The pool knows credentials by name: a PAT and an App sharing one would be one credential.
    if (credentials.some((credential) => credential.name === name)) {
      problems.push(
        `GITHUB_PAT_${name} and GITHUB_APP_${name}_* both name the credential "${name}"; rename one`,
      );
    }
  }
  for (const [name, parts] of apps) {
    const missing = (["ID", "INSTALLATION_ID", "PEM"] as const).filter((p) => !parts[p]?.trim());
    if (missing.length > 0) {
      problems.push(
        `GitHub App ${name} is incomplete: set ${
          missing.map((p) => `GITHUB_APP_${name}_${p}`).join(", ")
        }`,
      );
      continue;
    }
    const appId = parts.ID!.trim();
    const installationId = parts.INSTALLATION_ID!.trim();
    if (!/^\d+$/.test(appId)) problems.push(`GITHUB_APP_${name}_ID must be numeric`);
    if (!/^\d+$/.test(installationId)) {
      problems.push(`GITHUB_APP_${name}_INSTALLATION_ID must be numeric`);
    }
    const privateKey = parts.PEM!.replace(/\\n/g, "\n").trim() + "\n";
    if (!isRsaPrivateKey(privateKey)) {
      problems.push(
        `GITHUB_APP_${name}_PEM is not a PEM private key (PKCS#1 "RSA PRIVATE KEY" or PKCS#8 "PRIVATE KEY")`,
      );
      continue;
    }
    credentials.push({ kind: "app", name, appId, installationId, privateKey });
  }
  return credentials;
}
