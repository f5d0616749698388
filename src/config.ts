/**
 * Start-up configuration: every environment variable of DESIGN §4, parsed once into an
 * immutable typed object. Nothing below `main.ts` reads the environment. The variables are one
 * table (name, field, default, parser); the allowlist of names the launcher grants is read off
 * it, so a new variable is one line here.
 */
import { ConfigError } from "./config_error.ts";
import type { CredentialSource } from "./credentials/sources.ts";
import { credentialVariablesOf, loadCredentials } from "./credentials/credential_files.ts";
import type { LogFormat, LogLevel } from "./log.ts";
import type { RateLimitStatus } from "./http/rate_refusal.ts";

export { ConfigError } from "./config_error.ts";

/** Where telemetry goes: a Prometheus registry for `/metrics`, the log, or nowhere. */
export type TelemetryCollector = "prometheus" | "logging" | "noop";

/** The gateway's settings, one field a variable (DESIGN §4). */
export interface Config {
  /** REST base without a trailing slash, e.g. `https://api.github.com` or `https://ghe/api/v3`. */
  readonly githubApiUrl: string;
  /** The GraphQL endpoint that belongs to `githubApiUrl`. */
  readonly githubGraphqlUrl: string;
  /**
   * Root of GitHub's uploads API (release assets) without a trailing slash:
   * `GITHUB_UPLOADS_URL`, else derived from `githubApiUrl` (see `uploadsUrlFor`).
   */
  readonly githubUploadsUrl: string;
  /** The client registry file (`CLIENT_REGISTRY_FILE_PATH`). */
  readonly registryPath: string;
  /** Where the listener's socket and a local Deno KV cache live. */
  readonly stateDirectory: string;
  /** `denokv://`, `memory://`, `upstash://host`, … (see `cache/backends/mod.ts`). */
  readonly cacheBackendUrl: string;
  /** How long a cached entry lives without a revalidation. */
  readonly cacheTtlSeconds: number;
  /** Bearer token for an `upstash://` backend (`UPSTASH_REDIS_REST_TOKEN`); unset: none. */
  readonly upstashToken?: string;
  /** Access token for a remote `denokv+https://` backend (`DENO_KV_ACCESS_TOKEN`). */
  readonly denoKvAccessToken?: string;
  /** The pool's PATs and Apps (`GITHUB_PAT_*`, `GITHUB_APP_*`, variables and files). */
  readonly credentials: readonly CredentialSource[];
  /**
   * The credential variables of the environment as the process started with them: with the
   * credential files they are the pool's credentials again on `SIGHUP`.
   */
  readonly credentialVariables: Readonly<Record<string, string>>;
  /** `$CREDENTIALS_DIRECTORY` (systemd `LoadCredential=`); "" when unset. */
  readonly systemdCredentialsDirectory: string;
  /** `GITHUB_CREDENTIALS_DIR` (secrets mounted as files); "" when unset. */
  readonly credentialsDirectory: string;
  /** Most App installation tokens kept. */
  readonly credsCacheMaxSize: number;
  /** An installation token is not handed out this close to its expiry. */
  readonly credsTtlPaddingSeconds: number;
  /** Where telemetry goes (`TELEMETRY_COLLECTOR_TYPE`). */
  readonly telemetry: TelemetryCollector;
  /** Bearer token `/metrics` asks for; unset: no token needed. */
  readonly metricsToken?: string;
  /** TCP port the listener binds (`PORT`); 0 picks a free one. */
  readonly port: number;
  /** Address the listener binds (`BIND`), e.g. `0.0.0.0` or `127.0.0.1`. */
  readonly bind: string;
  /** Least severe log line written (`LOG_LEVEL`). */
  readonly logLevel: LogLevel;
  /** One JSON object a line, or a readable line (`LOG_FORMAT`). */
  readonly logFormat: LogFormat;
  /** Longest wait for GitHub's answer to start. */
  readonly upstreamTimeoutMs: number;
  /** Requests in flight per GitHub account (credential owner); more wait in its queue. */
  readonly upstreamConcurrency: number;
  /** Time in-flight requests get after SIGTERM. */
  readonly drainTimeoutMs: number;
  /** Time a client has for a request head (from connecting, or from its first byte). */
  readonly headerTimeoutMs: number;
  /** Longest pause allowed between two reads of a request body. */
  readonly bodyTimeoutMs: number;
  /** Time a keep-alive connection may wait for its next request. */
  readonly idleTimeoutMs: number;
  /** Cap on open client connections; each holds up to 4 file descriptors. */
  readonly maxConnections: number;
  /** Status of the gateway's rate refusals: GitHub's 403, or 429 for generic HTTP clients. */
  readonly rateLimitStatus: RateLimitStatus;
  /** `PUBLIC_URL`: the gateway's address as clients reach it, no trailing slash; unset: from the request. */
  readonly publicUrl?: string;
  /** `TRUST_PROXY_HEADERS`: take the client's base from `Forwarded`/`X-Forwarded-*`. */
  readonly trustProxyHeaders: boolean;
  /** `REWRITE_BODY_URLS`: API and upload URLs in JSON bodies point at the gateway. */
  readonly rewriteBodyUrls: boolean;
  /** `GITHUB_WEBHOOK_SECRET`, split at commas; empty: `/webhooks/github` does not exist. */
  readonly webhookSecrets: readonly string[];
}

/** Turns a variable's text into its value; `fail` records a problem, worded after the name. */
type Parse<T> = (text: string, fail: (problem: string) => void) => T;

/** One environment variable and the `Config` field it fills. */
interface Variable<F extends keyof Config> {
  readonly name: string;
  readonly field: F;
  /**
   * The text parsed when the variable is unset or blank; the set text is trimmed. Without a
   * default (secrets) the text is taken as set, untrimmed, and empty when unset.
   */
  readonly default?: string;
  readonly parse: Parse<Config[F]>;
}

type AnyVariable = { [F in keyof Config]-?: Variable<F> }[keyof Config];

const DEFAULT_API_URL = "https://api.github.com";

/**
 * Fits the usual soft descriptor limit of 1024: a client connection holds its socket, both ends
 * of the listener's internal socket and an upstream connection. Deno cannot read RLIMIT_NOFILE
 * without --allow-all, so the cap is configured, not derived.
 */
const DEFAULT_MAX_CONNECTIONS = 240;

/** A whole number from `min` to `max`, times `unit` (60 for minutes, 1000 for seconds in ms). */
const whole = (min: number, max: number, unit = 1): Parse<number> => (text, fail) => {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    fail(`must be a whole number from ${min} to ${max}, got "${text}"`);
  }
  return unit * value;
};

/** One of `allowed`, in any case. */
const oneOf = <T extends string>(...allowed: T[]): Parse<T> => (text, fail) => {
  const value = text.toLowerCase();
  if (!(allowed as string[]).includes(value)) {
    fail(`must be one of ${allowed.join(", ")}, got "${value}"`);
  }
  return value as T;
};

/** GitHub answers rate limits with 403; fleets of generic HTTP clients may retry only 429. */
const rateLimitStatus: Parse<RateLimitStatus> = (text, fail) => {
  if (text !== "403" && text !== "429") fail(`must be 403 or 429, got "${text}"`);
  return text === "429" ? 429 : 403;
};

const text: Parse<string> = (value) => value;
const secret: Parse<string | undefined> = (value) => value || undefined;

/** Comma-separated secrets (several during a rotation); blanks between commas are ignored. */
const secrets: Parse<readonly string[]> = (value) =>
  value.split(",").map((secret) => secret.trim()).filter((secret) => secret !== "");

const required: Parse<string> = (value, fail) => {
  if (value === "") fail("is required");
  return value;
};

/** `STATE_DIRECTORY` may be systemd's colon-separated list: the first entry is the gateway's. */
const firstDirectory: Parse<string> = (value) => value.split(":")[0];

/** Only the shape is checked here; the scheme is the cache backends' to know. */
const backendUrl: Parse<string> = (value, fail) => {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    fail("must be a URL such as denokv:// or memory://");
  }
  return value;
};

/** `true` or `false`, in any case. */
const flag: Parse<boolean> = (text, fail) => oneOf("true", "false")(text, fail) === "true";

/**
 * An absolute http(s) URL with an optional path, no trailing slash; `fallback` when it does not
 * parse. The value is never repeated in a problem: a malformed URL may still carry a token.
 */
const httpUrl = <T>(examples: string, fallback: T): Parse<string | T> => (raw, fail) => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    fail(`is not a URL; expected e.g. ${examples}`);
    return fallback;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    fail(`must be http(s), got "${url.protocol}"`);
  }
  if (url.username || url.password || url.search || url.hash) {
    fail("must not carry credentials, a query or a fragment");
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
};

const apiUrl: Parse<string> = httpUrl(
  "https://api.github.com or https://ghe.example.com/api/v3",
  DEFAULT_API_URL,
);

/** Blank: derived from `GITHUB_API_URL` after the table is read. */
const optionalApiUrl: Parse<string> = (raw, fail) => raw === "" ? "" : apiUrl(raw, fail);

/** `PUBLIC_URL`: unset when blank. */
const publicUrl: Parse<string | undefined> = (raw, fail) =>
  raw === ""
    ? undefined
    : httpUrl("https://github-proxy.example.com or https://example.com/gh", undefined)(raw, fail);

const VARIABLES = [
  { name: "GITHUB_API_URL", field: "githubApiUrl", default: DEFAULT_API_URL, parse: apiUrl },
  { name: "GITHUB_UPLOADS_URL", field: "githubUploadsUrl", default: "", parse: optionalApiUrl },
  { name: "CLIENT_REGISTRY_FILE_PATH", field: "registryPath", default: "", parse: required },
  { name: "STATE_DIRECTORY", field: "stateDirectory", default: ".state", parse: firstDirectory },
  { name: "CACHE_BACKEND_URL", field: "cacheBackendUrl", default: "denokv://", parse: backendUrl },
  { name: "CACHE_TTL", field: "cacheTtlSeconds", default: "3600", parse: whole(1, 31_536_000) },
  { name: "UPSTASH_REDIS_REST_TOKEN", field: "upstashToken", parse: secret },
  { name: "DENO_KV_ACCESS_TOKEN", field: "denoKvAccessToken", parse: secret },
  {
    name: "CREDENTIALS_DIRECTORY",
    field: "systemdCredentialsDirectory",
    default: "",
    parse: text,
  },
  { name: "GITHUB_CREDENTIALS_DIR", field: "credentialsDirectory", default: "", parse: text },
  {
    name: "GITHUB_CREDS_CACHE_MAXSIZE",
    field: "credsCacheMaxSize",
    default: "256",
    parse: whole(1, 1_000_000),
  },
  {
    name: "GITHUB_CREDS_CACHE_TTL_PADDING",
    field: "credsTtlPaddingSeconds",
    default: "1",
    parse: whole(0, 1440, 60),
  },
  {
    name: "TELEMETRY_COLLECTOR_TYPE",
    field: "telemetry",
    default: "prometheus",
    parse: oneOf("prometheus", "logging", "noop"),
  },
  { name: "METRICS_TOKEN", field: "metricsToken", parse: secret },
  { name: "PORT", field: "port", default: "8080", parse: whole(0, 65535) },
  { name: "BIND", field: "bind", default: "0.0.0.0", parse: text },
  {
    name: "LOG_LEVEL",
    field: "logLevel",
    default: "info",
    parse: oneOf("debug", "info", "warn", "error"),
  },
  { name: "LOG_FORMAT", field: "logFormat", default: "json", parse: oneOf("json", "pretty") },
  {
    name: "UPSTREAM_TIMEOUT",
    field: "upstreamTimeoutMs",
    default: "30",
    parse: whole(1, 3600, 1000),
  },
  {
    name: "UPSTREAM_CONCURRENCY",
    field: "upstreamConcurrency",
    default: "25",
    parse: whole(1, 1000),
  },
  { name: "DRAIN_TIMEOUT", field: "drainTimeoutMs", default: "25", parse: whole(0, 3600, 1000) },
  { name: "HEADER_TIMEOUT", field: "headerTimeoutMs", default: "30", parse: whole(1, 3600, 1000) },
  { name: "BODY_TIMEOUT", field: "bodyTimeoutMs", default: "60", parse: whole(1, 3600, 1000) },
  { name: "IDLE_TIMEOUT", field: "idleTimeoutMs", default: "5", parse: whole(1, 3600, 1000) },
  {
    name: "MAX_CONNECTIONS",
    field: "maxConnections",
    default: String(DEFAULT_MAX_CONNECTIONS),
    parse: whole(1, 1_000_000),
  },
  {
    name: "RATE_LIMIT_STATUS",
    field: "rateLimitStatus",
    default: "403",
    parse: rateLimitStatus,
  },
  { name: "PUBLIC_URL", field: "publicUrl", default: "", parse: publicUrl },
  { name: "TRUST_PROXY_HEADERS", field: "trustProxyHeaders", default: "false", parse: flag },
  { name: "REWRITE_BODY_URLS", field: "rewriteBodyUrls", default: "true", parse: flag },
  { name: "GITHUB_WEBHOOK_SECRET", field: "webhookSecrets", parse: secrets },
] as const satisfies readonly AnyVariable[];

/** Fields the table fills; the others are derived from them or from the credential families. */
type TableFields = typeof VARIABLES[number]["field"];

/** Every variable the gateway reads besides the `GITHUB_PAT_*`/`GITHUB_APP_*` families. */
export const CONFIG_VARIABLES: readonly string[] = VARIABLES.map((variable) => variable.name);

/**
 * Parses the environment (DESIGN §4) into a frozen `Config`; unset variables take their
 * defaults. Throws one `ConfigError` listing every problem, each naming its variable.
 *
 * @example
 * ```ts ignore
 * const config = parseConfig({ CLIENT_REGISTRY_FILE_PATH: "clients.yaml", PORT: "8080" });
 * ```
 */
export function parseConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const problems: string[] = [];
  const fields: Record<string, unknown> = {};
  for (const variable of VARIABLES as readonly AnyVariable[]) {
    const raw = env[variable.name];
    const text = variable.default === undefined ? raw ?? "" : raw?.trim() || variable.default;
    fields[variable.field] = variable.parse(
      text,
      (problem) => problems.push(`${variable.name} ${problem}`),
    );
  }
  const table = fields as Pick<Config, TableFields>;
  const credentialVariables = credentialVariablesOf(env);
  const credentials = loadCredentials(credentialVariables, credentialDirectories(table));
  problems.push(...credentials.problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({
    ...table,
    githubGraphqlUrl: graphqlUrlFor(table.githubApiUrl),
    githubUploadsUrl: table.githubUploadsUrl || uploadsUrlFor(table.githubApiUrl),
    credentials: credentials.credentials,
    credentialVariables,
  });
}

/** Where credential files are read from: systemd's directory, then `GITHUB_CREDENTIALS_DIR`. */
export function credentialDirectories(
  config: Pick<Config, "systemdCredentialsDirectory" | "credentialsDirectory">,
): string[] {
  return [config.systemdCredentialsDirectory, config.credentialsDirectory].filter((dir) =>
    dir !== ""
  );
}

/** `…/api/v3` (GitHub Enterprise Server) → `…/api/graphql`; anything else → `<base>/graphql`. */
export function graphqlUrlFor(apiUrl: string): string {
  return apiUrl.endsWith("/api/v3")
    ? `${apiUrl.slice(0, -"/v3".length)}/graphql`
    : `${apiUrl}/graphql`;
}

/** `api.` hosts whose uploads API lives on the `uploads.` host: github.com and GHE.com tenants. */
const UPLOADS_SIBLING = /^api\.(?:github\.com|[a-z0-9-]+\.ghe\.com)$/i;

/**
 * Root of the uploads API that belongs to the REST base `apiUrl`: `https://api.github.com` →
 * `https://uploads.github.com` (likewise `api.<tenant>.ghe.com`); GitHub Enterprise Server's
 * `…/api/v3` → `…/api/uploads`. Any other base is taken to be laid out as GHES or as another
 * github-proxy, which serve uploads at `<base>/api/uploads`; `GITHUB_UPLOADS_URL` overrides.
 */
export function uploadsUrlFor(apiUrl: string): string {
  const url = new URL(apiUrl);
  if (UPLOADS_SIBLING.test(url.hostname) && url.pathname === "/") {
    return `${url.protocol}//uploads.${url.host.slice("api.".length)}`;
  }
  return apiUrl.endsWith("/api/v3")
    ? `${apiUrl.slice(0, -"/v3".length)}/uploads`
    : `${apiUrl}/api/uploads`;
}
