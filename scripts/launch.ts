/**
 * Runs, watches or compiles the gateway with the least Deno permissions its configuration
 * needs: the allowlist is computed from GITHUB_API_URL, CACHE_BACKEND_URL, BIND/PORT and
 * CLIENT_REGISTRY_FILE_PATH, so pointing it at GitHub Enterprise or a loopback upstream needs
 * no edit. The environment is read whole in every shape: credentials and registry template
 * variables are found when the gateway starts, never baked into a build.
 *
 *   deno task start | dev | compile          (see deno.json)
 *   deno run … scripts/launch.ts flags       prints the flags, one per line
 */
import { ConfigError, parseConfig } from "../src/config.ts";
import { credentialVariablesOf } from "../src/credentials/credential_files.ts";
import { RUNTIME_LOCK } from "./runtime_lock.ts";
import {
  BUILT_CREDENTIAL_DIRECTORIES,
  permissionFlags,
  requiredPermissions,
} from "../src/launch/permissions.ts";

export type Mode = "start" | "dev" | "compile" | "flags";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
export const ENTRY_POINT = `${ROOT}/main.ts`;
export const BINARY = `${ROOT}/github-proxy`;

/**
 * Defaults that make `deno task start` work with nothing set, and a compiled binary sit in FHS
 * paths. A try-out listens on loopback only: the example registry's full-access token is printed
 * in the README, and with a PAT set the gateway would be an open proxy on every interface.
 */
function withDefaults(mode: Mode, env: Record<string, string>): Record<string, string> {
  const local = mode === "start" || mode === "dev";
  const defaults: Record<string, string> = local
    ? {
      CLIENT_REGISTRY_FILE_PATH: `${ROOT}/registry.example.yaml`,
      STATE_DIRECTORY: `${ROOT}/.state`,
      BIND: "127.0.0.1",
    }
    : {
      CLIENT_REGISTRY_FILE_PATH: "/etc/github-proxy/registry.yaml",
      STATE_DIRECTORY: "/var/lib/github-proxy",
    };
  const merged = { ...defaults, ...env };
  for (const name of ["CLIENT_REGISTRY_FILE_PATH", "STATE_DIRECTORY"]) {
    if (merged[name] && !merged[name].startsWith("/")) {
      merged[name] = `${Deno.cwd()}/${merged[name]}`;
    }
  }
  return merged;
}

/** Known when the gateway starts, not when it is built: credentials and where their files are. */
const RUN_TIME = ["CREDENTIALS_DIRECTORY", "GITHUB_CREDENTIALS_DIR"];

export interface Command {
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

/** The deno command line for `mode`; `compile` and `start` share flags and entry point. */
export function command(mode: Mode, rawEnv: Record<string, string>): Command {
  const env = withDefaults(mode, rawEnv);
  // A build reads neither credentials nor their files: they are the running gateway's to find.
  const credentials = Object.keys(credentialVariablesOf(env));
  const config = parseConfig(
    mode === "compile"
      ? Object.fromEntries(
        Object.entries(env).filter(([name]) =>
          !credentials.includes(name) && !RUN_TIME.includes(name)
        ),
      )
      : env,
  );
  // Every shape may read the credential directories a deployment uses; the ones the
  // environment names too.
  const directories = [
    ...BUILT_CREDENTIAL_DIRECTORIES,
    ...RUN_TIME.map((name) => env[name]).filter((dir) => dir),
  ];
  const flags = [
    "--unstable-kv",
    // request.signal aborts only when the client goes away (not after every answer), without
    // the legacy-behaviour warning: the gateway cancels upstream calls on it.
    "--unstable-no-legacy-abort",
    "--no-prompt",
    // Only the packages main.ts runs on: Deno installs (and compile embeds) every package of
    // the lockfile it is given, and deno.lock also pins the tests' and scripts' packages.
    `--lock=${RUNTIME_LOCK}`,
    "--frozen",
    ...permissionFlags(requiredPermissions(config, directories)),
  ];
  const entry = [ENTRY_POINT];
  switch (mode) {
    case "compile":
      return { args: ["compile", ...flags, "--output", BINARY, ...entry], env };
    case "dev":
      return { args: ["run", "--watch", ...flags, ...entry], env };
    default:
      return { args: ["run", ...flags, ...entry], env };
  }
}

const DENORT_ASSET = `denort-${Deno.build.target}.zip`;
const DENORT_HOW =
  `Fetch ${DENORT_ASSET} of Deno ${Deno.version.deno} (a GitHub release asset of denoland/deno) on a
machine that can, unzip it here and run:  DENORT_BIN=/path/to/denort deno task compile`;

/** Why `deno compile` cannot start: DENORT_BIN names no file. */
export function denortBinProblem(denortBin: string | undefined): string | undefined {
  if (denortBin === undefined || denortBin === "") return undefined;
  try {
    if (Deno.statSync(denortBin).isFile) return undefined;
  } catch {
    // Reported below like a directory: not a usable binary.
  }
  return `DENORT_BIN=${denortBin} is not a file. It must be the denort binary of Deno ${Deno.version.deno}.\n${DENORT_HOW}`;
}

/** What to tell the user after `deno compile` failed with `stderr`; undefined: nothing to add. */
export function compileAdvice(stderr: string, denortBin: string | undefined): string | undefined {
  if (denortBin) return undefined;
  if (!/denort|dl\.deno\.land|Setting up base binary/i.test(stderr)) return undefined;
  return `deno compile could not download its base binary (denort) for Deno ${Deno.version.deno}: this
machine cannot reach Deno's release server. ${DENORT_HOW}`;
}

/**
 * The signal to pass on to the child. `deno run --watch` ends only on SIGINT: on SIGTERM it lets
 * the server drain and exit, then waits for a file change, so `dev` turns SIGTERM into SIGINT.
 */
function childSignal(mode: Mode, signal: Deno.Signal): Deno.Signal {
  return mode === "dev" && signal === "SIGTERM" ? "SIGINT" : signal;
}

/**
 * Test directories of the npm packages in `lockText`, under the npm cache `npmCache`, that a
 * build leaves out. `deno compile` parses every file of the packages it embeds as JavaScript,
 * extension-less data files included, and bintrees' 100 000-line test sample (a dependency of
 * prom-client) overflows its stack; tests are never loaded at run time.
 */
export function npmTestDirectories(npmCache: string, lockText: string): string[] {
  return lockedPackageDirectories(npmCache, lockText).flatMap((dir) =>
    ["test", "tests"].map((sub) => `${dir}/${sub}`)
  );
}

/** The npm cache directory of every package in `lockText`. */
export function lockedPackageDirectories(npmCache: string, lockText: string): string[] {
  const packages = Object.keys(JSON.parse(lockText).npm ?? {});
  return packages.flatMap((key) => {
    const match = /^(@?[^@]+)@([^_]+)/.exec(key);
    return match ? [`${npmCache}/registry.npmjs.org/${match[1]}/${match[2]}`] : [];
  });
}

/** A file the running gateway may load: JavaScript, JSON or WebAssembly (not types or maps). */
export const RUNS = /\.(m?js|cjs|json|wasm|node)$/;

/**
 * Whether a package directory holding `files` (paths relative to it) has nothing that runs:
 * a types-only package such as `@octokit/openapi-types` (5 MB of `.d.ts`), which type checking
 * reads from the cache and the binary never loads.
 */
export function typesOnly(files: readonly string[]): boolean {
  return !files.some((file) => RUNS.test(file) && file !== "package.json");
}

function filesUnder(dir: string, prefix = ""): string[] {
  return [...Deno.readDirSync(dir)].flatMap((entry) =>
    entry.isDirectory
      ? filesUnder(`${dir}/${entry.name}`, `${prefix}${entry.name}/`)
      : [`${prefix}${entry.name}`]
  );
}

const isDirectory = (path: string) => {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
};

/** The npm cache of this Deno, where the packages a build embeds are read from. */
export async function npmCacheDirectory(): Promise<string | undefined> {
  const info = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"], stderr: "null" })
    .output();
  return JSON.parse(new TextDecoder().decode(info.stdout)).npmCache;
}

/**
 * The files of a package holding `files` (paths relative to it) that never run: type
 * declarations, source maps, documentation (`@redis/client` alone ships 1.6 MB of them).
 * `deno compile --exclude` takes paths, not globs, so they are named one by one.
 */
export function idleFiles(files: readonly string[]): string[] {
  return files.filter((file) => !RUNS.test(file));
}

/**
 * What `deno compile` leaves out of the runtime lockfile's packages: tests, types-only
 * packages, and every file that never runs.
 */
export function buildExclusions(npmCache: string): string[] {
  const lock = Deno.readTextFileSync(RUNTIME_LOCK);
  const tests = npmTestDirectories(npmCache, lock).filter(isDirectory);
  const packages = lockedPackageDirectories(npmCache, lock).filter(isDirectory);
  return [
    ...tests,
    ...packages.flatMap((dir) => {
      const files = filesUnder(dir).filter((file) =>
        !tests.some((test) => `${dir}/${file}`.startsWith(`${test}/`))
      );
      return typesOnly(files) ? [dir] : idleFiles(files).map((file) => `${dir}/${file}`);
    }),
  ];
}

async function compileExcludes(): Promise<string[]> {
  const npmCache = await npmCacheDirectory();
  if (!npmCache) return [];
  return buildExclusions(npmCache).map((path) => `--exclude=${path}`);
}

async function run(mode: Mode): Promise<number> {
  let cmd: Command;
  try {
    cmd = command(mode, Deno.env.toObject());
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`github-proxy: ${error.message}`);
      return 2;
    }
    throw error;
  }
  if (mode === "flags") {
    console.log(cmd.args.slice(1).join("\n"));
    return 0;
  }
  if (mode === "compile") {
    const problem = denortBinProblem(cmd.env.DENORT_BIN);
    if (problem) {
      console.error(`github-proxy: ${problem}`);
      return 2;
    }
    const [subcommand, ...rest] = cmd.args;
    const output = await new Deno.Command(Deno.execPath(), {
      args: [subcommand, ...await compileExcludes(), ...rest],
      env: cmd.env,
      stdout: "inherit",
      stderr: "piped",
    }).output();
    await Deno.stderr.write(output.stderr);
    const advice = output.code === 0
      ? undefined
      : compileAdvice(new TextDecoder().decode(output.stderr), cmd.env.DENORT_BIN);
    if (advice) console.error(`\ngithub-proxy: ${advice}`);
    if (output.code === 0) console.error(`built ${BINARY}`);
    return output.code;
  }
  const child = new Deno.Command(Deno.execPath(), { args: [...cmd.args], env: cmd.env }).spawn();
  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
    Deno.addSignalListener(signal, () => child.kill(childSignal(mode, signal)));
  }
  return (await child.status).code;
}

if (import.meta.main) {
  const mode = Deno.args[0] as Mode;
  if (!["start", "dev", "compile", "flags"].includes(mode)) {
    console.error("usage: launch.ts start|dev|compile|flags");
    Deno.exit(2);
  }
  Deno.exit(await run(mode));
}
