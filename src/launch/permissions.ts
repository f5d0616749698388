/**
 * Least privilege: the Deno permission flags a configuration needs, and the check that a
 * running process was given them. `deno task start/dev/compile` compute the flags from the
 * environment with `permissionFlags`; a compiled binary checks at start-up that its runtime
 * configuration stays inside the allowlist baked in at build time.
 */
import { kvLocation } from "../cache/backends/denokv.ts";
import { type Config, CONFIG_VARIABLES, ConfigError } from "../config.ts";
import { listenerSocketPath } from "../serve/listener.ts";

/**
 * Variables that libraries read through `process.env`, which throws under an allowlist that
 * omits them: `yaml`'s debug switches, `graphql`'s `NODE_ENV` (read when loaded) and
 * `@upstash/redis`'s telemetry and platform probes (read whenever a client is built).
 */
const LIBRARY_ENV = [
  "LOG_TOKENS",
  "LOG_STREAM",
  "NODE_ENV",
  "UPSTASH_DISABLE_TELEMETRY",
  "UPSTASH_CONSOLE",
  "VERCEL",
  "AWS_REGION",
];

/** Names of the credential variables (`GITHUB_PAT_*`, `GITHUB_APP_*`) in an environment. */
export function credentialVariables(env: Readonly<Record<string, string | undefined>>): string[] {
  return Object.keys(env).filter((name) => /^GITHUB_(PAT|APP)_./.test(name)).sort();
}

/** `host:port` of an http(s) URL, with the scheme's default port made explicit. */
export function hostPort(url: string): string {
  const parsed = new URL(url);
  const port = parsed.port || (parsed.protocol === "http:" ? "80" : "443");
  return `${parsed.hostname}:${port}`;
}

/** The network host a cache backend URL needs, or undefined for embedded backends. */
export function cacheHost(cacheBackendUrl: string): string | undefined {
  const match = /^([a-z][a-z0-9.-]*)(?:\+(https?))?:\/\/(.*)$/i.exec(cacheBackendUrl);
  if (!match) return undefined;
  const [, scheme, transport, rest] = match;
  const remote = scheme.toLowerCase() === "upstash" ||
    (scheme.toLowerCase() === "denokv" && transport !== undefined);
  if (!remote || rest === "") return undefined;
  try {
    return hostPort(`${transport ?? "https"}://${rest}`);
  } catch {
    // `new URL`'s error quotes the value, which may carry a password.
    throw new ConfigError([
      "CACHE_BACKEND_URL names no valid host, e.g. upstash://host or denokv+https://host/path",
    ]);
  }
}

export function listenHost(config: Pick<Config, "bind" | "port">): string {
  const host = config.bind.includes(":") ? `[${config.bind}]` : config.bind;
  return `${host}:${config.port}`;
}

/**
 * The directory of a local Deno KV cache file (KV also writes `-wal`/`-shm` files beside it):
 * the state directory by default, or that of `denokv:///path/file.kv`; undefined otherwise.
 */
export function cacheDirectory(
  config: Pick<Config, "cacheBackendUrl" | "stateDirectory">,
): string | undefined {
  if (!/^denokv:\/\//i.test(config.cacheBackendUrl)) return undefined;
  const file = kvLocation(config.cacheBackendUrl, config.stateDirectory);
  const slash = file.lastIndexOf("/");
  return slash < 0 ? "." : file.slice(0, slash) || "/";
}

export interface PermissionSet {
  readonly net: readonly string[];
  readonly env: readonly string[];
  readonly read: readonly string[];
  readonly write: readonly string[];
}

/**
 * `extraVariables`: credential and registry-template variables, which Deno cannot discover
 * under an allowlist and which the launcher therefore names.
 */
export function requiredPermissions(
  config: Config,
  extraVariables: readonly string[] = [],
): PermissionSet {
  const cache = cacheHost(config.cacheBackendUrl);
  const net = [hostPort(config.githubApiUrl), listenHost(config), ...(cache ? [cache] : [])];
  const cacheDir = cacheDirectory(config);
  // The state directory holds the listener's unix socket (src/serve/listener.ts), and the gateway
  // creates it when missing; a Deno KV file may live elsewhere.
  const state = [
    ...new Set([config.stateDirectory, ...(cacheDir === undefined ? [] : [cacheDir])]),
  ];
  return {
    net: [...new Set([...net, `unix:${listenerSocketPath(config)}`])],
    env: [...new Set([...CONFIG_VARIABLES, ...LIBRARY_ENV, ...extraVariables])],
    read: [config.registryPath, ...state],
    write: state,
  };
}

export function permissionFlags(permissions: PermissionSet): string[] {
  const flag = (name: string, values: readonly string[]) =>
    values.length > 0 ? [`--allow-${name}=${values.join(",")}`] : [];
  return [
    ...flag("net", permissions.net),
    ...flag("env", permissions.env),
    ...flag("read", permissions.read),
    ...flag("write", permissions.write),
  ];
}

/** How to widen a baked allowlist: the variables must be set when the build runs. */
function rebuild(...variables: string[]): string {
  const buildArgs = variables.map((variable) => `--build-arg ${variable}=…`).join(" ");
  return `rebuild with ${
    variables.join(" and ")
  } set: \`deno task compile\` or \`docker build ${buildArgs}\` (\`deno task start\` derives the flags at every start)`;
}

/** What the running process may not do that `config` needs; empty when all is granted. */
export function permissionProblems(config: Config): string[] {
  const problems: string[] = [];
  const granted = (descriptor: Deno.PermissionDescriptor) =>
    Deno.permissions.querySync(descriptor).state === "granted";
  const github = hostPort(config.githubApiUrl);
  if (!granted({ name: "net", host: github })) {
    problems.push(
      `GITHUB_API_URL host ${github} is not in --allow-net; ${rebuild("GITHUB_API_URL")}`,
    );
  }
  const cache = cacheHost(config.cacheBackendUrl);
  if (cache && !granted({ name: "net", host: cache })) {
    problems.push(
      `CACHE_BACKEND_URL host ${cache} is not in --allow-net; ${rebuild("CACHE_BACKEND_URL")}`,
    );
  }
  const listen = listenHost(config);
  if (!granted({ name: "net", host: listen })) {
    problems.push(`BIND/PORT ${listen} is not in --allow-net; ${rebuild("BIND", "PORT")}`);
  }
  if (!granted({ name: "read", path: config.registryPath })) {
    problems.push(
      `CLIENT_REGISTRY_FILE_PATH ${config.registryPath} is not in --allow-read; ${
        rebuild("CLIENT_REGISTRY_FILE_PATH")
      }`,
    );
  }
  const socket = listenerSocketPath(config);
  const state = config.stateDirectory;
  if (
    !(granted({ name: "read", path: state }) && granted({ name: "write", path: state }) &&
      granted({ name: "net", host: `unix:${socket}` }))
  ) {
    problems.push(
      `the state directory ${state} (the listener's socket ${socket}) is not in --allow-read/--allow-write/--allow-net; ${
        rebuild("STATE_DIRECTORY", "PORT")
      }`,
    );
  }
  const cacheDir = cacheDirectory(config);
  if (
    cacheDir !== undefined &&
    !(granted({ name: "read", path: cacheDir }) && granted({ name: "write", path: cacheDir }))
  ) {
    problems.push(
      `the cache directory ${cacheDir} is not in --allow-read/--allow-write; ${
        rebuild(cacheDir === config.stateDirectory ? "STATE_DIRECTORY" : "CACHE_BACKEND_URL")
      }`,
    );
  }
  return problems;
}
