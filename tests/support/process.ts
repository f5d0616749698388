/**
 * Runs the gateway (or a probe) as a separate Deno process, the way it is started in production,
 * with a controlled environment.
 */

import { command } from "../../scripts/launch.ts";
import { FULL_ACCESS_REGISTRY } from "./gateway.ts";

const decoder = new TextDecoder();
/** The repository root, so that `deno.json` (import map, `unstable`) applies. */
const ROOT = new URL("../..", import.meta.url).pathname;

/** What a Deno subprocess needs to find its cache, and nothing else from the test's env. */
export function baseEnv(): Record<string, string> {
  const env: Record<string, string> = { NO_COLOR: "1" };
  for (const name of ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function runDeno(
  args: readonly string[],
  env: Record<string, string>,
): Promise<RunResult> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [...args],
    env: { ...baseEnv(), ...env },
    clearEnv: true,
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** Generous: a cold start type-checks nothing but may load npm packages on a busy machine. */
const START_TIMEOUT_MS = 30_000;

export interface ServerProcess {
  readonly url: string;
  readonly port: number;
  readonly child: Deno.ChildProcess;
  /** Every stderr line (the JSON log) so far; with `logFile`, only the last `LOG_TAIL_LINES`. */
  readonly logs: string[];
  /** Resolves to the next log line matching `pattern`. */
  waitForLog(pattern: RegExp): Promise<string>;
  /** Waits for exit and returns the code. */
  status(): Promise<number>;
  /** Sends SIGTERM if still running, then waits for exit. */
  stop(): Promise<number>;
}

export interface SpawnOptions {
  /** Runs the process under `ulimit -n` of this many file descriptors. */
  readonly descriptorLimit?: number;
  /**
   * Every stderr byte is also appended to this file, and `logs` keeps only the last lines: for
   * the bench, whose gateways log a line per request for minutes, and whose failures need the
   * whole log afterwards.
   */
  readonly logFile?: string;
}

/** The lines `logs` keeps when the whole log goes to `SpawnOptions.logFile`. */
export const LOG_TAIL_LINES = 200;

/** Spawns `deno <args>` and resolves once it logs that it is listening. */
export async function spawnServer(
  args: readonly string[],
  env: Record<string, string>,
  options: SpawnOptions = {},
): Promise<ServerProcess> {
  const limited = options.descriptorLimit !== undefined;
  const child = new Deno.Command(limited ? "bash" : Deno.execPath(), {
    args: limited
      ? ["-c", `ulimit -n ${options.descriptorLimit} && exec "$0" "$@"`, Deno.execPath(), ...args]
      : [...args],
    env: { ...baseEnv(), ...env },
    clearEnv: true,
    cwd: ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const logs: string[] = [];
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  let exited = false;
  const file = options.logFile === undefined
    ? undefined
    : await Deno.open(options.logFile, { write: true, create: true, append: true });
  const reading = (async () => {
    let buffer = "";
    const decoder = new TextDecoder();
    for await (const bytes of child.stderr) {
      if (file) { for (let n = 0; n < bytes.length;) n += await file.write(bytes.subarray(n)); }
      buffer += decoder.decode(bytes, { stream: true });
      let newline;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        logs.push(line);
        if (file && logs.length > LOG_TAIL_LINES) logs.shift();
        for (const waiter of waiters.filter((w) => w.pattern.test(line))) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    }
  })().finally(() => file?.close());
  const exit = child.status.then(async (status) => {
    exited = true;
    await reading;
    return status.code;
  });
  const waitForLog = (pattern: RegExp) => {
    const seen = logs.find((line) => pattern.test(line));
    if (seen) return Promise.resolve(seen);
    return new Promise<string>((resolve, reject) => {
      waiters.push({ pattern, resolve });
      exit.then((code) =>
        reject(new Error(`exited with ${code} before logging ${pattern}:\n${logs.join("\n")}`))
      );
    });
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const listening = JSON.parse(
    await Promise.race([
      waitForLog(/"msg":"listening"/),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          child.kill("SIGKILL");
          reject(
            new Error(`no "listening" log within ${START_TIMEOUT_MS} ms:\n${logs.join("\n")}`),
          );
        }, START_TIMEOUT_MS);
      }),
    ]).finally(() => clearTimeout(timer)),
  );
  const port = Number(String(listening.address).split(":").at(-1));
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    child,
    logs,
    waitForLog,
    status: () => exit,
    async stop() {
      if (!exited) child.kill("SIGTERM");
      return await exit;
    },
  };
}

export interface GatewayProcessOptions {
  /** Deno flags put after `run`, before the launcher's (the bench's `--cpu-prof`). */
  readonly runFlags?: readonly string[];
  /** The registry file's text (default: the full-access test registry). */
  readonly registry?: string;
  /** A module to run instead of main.ts, with main.ts's flags (the bench's unguarded twin). */
  readonly entry?: string;
}

/**
 * The gateway as a separate process on 127.0.0.1, started with the launcher's least-privilege
 * flags, the full-access test registry (or `options.registry`) and the memory cache; `env` adds
 * or overrides variables.
 */
export async function startGatewayProcess(
  githubApiUrl: string,
  env: Record<string, string> = {},
  options: SpawnOptions & GatewayProcessOptions = {},
): Promise<{ server: ServerProcess; stop(): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "github-proxy-process-" });
  await Deno.writeTextFile(`${dir}/registry.yaml`, options.registry ?? FULL_ACCESS_REGISTRY);
  const cmd = command("start", {
    GITHUB_API_URL: githubApiUrl,
    CLIENT_REGISTRY_FILE_PATH: `${dir}/registry.yaml`,
    STATE_DIRECTORY: dir,
    CACHE_BACKEND_URL: "memory://",
    BIND: "127.0.0.1",
    PORT: "0",
    ...env,
  });
  const [run, ...rest] = cmd.args;
  if (options.entry !== undefined) rest[rest.length - 1] = options.entry;
  const args = [run, ...options.runFlags ?? [], ...rest];
  const server = await spawnServer(args, { ...cmd.env }, options);
  return {
    server,
    async stop() {
      await server.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}
