/**
 * `deno task bench`: every scenario of `SCENARIOS` loads `/zen` or GitHub-shaped repositories from
 * the fake GitHub, directly or through a gateway process started with the launcher's flags, with
 * one load generator (`load_worker.ts`); one report with requests/s, p50/p99, the ratios of
 * DESIGN §10, the cost curve over hot resources and the memory a cached entry costs.
 * `bench/README.md` says how to read it.
 */
import { MemoryBackend } from "../src/cache/backends/memory.ts";
import { bodyDigest } from "../src/cache/entry.ts";
import { FakeGitHub, repositoryDocument } from "../tests/support/fake_github.ts";
import { TEST_TOKEN } from "../tests/support/gateway.ts";
import { startGatewayProcess } from "../tests/support/process.ts";
import type { LoadRequest, LoadResult } from "./load_worker.ts";

const CONNECTIONS = 32;
const WARMUP_MS = 500;
const DURATION_MS = Number(Deno.env.get("BENCH_SECONDS") ?? "2") * 1000;
/** Scenarios take turns, round after round, so that a change in the machine's load over the
 * run (other processes on 2 shared cores) weighs on all of them alike. */
const ROUNDS = 3;
/** The pass-through must reach this fraction of direct throughput, or the run fails. */
const TARGET_RATIO = 0.25;
const UPSTREAM_PAT = "ghp_bench";
/** The most resources a scenario loads; the memory backend's default capacity. */
const MAX_RESOURCES = 10_000;
const encoder = new TextEncoder();

export interface Scenario {
  readonly name: string;
  /** The gateway's environment; without it the client asks the upstream directly. */
  readonly gateway?: Record<string, string>;
  /** Client headers beside the token. */
  readonly headers?: Record<string, string>;
  /** Distinct repositories requested in turn (default 1). */
  readonly resources?: number;
  /** A path to load instead of repositories. */
  readonly path?: string;
}

const MEMORY = { GITHUB_PAT_BENCH: UPSTREAM_PAT, CACHE_BACKEND_URL: "memory://" };
/** `denokv://` is a KV file in the gateway's own state directory. */
const DENOKV = { GITHUB_PAT_BENCH: UPSTREAM_PAT, CACHE_BACKEND_URL: "denokv://" };
/** Body URL rewriting off, to measure what it costs (DESIGN §5, §10). */
const NO_REWRITE = { REWRITE_BODY_URLS: "false" };
/** The client accepts an hour-old answer, so a stored entry is served without asking GitHub. */
const FRESH = { "cache-control": "max-age=3600" };

export const SCENARIOS: readonly Scenario[] = [
  { name: "direct: /zen", path: "/zen" },
  { name: "pass-through: /zen", gateway: MEMORY, path: "/zen" },
  { name: "direct: repository" },
  { name: "plain forward (no-store)", gateway: MEMORY, headers: { "cache-control": "no-store" } },
  { name: "memory: revalidation (304)", gateway: MEMORY },
  { name: "memory: freshness (local)", gateway: MEMORY, headers: FRESH },
  { name: "memory: revalidation, no rewriting", gateway: { ...MEMORY, ...NO_REWRITE } },
  {
    name: "memory: freshness, no rewriting",
    gateway: { ...MEMORY, ...NO_REWRITE },
    headers: FRESH,
  },
  { name: "denokv: revalidation (304)", gateway: DENOKV },
  { name: "denokv: freshness (local)", gateway: DENOKV, headers: FRESH },
  {
    name: "memory: revalidation, telemetry noop",
    gateway: { ...MEMORY, TELEMETRY_COLLECTOR_TYPE: "noop" },
  },
  { name: "memory: freshness, 100 hot", gateway: MEMORY, headers: FRESH, resources: 100 },
  {
    name: "memory: freshness, 10 000 hot",
    gateway: MEMORY,
    headers: FRESH,
    resources: MAX_RESOURCES,
  },
];

interface Measurement {
  readonly name: string;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted.length === 0
    ? NaN
    : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

function load(request: LoadRequest): Promise<LoadResult> {
  const worker = new Worker(new URL("./load_worker.ts", import.meta.url), { type: "module" });
  return new Promise<LoadResult>((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<LoadResult>) => resolve(event.data);
    worker.onerror = (event) => reject(new Error(event.message));
    worker.postMessage(request);
  }).finally(() => worker.terminate());
}

/** One round of `scenario`, in a gateway started for it (and stopped after). */
async function loadOnce(scenario: Scenario, upstream: FakeGitHub): Promise<LoadResult> {
  const gateway = scenario.gateway && await startGatewayProcess(upstream.url, scenario.gateway);
  const base = gateway?.server.url ?? upstream.url;
  const token = gateway ? TEST_TOKEN : UPSTREAM_PAT;
  try {
    return await load({
      urls: scenario.path ? [base + scenario.path] : Array.from(
        { length: scenario.resources ?? 1 },
        (_, n) => `${base}/repos/acme/widget-${n}`,
      ),
      headers: { authorization: `token ${token}`, ...scenario.headers },
      connections: CONNECTIONS,
      warmupMs: WARMUP_MS,
      durationMs: DURATION_MS,
    });
  } finally {
    upstream.clearRequests();
    await gateway?.stop();
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

/** Heap and buffer bytes that `count` repositories cost in the memory backend, per entry. */
async function memoryPerEntry(
  api: string,
  count: number,
): Promise<{ bytes: number; bodyBytes: number }> {
  // Exact with `--v8-flags=--expose-gc` (as `deno task bench` runs), approximate without.
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
  const used = () => {
    gc();
    const { heapUsed, external } = Deno.memoryUsage();
    return heapUsed + external;
  };
  const backend = new MemoryBackend({ maxEntries: count, maxBytes: Number.MAX_SAFE_INTEGER });
  const before = used();
  let bodyBytes = 0;
  for (let n = 0; n < count; n++) {
    const body = encoder.encode(JSON.stringify(repositoryDocument(api, "acme", `widget-${n}`)));
    const digest = bodyDigest(body);
    bodyBytes += body.length;
    const now = Date.now();
    await backend.set(bodyDigest(encoder.encode(String(n))), {
      status: 200,
      headers: [
        ["content-type", "application/json; charset=utf-8"],
        ["cache-control", "private, max-age=60, s-maxage=60"],
        ["vary", "Accept, Authorization, Cookie, X-GitHub-OTP"],
        ["x-github-media-type", "github.v3; format=json"],
      ],
      body,
      digest,
      etag: `W/"${digest}"`,
      credential: "BENCH",
      storedAt: now,
      validatedAt: now,
    }, 3600);
  }
  const bytes = used() - before;
  // Read after measuring: it keeps the backend alive through the collection above.
  if (backend.size !== count) throw new Error(`${backend.size} of ${count} entries stored`);
  return { bytes: Math.round(bytes / count), bodyBytes: Math.round(bodyBytes / count) };
}

const fixed = (value: number, digits: number, width: number) =>
  value.toFixed(digits).padStart(width);

export function report(
  measurements: readonly Measurement[],
  memory: { bytes: number; bodyBytes: number },
): string {
  const by = (name: string) => measurements.find((m) => m.name === name)!;
  const rate = (a: string, b: string) => by(a).requestsPerSecond / by(b).requestsPerSecond;
  const ratio = (a: string, b: string, note = "") =>
    `  ${`${a} / ${b}`.padEnd(64)} ${fixed(rate(a, b), 2, 5)}${note}`;
  const forward = "plain forward (no-store)";
  return [
    `${CONNECTIONS} connections, ${ROUNDS} rounds of ${
      DURATION_MS / 1000
    } s per scenario, after a ${WARMUP_MS / 1000} s warm-up that fetches every resource once`,
    `${"scenario".padEnd(38)} ${"req/s".padStart(8)} ${"p50 ms".padStart(8)} ${
      "p99 ms".padStart(8)
    } ${"errors".padStart(7)}`,
    ...measurements.map((m) =>
      `${m.name.padEnd(38)} ${fixed(m.requestsPerSecond, 0, 8)} ${fixed(m.p50Ms, 2, 8)} ${
        fixed(m.p99Ms, 2, 8)
      } ${String(m.errors).padStart(7)}`
    ),
    "",
    "ratios of throughput (DESIGN §10)",
    ratio("pass-through: /zen", "direct: /zen", ` (target ≥ ${TARGET_RATIO})`),
    ratio(forward, "direct: repository"),
    ...["memory", "denokv"].flatMap((backend) => [
      ratio(`${backend}: revalidation (304)`, forward),
      ratio(`${backend}: freshness (local)`, forward),
    ]),
    ratio("memory: revalidation (304)", "memory: revalidation, telemetry noop", " (target ≥ 0.95)"),
    ratio("memory: revalidation (304)", "memory: revalidation, no rewriting"),
    ratio("memory: freshness (local)", "memory: freshness, no rewriting"),
    ratio("memory: freshness, 100 hot", "memory: freshness (local)"),
    ratio("memory: freshness, 10 000 hot", "memory: freshness (local)"),
    "",
    `memory backend: ${memory.bytes} bytes per entry for ${MAX_RESOURCES} repositories (${memory.bodyBytes} of them body)`,
  ].join("\n");
}

if (import.meta.main) {
  const upstream = await FakeGitHub.start({ pats: { [UPSTREAM_PAT]: { limit: 1_000_000_000 } } });
  const memory = await memoryPerEntry(upstream.url, MAX_RESOURCES);
  const results = SCENARIOS.map(() => [] as LoadResult[]);
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, scenario] of SCENARIOS.entries()) {
        results[i].push(await loadOnce(scenario, upstream));
      }
    }
  } finally {
    await upstream.close();
  }
  const measurements = SCENARIOS.map((scenario, i) => summarise(scenario.name, results[i]));
  console.log(report(measurements, memory));
  const passThrough = measurements[1].requestsPerSecond / measurements[0].requestsPerSecond;
  const failed = measurements.some((m) => m.errors > 0) || passThrough < TARGET_RATIO;
  if (failed) console.log(`FAILED: errors, or pass-through below ${TARGET_RATIO} of direct`);
  Deno.exit(failed ? 1 : 0);
}
