/**
 * `deno task bench`: the gateway beside its peers in one run (DESIGN §10). A mock upstream
 * (`mock_upstream.ts`), a bare Hono forwarder (`bare_forwarder.ts`), nginx `proxy_cache` when
 * installed, and gateway processes per cache backend are loaded by one generator (`load.ts`:
 * wrk when installed) over 1 000 warm resources visited round-robin; one report with req/s,
 * p50/p99, the ratios, the added latency at 1 connection, the cost curve over hot resources and
 * the memory a cached entry costs. `--check` fails when a ratio falls more than 15 % under
 * `bench/baseline.json`; `--write-baseline` records this run there; `--profile` writes a CPU
 * profile of the gateway under the revalidation load and prints its top self times.
 * `bench/README.md` says how to read it.
 */
import { MemoryBackend } from "../src/cache/backends/memory.ts";
import { bodyDigest } from "../src/cache/entry.ts";
import { repositoryDocument } from "../tests/support/fake_github.ts";
import { TEST_TOKEN } from "../tests/support/gateway.ts";
import { startGatewayProcess } from "../tests/support/process.ts";
import { REDIS_MISSING, redisAvailable, startRedis } from "../tests/support/redis.ts";
import { findWrk, type LoadGenerator, workerGenerator } from "./load.ts";
import {
  nginxMissing,
  startBareForwarder,
  type Started,
  startMockUpstream,
  startNginx,
} from "./peers.ts";
import { formatSelfTimes, selfTimes } from "./profile_summary.ts";
import {
  type Baseline,
  combine,
  type Measurement,
  type Ratio,
  ratios,
  type RatioSpec,
  regressions,
  type RoundResult,
} from "./stats.ts";

const CONNECTIONS = 32;
const DURATION_MS = Number(Deno.env.get("BENCH_SECONDS") ?? "4") * 1000;
/** Targets take turns, round after round, so that a change in the machine's load over the run
 * (other processes on 2 shared cores) weighs on all of them alike. */
const ROUNDS = Number(Deno.env.get("BENCH_ROUNDS") ?? "2");
const UPSTREAM_PAT = "ghp_bench";
/** Distinct warm resources of the main rows: more than any coalescing could fold together. */
const RESOURCES = 1_000;
/** The top of the cost curve; the memory backend's default capacity. */
const MAX_RESOURCES = 10_000;
const BASELINE = new URL("./baseline.json", import.meta.url);
const encoder = new TextEncoder();

/** One row of the table: a load against the target it belongs to. */
interface Row {
  readonly name: string;
  /** Distinct resources visited round-robin. */
  readonly resources: number;
  /** Client headers beside the token. */
  readonly headers?: Record<string, string>;
  readonly connections?: number;
}

/** A gateway process's log: where all of it is, and what a failed row shows of it. */
interface ProcessLog {
  /** The file every stderr line of the process went to. */
  readonly file: string;
  /** The last lines, most recent last. */
  tail(): readonly string[];
  /** The exit code once the process has exited, else undefined. */
  exitCode(): number | undefined;
}

/** A target as started: where it listens, the token its clients send, its log if it keeps one. */
type StartedTarget = Started & { token: string; log?: ProcessLog };

/** Something to load: started once per round, warmed, its rows run, stopped. */
interface Target {
  readonly name: string;
  /** Why it is not measured on this machine, when it is not. */
  readonly skip?: () => Promise<string | undefined>;
  start(upstream: string): Promise<StartedTarget>;
  readonly rows: readonly Row[];
}

/** GitHub marks answers `max-age=60`; a client accepting that is answered from the cache. */
const FRESH = { "cache-control": "max-age=60" };

const withToken = (token: string) => (started: Started) => ({ ...started, token });

const UNGUARDED = new URL("./unguarded_gateway.ts", import.meta.url).pathname;

/** Where the gateway processes' logs go: one file per process, kept after the run. */
let logDirectory: Promise<string> | undefined;
let processes = 0;

function gateway(env: Record<string, string>, runFlags: readonly string[] = [], entry?: string) {
  return async (upstream: string): Promise<StartedTarget> => {
    logDirectory ??= Deno.makeTempDir({ prefix: "bench-logs-" });
    const file = `${await logDirectory}/gateway-${++processes}.log`;
    const started = await startGatewayProcess(upstream, {
      GITHUB_PAT_BENCH: UPSTREAM_PAT,
      ...env,
    }, { runFlags, entry, logFile: file });
    let exitCode: number | undefined;
    started.server.status().then((code) => exitCode = code);
    return {
      origin: started.server.url,
      stop: started.stop,
      token: TEST_TOKEN,
      log: { file, tail: () => started.server.logs, exitCode: () => exitCode },
    };
  };
}

/** Names the gateways' log directory when something failed, else removes it. */
async function keepLogsIf(failed: boolean): Promise<void> {
  if (!logDirectory) return;
  const directory = await logDirectory;
  if (failed) console.log(`the gateways' logs: ${directory}`);
  else await Deno.remove(directory, { recursive: true });
}

/** Lines of a gateway's log a failed row prints; the whole log is in its file. */
const FAILED_ROW_LINES = 30;

/** What a row with errors leaves behind: whether the process still runs, and its last words. */
function explainErrors(row: string, errors: number, log: ProcessLog | undefined): string {
  if (!log) return `${row}: ${errors} errors`;
  const code = log.exitCode();
  const lines = log.tail().slice(-FAILED_ROW_LINES);
  return [
    `${row}: ${errors} errors; the gateway ${
      code === undefined ? "is still running" : `exited with ${code}`
    }; its log: ${log.file}; its last ${lines.length} lines:`,
    ...lines.map((line) => `  ${line}`),
  ].join("\n");
}

/** The rows of one cache backend: the two paths the targets of DESIGN §10 are about. */
function backendRows(backend: string): Row[] {
  return [
    { name: `${backend}: freshness (max-age=60)`, resources: RESOURCES, headers: FRESH },
    { name: `${backend}: revalidation (304)`, resources: RESOURCES },
  ];
}

const REDIS_BACKEND = new URL("../src/cache/backends/redis.ts", import.meta.url);

async function redisSkip(): Promise<string | undefined> {
  try {
    await Deno.stat(REDIS_BACKEND);
  } catch {
    return "no redis cache backend (src/cache/backends/redis.ts) in this tree";
  }
  return await redisAvailable() ? undefined : REDIS_MISSING;
}

export const TARGETS: readonly Target[] = [
  {
    name: "mock upstream",
    start: () => Promise.reject(new Error("the mock upstream is started once per run")),
    rows: [
      { name: "direct", resources: RESOURCES },
      { name: "direct, 1 connection", resources: RESOURCES, connections: 1 },
    ],
  },
  {
    name: "bare Hono forwarder",
    start: async (upstream) => withToken(UPSTREAM_PAT)(await startBareForwarder(upstream)),
    rows: [{ name: "bare forwarder", resources: RESOURCES }],
  },
  {
    name: "nginx proxy_cache",
    skip: nginxMissing,
    start: async (upstream) => withToken(UPSTREAM_PAT)(await startNginx(upstream)),
    rows: [{ name: "nginx proxy_cache hits", resources: RESOURCES }],
  },
  {
    name: "gateway, memory://",
    start: gateway({ CACHE_BACKEND_URL: "memory://" }),
    rows: [
      // Fresh for 60 s from the warm-up: the freshness rows come first.
      { name: "memory: freshness, 10 000 hot", resources: MAX_RESOURCES, headers: FRESH },
      { name: "memory: freshness, 100 hot", resources: 100, headers: FRESH },
      { name: "memory: freshness, 1 hot", resources: 1, headers: FRESH },
      ...backendRows("memory"),
      {
        name: "memory: plain forward (no-store)",
        resources: RESOURCES,
        headers: { "cache-control": "no-store" },
      },
      {
        name: "memory: freshness, 1 connection",
        resources: RESOURCES,
        headers: FRESH,
        connections: 1,
      },
      { name: "memory: revalidation, 1 connection", resources: RESOURCES, connections: 1 },
    ],
  },
  {
    name: "gateway, memory://, without the supervised listener",
    start: gateway({ CACHE_BACKEND_URL: "memory://" }, [], UNGUARDED),
    rows: [
      { name: "memory: revalidation, no listener relay", resources: RESOURCES },
      { name: "memory: freshness, no listener relay", resources: RESOURCES, headers: FRESH },
    ],
  },
  {
    name: "gateway, memory://, telemetry noop",
    start: gateway({ CACHE_BACKEND_URL: "memory://", TELEMETRY_COLLECTOR_TYPE: "noop" }),
    rows: [{ name: "memory: revalidation, telemetry noop", resources: RESOURCES }],
  },
  {
    name: "gateway, denokv://",
    start: gateway({ CACHE_BACKEND_URL: "denokv://" }),
    rows: backendRows("denokv"),
  },
  {
    name: "gateway, redis://",
    skip: redisSkip,
    async start(upstream) {
      const redis = await startRedis();
      const started = await gateway({ CACHE_BACKEND_URL: `redis://127.0.0.1:${redis.port}` })(
        upstream,
      );
      return {
        ...started,
        async stop() {
          await started.stop();
          await redis.close();
        },
      };
    },
    rows: backendRows("redis"),
  },
];

/** The ratios of DESIGN §10 the report prints; `guarded` ones go into the baseline. */
export const RATIOS: readonly (RatioSpec & { guarded?: boolean })[] = [
  ...["memory", "denokv", "redis"].flatMap((backend) => [
    { of: `${backend}: revalidation (304)`, over: "bare forwarder", target: 0.9, guarded: true },
    { of: `${backend}: freshness (max-age=60)`, over: "direct", target: 0.5, guarded: true },
  ]),
  { of: "memory: plain forward (no-store)", over: "bare forwarder", guarded: true },
  { of: "memory: revalidation (304)", over: "memory: revalidation, telemetry noop", target: 0.95 },
  { of: "memory: revalidation (304)", over: "memory: revalidation, no listener relay" },
  { of: "memory: freshness (max-age=60)", over: "memory: freshness, no listener relay" },
  { of: "bare forwarder", over: "direct" },
  { of: "nginx proxy_cache hits", over: "direct" },
  { of: "memory: freshness, 100 hot", over: "memory: freshness, 1 hot", target: 1 },
  { of: "memory: freshness (max-age=60)", over: "memory: freshness, 1 hot", target: 1 },
  { of: "memory: freshness, 10 000 hot", over: "memory: freshness, 1 hot", target: 1 },
];

const paths = (count: number) => Array.from({ length: count }, (_, n) => `/repos/acme/widget-${n}`);

/** Fetches every resource once (32 at a time), so the rows find them stored. */
async function warm(origin: string, token: string, count: number): Promise<void> {
  const queue = paths(count);
  const headers = { authorization: `token ${token}` };
  await Promise.all(Array.from({ length: CONNECTIONS }, async () => {
    for (let path = queue.pop(); path !== undefined; path = queue.pop()) {
      const response = await fetch(origin + path, { headers });
      const text = await response.text();
      if (response.status !== 200) {
        throw new Error(`warm-up: ${origin}${path} answered ${response.status}: ${text}`);
      }
    }
  }));
}

async function runTarget(
  target: Target,
  upstream: Started,
  generator: LoadGenerator,
  results: Map<string, RoundResult[]>,
): Promise<void> {
  const isUpstream = target === TARGETS[0];
  const started: StartedTarget = isUpstream
    ? { ...upstream, token: UPSTREAM_PAT }
    : await target.start(upstream.origin);
  try {
    await warm(started.origin, started.token, Math.max(...target.rows.map((r) => r.resources)));
    for (const row of target.rows) {
      const result = await generator.run({
        origin: started.origin,
        paths: paths(row.resources),
        headers: { authorization: `token ${started.token}`, ...row.headers },
        connections: row.connections ?? CONNECTIONS,
        durationMs: DURATION_MS,
      });
      results.set(row.name, [...results.get(row.name) ?? [], result]);
      if (result.errors > 0) console.error(explainErrors(row.name, result.errors, started.log));
    }
  } finally {
    if (!isUpstream) await started.stop();
  }
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

/** Gateway minus direct at 1 connection, for one path. */
function addedLatency(by: Map<string, Measurement>, row: string): string {
  const gateway = by.get(row);
  const direct = by.get("direct, 1 connection");
  if (!gateway || !direct) return `  ${row}: not measured`;
  const p50 = gateway.p50Ms - direct.p50Ms;
  const p99 = gateway.p99Ms - direct.p99Ms;
  return `  ${row.padEnd(40)} p50 +${p50.toFixed(2)} ms, p99 +${
    p99.toFixed(2)
  } ms (target p99 < 1 ms)`;
}

export function report(
  generator: string,
  measurements: readonly Measurement[],
  measuredRatios: readonly Ratio[],
  skipped: readonly string[],
  memory: { bytes: number; bodyBytes: number },
): string {
  const by = new Map(measurements.map((m) => [m.name, m]));
  return [
    `${generator}, ${CONNECTIONS} connections (unless the row says 1), ${ROUNDS} rounds of ${
      DURATION_MS / 1000
    } s per row; ${RESOURCES} warm resources visited round-robin unless the row says otherwise`,
    `${"row".padEnd(40)} ${"req/s".padStart(8)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)} ${
      "errors".padStart(7)
    }`,
    ...measurements.map((m) =>
      `${m.name.padEnd(40)} ${fixed(m.requestsPerSecond, 0, 8)} ${fixed(m.p50Ms, 2, 8)} ${
        fixed(m.p99Ms, 2, 8)
      } ${String(m.errors).padStart(7)}`
    ),
    ...skipped.map((line) => `skipped: ${line}`),
    "",
    "ratios of throughput (DESIGN §10)",
    ...measuredRatios.map((r) =>
      `  ${r.name.padEnd(76)} ${fixed(r.value, 2, 5)}${
        r.target === undefined ? "" : ` (target ≥ ${r.target})`
      }`
    ),
    "",
    "added latency at 1 connection (gateway − direct)",
    addedLatency(by, "memory: revalidation, 1 connection"),
    addedLatency(by, "memory: freshness, 1 connection"),
    "",
    `memory backend: ${memory.bytes} bytes per entry for ${MAX_RESOURCES} repositories (${memory.bodyBytes} of them body)`,
  ].join("\n");
}

/** The gateway (memory backend) under the revalidation load with `--cpu-prof`; its top entries. */
async function profile(upstream: Started, generator: LoadGenerator): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "bench-profile-" });
  // BENCH_PROFILE_BACKEND=denokv:// profiles another backend; BENCH_PROFILE_FRESH=1 the
  // freshness load instead of the revalidation one.
  const backend = Deno.env.get("BENCH_PROFILE_BACKEND") ?? "memory://";
  const fresh = Deno.env.get("BENCH_PROFILE_FRESH") === "1";
  const started = await gateway({ CACHE_BACKEND_URL: backend }, [
    "--cpu-prof",
    `--cpu-prof-dir=${dir}`,
  ])(upstream.origin);
  try {
    await warm(started.origin, started.token, RESOURCES);
    await generator.run({
      origin: started.origin,
      paths: paths(RESOURCES),
      headers: { authorization: `token ${started.token}`, ...fresh ? FRESH : {} },
      connections: CONNECTIONS,
      durationMs: DURATION_MS * 2,
    });
  } finally {
    await started.stop();
    await keepLogsIf(false);
  }
  const [file] = [...Deno.readDirSync(dir)].filter((entry) => entry.name.endsWith(".cpuprofile"));
  if (!file) throw new Error(`no .cpuprofile in ${dir}`);
  const cpuProfile = JSON.parse(await Deno.readTextFile(`${dir}/${file.name}`));
  return [
    `${dir}/${file.name}`,
    `top self time, gateway (${backend}) under the ${
      fresh ? "freshness" : "revalidation"
    } load (start-up included):`,
    formatSelfTimes(selfTimes(cpuProfile), 30),
    "by file:",
    formatSelfTimes(selfTimes(cpuProfile, "file"), 20),
  ].join("\n");
}

async function commit(): Promise<string> {
  const output = await new Deno.Command("git", { args: ["rev-parse", "--short", "HEAD"] })
    .output().catch(() => undefined);
  return output?.success ? new TextDecoder().decode(output.stdout).trim() : "unknown";
}

if (import.meta.main) {
  const flags = new Set(Deno.args);
  const generator = await findWrk() ?? workerGenerator;
  const upstream = await startMockUpstream();
  try {
    if (flags.has("--profile")) console.log(await profile(upstream, generator));
    else await measure(upstream, generator, flags);
  } finally {
    await upstream.stop();
  }
}

/** The whole table: every target's rows, round after round; the report, baseline and check. */
async function measure(upstream: Started, generator: LoadGenerator, flags: Set<string>) {
  const memory = await memoryPerEntry(upstream.origin, MAX_RESOURCES);
  const skipped: string[] = [];
  const targets: Target[] = [];
  // BENCH_ONLY=<regex>: only the targets whose names match it (and the mock, which every
  // ratio needs): to compare two trees side by side on the rows a change is about.
  const only = Deno.env.get("BENCH_ONLY");
  for (const target of TARGETS) {
    if (only && target !== TARGETS[0] && !new RegExp(only).test(target.name)) continue;
    const reason = await target.skip?.();
    if (reason) skipped.push(`${target.name}: ${reason}`);
    else targets.push(target);
  }
  const results = new Map<string, RoundResult[]>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const target of targets) await runTarget(target, upstream, generator, results);
  }
  const measurements = [...results].map(([name, rounds]) => combine(name, rounds));
  const measured = ratios(RATIOS, measurements);
  console.log(report(generator.name, measurements, measured, skipped, memory));
  const guarded = measured.filter((r) =>
    RATIOS.find((s) => s.of === r.of && s.over === r.over)?.guarded
  );
  if (flags.has("--write-baseline")) {
    const baseline: Baseline = {
      machine: `${Deno.build.target}, ${navigator.hardwareConcurrency} cores, ${Deno.hostname()}`,
      date: new Date().toISOString().slice(0, 10),
      commit: await commit(),
      ratios: Object.fromEntries(guarded.map((r) => [r.name, Number(r.value.toFixed(3))])),
    };
    await Deno.writeTextFile(BASELINE, JSON.stringify(baseline, null, 2) + "\n");
    console.log(`\nbaseline written to ${BASELINE.pathname}`);
  }
  const errors = measurements.filter((m) => m.errors > 0).map((m) =>
    `${m.name}: ${m.errors} errors`
  );
  let failed = errors.length > 0;
  for (const line of errors) console.log(`FAILED: ${line}`);
  await keepLogsIf(failed);
  if (flags.has("--check")) {
    const baseline: Baseline = JSON.parse(await Deno.readTextFile(BASELINE));
    const found = regressions(baseline, guarded);
    console.log(
      `\ncheck against bench/baseline.json (${baseline.machine}, ${baseline.date}, ${baseline.commit})`,
    );
    for (const line of found) console.log(`REGRESSION: ${line}`);
    if (found.length === 0) console.log("no ratio more than 15 % under its baseline");
    failed ||= found.length > 0;
  }
  if (failed) Deno.exitCode = 1;
}
