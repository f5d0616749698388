/**
 * The entry point's helper commands: `github-proxy check` validates the configuration and the
 * client registry and prints what would run; `github-proxy hash-token` turns a client token read
 * on stdin into the `token_sha256` the registry accepts instead of the token itself.
 */
import { type Config, ConfigError, parseConfig } from "../config.ts";
import { sha256Hex } from "../digest.ts";
import { redactUserinfo } from "../redact.ts";
import type { Registry } from "../registry/model.ts";
import { parseRegistry, RegistryError } from "../registry/parse.ts";
import type { Environment } from "./environment.ts";
import { listenHost, permissionProblems } from "./permissions.ts";

/** The commands besides serving. */
export const COMMANDS = ["check", "hash-token"] as const;
export type Command = typeof COMMANDS[number];

/** `github-proxy [check | hash-token]`, for a wrong argument. */
export const USAGE = `usage: github-proxy            serve
       github-proxy check      validate configuration and registry, print what would run
       github-proxy hash-token read a client token on stdin, print its token_sha256`;

/**
 * The command named by the arguments (the launcher's `--env=…` and other flags aside): serving
 * when there is none; an error text for anything else.
 */
export function commandOf(args: readonly string[]): Command | "serve" | { error: string } {
  const positional = args.filter((arg) => !arg.startsWith("--"));
  if (positional.length === 0) return "serve";
  const [name, ...rest] = positional;
  if (rest.length > 0 || !(COMMANDS as readonly string[]).includes(name)) {
    return {
      error: `github-proxy: unknown command ${JSON.stringify(positional.join(" "))}\n${USAGE}`,
    };
  }
  return name as Command;
}

/** What `check` prints for a valid configuration and registry: never a secret, names only. */
export function checkReport(config: Config, registry: Registry): string[] {
  const backend = redactUserinfo(config.cacheBackendUrl).replace(/^([^:]+:\/\/[^/?#]*).*$/, "$1");
  const lines = [
    `listen: ${listenHost(config)}`,
    `github: ${config.githubApiUrl}`,
    `cache backend: ${backend}`,
    `registry: ${config.registryPath}`,
    `telemetry: ${config.telemetry}${config.metricsToken ? " (METRICS_TOKEN set)" : ""}`,
  ];
  lines.push(
    config.credentials.length === 0
      ? "credentials: none (anonymous, 60 requests an hour)"
      : `credentials (${config.credentials.length}):`,
  );
  for (const credential of config.credentials) {
    lines.push(
      `  - ${credential.name} (${
        credential.kind === "pat" ? "personal access token" : "GitHub App"
      })`,
    );
  }
  lines.push(`clients (${registry.clients.length}):`);
  for (const client of registry.clients) {
    const limits = Object.entries(client.limits).map(([key, value]) => `${key}=${value}`);
    const scopes = client.scopes === null ? "all paths" : `${client.scopes.length} scope rules`;
    lines.push(
      `  - ${client.name}: priority ${client.priority}, ${scopes}${
        limits.length > 0 ? `, ${limits.join(", ")}` : ""
      }`,
    );
  }
  return lines;
}

/** `github-proxy check`: 0 and the report, or 2 and the problems on stderr. */
export async function check(
  env: Environment,
  variables: (name: string) => string | undefined,
): Promise<number> {
  let config: Config;
  try {
    config = parseConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`github-proxy check: ${error.message}`);
    return 2;
  }
  const problems = permissionProblems(config).map((p) => `outside this build's permissions: ${p}`);
  let registry: Registry | undefined;
  try {
    registry = parseRegistry(
      await Deno.readTextFile(config.registryPath),
      config.registryPath,
      variables,
    );
  } catch (error) {
    if (error instanceof RegistryError) problems.push(error.message);
    else {problems.push(
        `cannot read CLIENT_REGISTRY_FILE_PATH=${config.registryPath}: ${(error as Error).message}`,
      );}
  }
  if (problems.length > 0 || !registry) {
    console.error(`github-proxy check: ${problems.length} problem(s)`);
    for (const problem of problems) console.error(`  - ${problem}`);
    return 2;
  }
  console.log(checkReport(config, registry).join("\n"));
  console.log("ok");
  return 0;
}

/** Most bytes a token read on stdin may have: GitHub's longest tokens are a few hundred. */
const TOKEN_MAX = 4096;

async function readToken(): Promise<string> {
  const terminal = Deno.stdin.isTerminal();
  if (terminal) {
    console.error("client token (not echoed), then Enter:");
    Deno.stdin.setRaw(true);
  }
  const chunks: number[] = [];
  const buffer = new Uint8Array(1024);
  try {
    while (chunks.length <= TOKEN_MAX) {
      const read = await Deno.stdin.read(buffer);
      if (read === null) break;
      const bytes = buffer.subarray(0, read);
      const end = terminal ? bytes.findIndex((b) => b === 0x0d || b === 0x0a || b === 0x03) : -1;
      chunks.push(...(end < 0 ? bytes : bytes.subarray(0, end)));
      if (end >= 0) break;
    }
  } finally {
    if (terminal) Deno.stdin.setRaw(false);
  }
  return new TextDecoder().decode(new Uint8Array(chunks));
}

/**
 * The token `input` holds: one line, its line ending removed; undefined for none, several lines
 * or a token with spaces (not a token the registry could match).
 */
export function tokenOf(input: string): string | undefined {
  const token = input.replace(/\r?\n$/, "");
  return token === "" || token.length > TOKEN_MAX || /\s/.test(token) ? undefined : token;
}

/** `github-proxy hash-token`: prints `token_sha256` of the token on stdin; never the token. */
export async function hashToken(): Promise<number> {
  const token = tokenOf(await readToken());
  if (token === undefined) {
    console.error("github-proxy hash-token: give one token, on one line, on stdin");
    return 2;
  }
  console.log(sha256Hex(token));
  return 0;
}
