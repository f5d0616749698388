/**
 * `deno task bench`: the fake GitHub and the gateway on loopback, the same load of concurrent
 * GETs sent directly and through the gateway; requests/s, p50/p99 latency and the ratio to
 * direct. Each measured path is one entry of `SCENARIOS`.
 */
import { FakeGitHub } from "../tests/support/fake_github.ts";
import { TEST_TOKEN } from "../tests/support/gateway.ts";
import { startGatewayProcess } from "../tests/support/process.ts";
import { formatCacheReport, runCacheBench } from "./cache_bench.ts";
import type { LoadRequest, LoadResult } from "./load_worker.ts";

export const CONNECTIONS = 32;
const WARMUP_MS = 500;
const DURATION_MS = Number(Deno.env.get("BENCH_SECONDS") ?? "3") * 1000;
/** Scenarios take turns, round after round, so that a change in the machine's load over the
 * run (other processes on 2 shared cores) weighs on all of them alike. */
const ROUNDS = 2;
/** The pass-through path must reach this fraction of direct throughput. */
export const TARGET_RATIO = 0.25;

export const UPSTREAM_PAT = "ghp_bench";

/** What one scenario loads: a URL with headers, and how to stop what it started. */
export interface Target {
  readonly url: string;
  readonly headers: Record<string, string>;
  stop(): Promise<void>;
}

export interface Scenario {
  readonly name: string;
  /** Starts what the scenario needs in front of (or instead of) the shared upstream. */
  start(upstream: FakeGitHub): Promise<Target>;
}

export interface Measurement {
  readonly name: string;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
}

export const SCENARIOS: Scenario[] = [
  {
    name: "direct",
    start: (upstream) =>
      Promise.resolve({
        url: `${upstream.url}/zen`,
        headers: { authorization: `token ${UPSTREAM_PAT}` },
        stop: () => Promise.resolve(),
      }),
  },
  {
    name: "gateway pass-through",
    async start(upstream) {
      const gateway = await startGatewayProcess(upstream.url, { GITHUB_PAT_BENCH: UPSTREAM_PAT });
      return {
        url: `${gateway.server.url}/zen`,
        headers: { authorization: `token ${TEST_TOKEN}` },
        stop: gateway.stop,
      };
    },
  },
];

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

function load(target: Target): Promise<LoadResult> {
  const worker = new Worker(new URL("./load_worker.ts", import.meta.url), { type: "module" });
  const request: LoadRequest = {
    url: target.url,
    headers: target.headers,
    connections: CONNECTIONS,
    warmupMs: WARMUP_MS,
    durationMs: DURATION_MS,
  };
  return new Promise<LoadResult>((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<LoadResult>) => resolve(event.data);
    worker.onerror = (event) => reject(new Error(event.message));
    worker.postMessage(request);
  }).finally(() => worker.terminate());
}

async function loadOnce(scenario: Scenario, upstream: FakeGitHub): Promise<LoadResult> {
  const target = await scenario.start(upstream);
  try {
    return await load(target);
  } finally {
    upstream.clearRequests();
    await target.stop();
  }
}

function summarise(name: string, results: readonly LoadResult[]): Measurement {
  const latencies = results.flatMap((result) => result.latencies).sort((a, b) => a - b);
  const elapsedMs = results.reduce((sum, result) => sum + result.elapsedMs, 0);
  return {
    name,
    requestsPerSecond: latencies.length / (elapsedMs / 1000),
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    errors: results.reduce((sum, result) => sum + result.errors, 0),
  };
}

export function report(measurements: readonly Measurement[]): string {
  const direct = measurements.find((m) => m.name === "direct");
  const rows = measurements.map((m) =>
    [
      m.name.padEnd(28),
      m.requestsPerSecond.toFixed(0).padStart(9),
      m.p50Ms.toFixed(2).padStart(8),
      m.p99Ms.toFixed(2).padStart(8),
      (direct ? (m.requestsPerSecond / direct.requestsPerSecond).toFixed(2) : "-").padStart(6),
      String(m.errors).padStart(7),
    ].join(" ")
  );
  return [
    `${CONNECTIONS} connections, ${ROUNDS} rounds of ${DURATION_MS / 1000} s per scenario (after ${
      WARMUP_MS / 1000
    } s warm-up each)`,
    `${"scenario".padEnd(28)} ${"req/s".padStart(9)} ${"p50 ms".padStart(8)} ${
      "p99 ms".padStart(8)
    } ${"ratio".padStart(6)} ${"errors".padStart(7)}`,
    ...rows,
  ].join("\n");
}

/** Runs `scenarios` against one shared fake upstream; exits non-zero below the target ratio. */
export async function runBench(scenarios: readonly Scenario[]): Promise<number> {
  const upstream = await FakeGitHub.start({ pats: { [UPSTREAM_PAT]: { limit: 1_000_000_000 } } });
  const results = scenarios.map(() => [] as LoadResult[]);
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, scenario] of scenarios.entries()) {
        results[i].push(await loadOnce(scenario, upstream));
      }
    }
  } finally {
    await upstream.close();
  }
  const measurements = scenarios.map((scenario, i) => summarise(scenario.name, results[i]));
  console.log(report(measurements));
  const direct = measurements.find((m) => m.name === "direct")!;
  const passThrough = measurements.find((m) => m.name === "gateway pass-through")!;
  const ratio = passThrough.requestsPerSecond / direct.requestsPerSecond;
  const failed = measurements.some((m) => m.errors > 0) || ratio < TARGET_RATIO;
  console.log(
    `pass-through ratio ${ratio.toFixed(2)} (target ≥ ${TARGET_RATIO})${failed ? ": FAILED" : ""}`,
  );
  return failed ? 1 : 0;
}

if (import.meta.main) {
  const status = await runBench(SCENARIOS);
  console.log("\nshared ETag cache (warm GETs of a 4.4 KB repository document)");
  console.log(formatCacheReport(await runCacheBench()));
  Deno.exit(status);
}
