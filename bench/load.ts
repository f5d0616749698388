/**
 * The load generator behind one interface: `wrk` (a separate process, Debian's `wrk`) when it is
 * installed, else `load_worker.ts` (fetch loops in a worker of the bench process). Both visit
 * `paths` round-robin from a different offset per thread, for a fixed time, and report requests,
 * elapsed time, p50/p99 and errors.
 */
import { percentile, type RoundResult } from "./stats.ts";
import type { LoadRequest, LoadResult } from "./load_worker.ts";

export interface Load {
  /** Origin of the target, e.g. `http://127.0.0.1:8080`. */
  readonly origin: string;
  /** Visited in turn (round-robin), so no two consecutive requests of a thread repeat a path. */
  readonly paths: readonly string[];
  readonly headers: Record<string, string>;
  readonly connections: number;
  readonly durationMs: number;
}

/** Runs one load; `name` says which generator it is in the report. */
export interface LoadGenerator {
  readonly name: string;
  run(load: Load): Promise<RoundResult>;
}

/** `wrk` on PATH, or undefined. */
export async function findWrk(): Promise<LoadGenerator | undefined> {
  try {
    await new Deno.Command("wrk", { args: ["--version"], stdout: "null", stderr: "null" })
      .output();
  } catch {
    return undefined;
  }
  return { name: "wrk", run: runWrk };
}

const luaString = (text: string) => JSON.stringify(text);

/**
 * The Lua script for `load`: each thread starts at its own offset in the path list, and `done`
 * writes the figures as one JSON line (latencies in microseconds).
 */
export function wrkScript(load: Load): string {
  const headers = Object.entries(load.headers)
    .map(([name, value]) => `wrk.headers[${luaString(name)}] = ${luaString(value)}`);
  return [
    `local paths = {${load.paths.map(luaString).join(",")}}`,
    ...headers,
    "local threads = 0",
    "function setup(thread) thread:set('offset', threads); threads = threads + 1 end",
    "local n = 0",
    "function init() n = (offset or 0) * 7919 end",
    "function request() n = n + 1; return wrk.format(nil, paths[(n % #paths) + 1]) end",
    "function done(summary, latency, requests)",
    "  local e = summary.errors",
    '  io.write(string.format(\'\\n{"requests":%d,"elapsedUs":%d,"p50Us":%d,"p99Us":%d,\' ..',
    "    '\"errors\":%d}\\n', summary.requests, summary.duration, latency:percentile(50),",
    "    latency:percentile(99), e.connect + e.read + e.write + e.status + e.timeout))",
    "end",
  ].join("\n");
}

async function runWrk(load: Load): Promise<RoundResult> {
  const script = await Deno.makeTempFile({ prefix: "bench-wrk-", suffix: ".lua" });
  try {
    await Deno.writeTextFile(script, wrkScript(load));
    const threads = Math.min(2, load.connections);
    const output = await new Deno.Command("wrk", {
      args: [
        `-t${threads}`,
        `-c${load.connections}`,
        `-d${load.durationMs / 1000}s`,
        "--timeout",
        "10s",
        "-s",
        script,
        load.origin,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(output.stdout);
    const line = text.trim().split("\n").at(-1) ?? "";
    if (!output.success || !line.startsWith("{")) {
      throw new Error(`wrk failed: ${text}${new TextDecoder().decode(output.stderr)}`);
    }
    return wrkResult(JSON.parse(line));
  } finally {
    await Deno.remove(script);
  }
}

/** The figures of the script's JSON line, in milliseconds. */
export function wrkResult(
  line: { requests: number; elapsedUs: number; p50Us: number; p99Us: number; errors: number },
): RoundResult {
  return {
    requests: line.requests,
    elapsedMs: line.elapsedUs / 1000,
    p50Ms: line.p50Us / 1000,
    p99Ms: line.p99Us / 1000,
    errors: line.errors,
  };
}

/** Fetch loops in a worker: slower than wrk and sharing the bench's process, but always there. */
export const workerGenerator: LoadGenerator = {
  name: "fetch loops in a worker",
  async run(load) {
    const worker = new Worker(new URL("./load_worker.ts", import.meta.url), { type: "module" });
    const request: LoadRequest = {
      urls: load.paths.map((path) => load.origin + path),
      headers: load.headers,
      connections: load.connections,
      durationMs: load.durationMs,
    };
    const result = await new Promise<LoadResult>((resolve, reject) => {
      worker.onmessage = (event: MessageEvent<LoadResult>) => resolve(event.data);
      worker.onerror = (event) => reject(new Error(event.message));
      worker.postMessage(request);
    }).finally(() => worker.terminate());
    const sorted = result.latencies.sort((a, b) => a - b);
    return {
      requests: sorted.length,
      elapsedMs: result.elapsedMs,
      p50Ms: percentile(sorted, 0.5),
      p99Ms: percentile(sorted, 0.99),
      errors: result.errors,
    };
  },
};
