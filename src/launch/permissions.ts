/**
 * Least privilege: the Deno permission flags a configuration needs, and the check that a
 * running process was given them. `deno task start/dev/compile` compute the flags from the
 * configuration (`command()` in `scripts/launch.ts`, with `requiredPermissions` and
 * `permissionFlags`); a compiled binary checks at start-up that its runtime configuration stays
 * inside the allowlist baked in at build time. What the cache needs, its backend says.
 */
import { backendRequirements } from "../cache/backends/mod.ts";
import { type Config, ConfigError, credentialDirectories } from "../config.ts";
import { listenerSocketPath } from "../serve/listener.ts";

/**
 * Where a binary built by `deno task compile` may read credential files besides the ones the
 * build's environment names: systemd's `LoadCredential=` directory for the shipped unit
 * (`deploy/github-proxy.service`) and Docker's secrets mount.
 */
export const BUILT_CREDENTIAL_DIRECTORIES: readonly string[] = [
  "/run/credentials/github-proxy.service",
  "/run/secrets",
];

/** `host:port` of an http(s) URL, with the scheme's default port made explicit. */
function hostPort(url: string): string {
  const parsed = new URL(url);
  const port = parsed.port || (parsed.protocol === "http:" ? "80" : "443");
  return `${parsed.hostname}:${port}`;
}

/** The hosts (`host:port`) and directories the cache backend needs. */
function cacheNeeds(
  config: Pick<Config, "cacheBackendUrl" | "stateDirectory">,
): { hosts: string[]; directories: readonly string[] } {
  const { servers, directories } = backendRequirements(
    config.cacheBackendUrl,
    config.stateDirectory,
  );
  const hosts = servers.map((server) => {
    try {
      return hostPort(server);
    } catch {
      // `new URL`'s error quotes the value, which may carry a password.
      throw new ConfigError([
        "CACHE_BACKEND_URL names no valid host, e.g. upstash://host or denokv+https://host/path",
      ]);
    }
  });
  return { hosts, directories };
}

/** The `host:port` the listener binds, as `--allow-net` names it. */
export function listenHost(config: Pick<Config, "bind" | "port">): string {
  const host = config.bind.includes(":") ? `[${config.bind}]` : config.bind;
  return `${host}:${config.port}`;
}

/**
 * What the gateway may reach. The environment is read whole (DESIGN §4: credential and template
 * variables are discovered at run time), so it is no part of the set.
 */
export interface PermissionSet {
  readonly net: readonly string[];
  readonly read: readonly string[];
  readonly write: readonly string[];
}

/**
 * `extraReads`: credential directories a build must be able to read besides the ones `config`
 * names (see `BUILT_CREDENTIAL_DIRECTORIES`).
 */
export function requiredPermissions(
  config: Config,
  extraReads: readonly string[] = [],
): PermissionSet {
  const cache = cacheNeeds(config);
  // Release-asset uploads go to their own host on github.com (uploads.github.com).
  const github = [hostPort(config.githubApiUrl), hostPort(config.githubUploadsUrl)];
  const net = [...github, listenHost(config), ...cache.hosts];
  // The state directory holds the listener's unix socket (src/serve/listener.ts), and the gateway
  // creates it when missing; a Deno KV file may live elsewhere.
  const state = [...new Set([config.stateDirectory, ...cache.directories])];
  return {
    net: [...new Set([...net, `unix:${listenerSocketPath(config)}`])],
    read: [
      ...new Set([config.registryPath, ...state, ...credentialDirectories(config), ...extraReads]),
    ],
    write: state,
  };
}

export function permissionFlags(permissions: PermissionSet): string[] {
  const flag = (name: string, values: readonly string[]) =>
    values.length > 0 ? [`--allow-${name}=${values.join(",")}`] : [];
  return [
    ...flag("net", permissions.net),
    "--allow-env",
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
  const uploads = hostPort(config.githubUploadsUrl);
  if (!granted({ name: "net", host: uploads })) {
    problems.push(
      `GITHUB_UPLOADS_URL host ${uploads} (derived from GITHUB_API_URL when unset) is not in --allow-net; ${
        rebuild("GITHUB_API_URL", "GITHUB_UPLOADS_URL")
      }`,
    );
  }
  const cache = cacheNeeds(config);
  for (const host of cache.hosts.filter((host) => !granted({ name: "net", host }))) {
    problems.push(
      `CACHE_BACKEND_URL host ${host} is not in --allow-net; ${rebuild("CACHE_BACKEND_URL")}`,
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
  for (
    const [variable, directory] of [
      ["CREDENTIALS_DIRECTORY", config.systemdCredentialsDirectory],
      ["GITHUB_CREDENTIALS_DIR", config.credentialsDirectory],
    ]
  ) {
    if (directory === "" || granted({ name: "read", path: directory })) continue;
    problems.push(
      `${variable} ${directory} is not in --allow-read; ${rebuild(variable)}`,
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
  for (const cacheDir of cache.directories) {
    if (granted({ name: "read", path: cacheDir }) && granted({ name: "write", path: cacheDir })) {
      continue;
    }
    problems.push(
      `the cache directory ${cacheDir} is not in --allow-read/--allow-write; ${
        rebuild(cacheDir === config.stateDirectory ? "STATE_DIRECTORY" : "CACHE_BACKEND_URL")
      }`,
    );
  }
  return problems;
}
