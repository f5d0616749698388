/**
 * Cache benchmark: warm GETs through the gateway on the revalidation path (upstream 304) and
 * the freshness path (served locally), with the memory and the Deno KV backends, beside direct
 * upstream and the plain forward; and the memory a cached entry costs.
 *
 * The servers (a fast loopback upstream and one gateway per backend) run in a child process,
 * so the load generator does not share their event loop.
 *
 *   deno run -A bench/cache_bench.ts            standalone: prints the table
 *   import { runCacheBench } from "./cache_bench.ts"   from `deno task bench`, with its own load
 */
import { parseConfig } from "../src/config.ts";
import { bodyDigest, type CacheEntry } from "../src/cache/entry.ts";
import { MemoryBackend } from "../src/cache/backends/memory.ts";
import { createGateway, type Gateway } from "../src/gateway.ts";
import { githubEtagHex, noneMatchHits } from "../src/cache/github_etag.ts";
import { createLogger } from "../src/log.ts";

export const CLIENT_TOKEN = "bench-client-token";
const PAT = "ghp_bench";
const encoder = new TextEncoder();

/** One way of fetching the same resource. */
export interface BenchTarget {
  readonly name: string;
  readonly url: string;
  readonly headers: Record<string, string>;
}

export interface LoadOptions {
  readonly durationMs: number;
  readonly concurrency: number;
}

export interface LoadResult {
  readonly requests: number;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** Drives one target: the lead's generator from `bench/bench.ts`, or `simpleLoad`. */
export type LoadGenerator = (target: BenchTarget, options: LoadOptions) => Promise<LoadResult>;

export interface BenchRow extends LoadResult {
  readonly name: string;
}

export interface MemoryResult {
  readonly entries: number;
  readonly bodyBytesPerEntry: number;
  readonly bytesPerEntry: number;
}

export interface CacheBenchReport {
  readonly rows: readonly BenchRow[];
  readonly memory: MemoryResult;
}

/** A GitHub-like repository JSON document of about 5 KB, the typical cached answer. */
export function typicalBody(seed: number): Uint8Array<ArrayBuffer> {
  const owner = { login: `owner-${seed}`, id: seed, type: "Organization", site_admin: false };
  const repo: Record<string, unknown> = {
    id: 100_000 + seed,
    name: `repository-${seed}`,
    full_name: `owner-${seed}/repository-${seed}`,
    private: false,
    owner,
    description: "A repository used to size typical cache entries for the benchmark.",
    default_branch: "main",
    topics: ["ci", "github", "proxy", "cache"],
    stargazers_count: seed % 1000,
    open_issues_count: seed % 77,
  };
  for (const rel of ["issues", "pulls", "commits", "branches", "tags", "releases", "hooks"]) {
    repo[`${rel}_url`] =
      `https://api.github.com/repos/owner-${seed}/repository-${seed}/${rel}{/number}`;
  }
  const filler = Array.from({ length: 30 }, (_, i) => ({
    key: `permission_${i}`,
    value: i % 2 === 0,
    url: `https://api.github.com/repos/owner-${seed}/repository-${seed}/settings/${i}`,
  }));
  return encoder.encode(JSON.stringify({ ...repo, settings: filler }));
}

/** A fast upstream with GitHub's credential-dependent ETags and free 304s. */
function startUpstream(): Deno.HttpServer<Deno.NetAddr> {
  const body = typicalBody(1);
  const tags = new Map<string, string>();
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const accept = request.headers.get("accept");
    const authorization = request.headers.get("authorization");
    const hashKey = `${accept}\n${authorization}`;
    let etag = tags.get(hashKey);
    if (!etag) {
      etag = `W/"${githubEtagHex({ accept, authorization, cookie: null }, body)}"`;
      tags.set(hashKey, etag);
    }
    const headers = {
      "content-type": "application/json; charset=utf-8",
      etag,
      "x-ratelimit-limit": "5000",
      "x-ratelimit-remaining": "4999",
      "x-ratelimit-resource": "core",
      "x-github-request-id": "BENCH",
    };
    const noneMatch = request.headers.get("if-none-match");
    if (noneMatch !== null && noneMatchHits(noneMatch, etag)) {
      return new Response(null, { status: 304, headers });
    }
    return new Response(body, { headers });
  });
}

async function startBenchGateway(
  upstreamUrl: string,
  backendUrl: string,
  dir: string,
  telemetry = "prometheus",
) {
  const registryPath = `${dir}/registry.yaml`;
  await Deno.writeTextFile(
    registryPath,
    `version: 1\nclients:\n  - name: bench\n    token: ${CLIENT_TOKEN}\n`,
  );
  const config = parseConfig({
    GITHUB_API_URL: upstreamUrl,
    CLIENT_REGISTRY_FILE_PATH: registryPath,
    STATE_DIRECTORY: dir,
    CACHE_BACKEND_URL: backendUrl,
    GITHUB_PAT_BENCH: PAT,
    LOG_LEVEL: "warn",
    TELEMETRY_COLLECTOR_TYPE: telemetry,
  });
  const gateway: Gateway = await createGateway(config, {
    logger: createLogger("warn", "json"),
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, gateway.app.fetch);
  return { url: `http://127.0.0.1:${server.addr.port}`, server, gateway };
}

/** Child process: serves upstream and gateways, prints their URLs, stops when stdin closes. */
async function serve(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "github-proxy-bench-" });
  const upstream = startUpstream();
  const upstreamUrl = `http://127.0.0.1:${upstream.addr.port}`;
  const memory = await startBenchGateway(upstreamUrl, "memory://", dir);
  const denokv = await startBenchGateway(upstreamUrl, `denokv://${dir}/cache.kv`, dir);
  const quiet = await startBenchGateway(upstreamUrl, "memory://", dir, "noop");
  console.log(JSON.stringify({
    upstream: upstreamUrl,
    memory: memory.url,
    denokv: denokv.url,
    quiet: quiet.url,
  }));
  for await (const _ of Deno.stdin.readable) { /* wait for the parent to close stdin */ }
  for (const gw of [memory, denokv, quiet]) {
    await gw.server.shutdown();
    await gw.gateway.close();
  }
  await upstream.shutdown();
  await Deno.remove(dir, { recursive: true });
}

/** Child process: bytes of heap and buffers per entry for `count` typical entries. */
async function measureMemory(count: number): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
  const used = () => {
    gc();
    const { heapUsed, external } = Deno.memoryUsage();
    return heapUsed + external;
  };
  const backend = new MemoryBackend({ maxEntries: count, maxBytes: Number.MAX_SAFE_INTEGER });
  const before = used();
  let bodyBytes = 0;
  for (let i = 0; i < count; i++) {
    const body = typicalBody(i);
    bodyBytes += body.length;
    const now = Date.now();
    const entry: CacheEntry = {
      status: 200,
      headers: [
        ["content-type", "application/json; charset=utf-8"],
        ["cache-control", "private, max-age=60, s-maxage=60"],
        ["vary", "Accept, Authorization, Cookie, X-GitHub-OTP"],
        ["x-github-media-type", "github.v3; format=json"],
        ["x-github-api-version-selected", "2022-11-28"],
        ["x-content-type-options", "nosniff"],
      ],
      body,
      digest: bodyDigest(body),
      etag: `W/"${bodyDigest(body)}"`,
      credential: "BENCH",
      storedAt: now,
      validatedAt: now,
    };
    await backend.set(bodyDigest(encoder.encode(String(i))), entry, 3600);
  }
  const after = used();
  const result: MemoryResult = {
    entries: backend.size,
    bodyBytesPerEntry: Math.round(bodyBytes / count),
    bytesPerEntry: Math.round((after - before) / count),
  };
  console.log(JSON.stringify(result));
}

/** Sequential requests from `concurrency` workers for `durationMs`, after a short warm-up. */
export const simpleLoad: LoadGenerator = async (target, { durationMs, concurrency }) => {
  const once = async () => {
    const response = await fetch(target.url, { headers: target.headers });
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`${target.name}: HTTP ${response.status}`);
  };
  const warmUntil = performance.now() + Math.min(500, durationMs / 4);
  while (performance.now() < warmUntil) await once();
  const latencies: number[] = [];
  const start = performance.now();
  const end = start + durationMs;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      const sent = performance.now();
      await once();
      latencies.push(performance.now() - sent);
    }
  }));
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  return {
    requests: latencies.length,
    requestsPerSecond: latencies.length / seconds,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
  };
};

export const TELEMETRY_OFF = "memory: revalidation, no telemetry";

function benchTargets(
  urls: { upstream: string; memory: string; denokv: string; quiet: string },
): BenchTarget[] {
  const path = "/repos/acme/widget";
  const client = { authorization: `token ${CLIENT_TOKEN}` };
  const fresh = { ...client, "cache-control": "max-age=3600" };
  return [
    {
      name: "direct upstream",
      url: `${urls.upstream}${path}`,
      headers: { authorization: `token ${PAT}` },
    },
    {
      name: "plain forward (no cache)",
      url: `${urls.memory}${path}`,
      headers: { ...client, "cache-control": "no-store" },
    },
    { name: "memory: revalidation (304)", url: `${urls.memory}${path}`, headers: client },
    { name: "memory: freshness (local)", url: `${urls.memory}${path}`, headers: fresh },
    { name: "denokv: revalidation (304)", url: `${urls.denokv}${path}`, headers: client },
    { name: "denokv: freshness (local)", url: `${urls.denokv}${path}`, headers: fresh },
    { name: TELEMETRY_OFF, url: `${urls.quiet}${path}`, headers: client },
  ];
}

function child(args: string[], stdin: "piped" | "null"): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--v8-flags=--expose-gc",
      new URL(import.meta.url).pathname,
      ...args,
    ],
    stdin,
    stdout: "piped",
    stderr: "inherit",
  });
}

const ROUNDS = 3;

/** Rates over the whole time; latency percentiles as the median of the rounds'. */
function combine(results: readonly LoadResult[]): LoadResult {
  const median = (values: number[]) => values.sort((a, b) => a - b)[values.length >> 1];
  const requests = results.reduce((sum, r) => sum + r.requests, 0);
  const seconds = results.reduce((sum, r) => sum + r.requests / r.requestsPerSecond, 0);
  return {
    requests,
    requestsPerSecond: requests / seconds,
    p50Ms: median(results.map((r) => r.p50Ms)),
    p99Ms: median(results.map((r) => r.p99Ms)),
  };
}

/** Runs every path with `load` and measures memory per entry, in one run. */
export async function runCacheBench(
  load: LoadGenerator = simpleLoad,
  options: LoadOptions & { readonly memoryEntries?: number } = {
    durationMs: 3000,
    concurrency: 16,
  },
): Promise<CacheBenchReport> {
  const servers = child(["serve"], "piped").spawn();
  const lines = servers.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const { value: first } = await lines.read();
  const urls = JSON.parse(first!.split("\n")[0]);
  const targets = benchTargets(urls);
  const rounds: LoadResult[][] = targets.map(() => []);
  try {
    // Interleaved rounds, so drift in what else the machine does spreads over every path.
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, target] of targets.entries()) {
        rounds[i].push(await load(target, { ...options, durationMs: options.durationMs / ROUNDS }));
      }
    }
  } finally {
    await servers.stdin.close();
    await lines.cancel();
    await servers.status;
  }
  const rows = targets.map((target, i) => ({ name: target.name, ...combine(rounds[i]) }));
  const memoryRun = child(["memory", String(options.memoryEntries ?? 10_000)], "null");
  const measured = await memoryRun.output();
  const memory = JSON.parse(new TextDecoder().decode(measured.stdout)) as MemoryResult;
  return { rows, memory };
}

/** The report as a table, with the ratios the performance budget (DESIGN §10) asks about. */
export function formatCacheReport(report: CacheBenchReport): string {
  const row = (name: string, rps: string, p50: string, p99: string) =>
    `${name.padEnd(36)} ${rps.padStart(9)} ${p50.padStart(8)} ${p99.padStart(8)}`;
  const lines = [row("path", "req/s", "p50 ms", "p99 ms")];
  for (const r of report.rows) {
    lines.push(row(r.name, r.requestsPerSecond.toFixed(0), r.p50Ms.toFixed(2), r.p99Ms.toFixed(2)));
  }
  const byName = new Map(report.rows.map((r) => [r.name, r]));
  const forward = byName.get("plain forward (no cache)");
  if (forward) {
    lines.push("");
    for (const backend of ["memory", "denokv"]) {
      const revalidation = byName.get(`${backend}: revalidation (304)`);
      const freshness = byName.get(`${backend}: freshness (local)`);
      if (!revalidation || !freshness) continue;
      lines.push(
        `${backend}: revalidation ${
          (revalidation.requestsPerSecond / forward.requestsPerSecond).toFixed(2)
        }× forward` +
          ` (p99 ${(revalidation.p99Ms - forward.p99Ms).toFixed(2)} ms added),` +
          ` freshness ${
            (freshness.requestsPerSecond / forward.requestsPerSecond).toFixed(2)
          }× forward`,
      );
    }
  }
  const quiet = byName.get(TELEMETRY_OFF);
  const measured = byName.get("memory: revalidation (304)");
  if (quiet && measured) {
    const cost = 1 - measured.requestsPerSecond / quiet.requestsPerSecond;
    lines.push(
      `telemetry (Prometheus, access log, usage) costs ${(100 * cost).toFixed(1)} % of ` +
        `warm-path throughput (target ≤ 5 %)`,
    );
  }
  const { entries, bodyBytesPerEntry, bytesPerEntry } = report.memory;
  lines.push(
    "",
    `memory backend: ${bytesPerEntry} bytes per entry for ${entries} typical entries ` +
      `(${bodyBytesPerEntry} of them body)`,
  );
  return lines.join("\n");
}

if (import.meta.main) {
  const [mode, arg] = Deno.args;
  if (mode === "serve") await serve();
  else if (mode === "memory") await measureMemory(Number(arg));
  else {
    const report = await runCacheBench();
    console.log(formatCacheReport(report));
    for (const row of report.rows) console.error(JSON.stringify(row));
  }
}
