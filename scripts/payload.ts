/**
 * What `deno task compile` embeds, measured without building: the local modules of `main.ts`'s
 * graph and the npm packages of the runtime lockfile, less what the build excludes (tests,
 * types-only packages). An upper bound of the binary's payload (`deno compile` embeds whole
 * package directories, deduplicated).
 *
 *   deno run --allow-read --allow-run scripts/payload.ts      prints the sizes
 */
import { buildExclusions, ENTRY_POINT, npmCacheDirectory } from "./launch.ts";
import { RUNTIME_LOCK } from "./runtime_lock.ts";

/** The measured payload, in bytes. */
export interface Payload {
  /** Local modules of the graph (`src/`, `main.ts`, the route templates, `deno.json`). */
  readonly localBytes: number;
  /** Each embedded npm package, `name@version`, with its bytes after exclusions. */
  readonly packages: Readonly<Record<string, number>>;
  readonly totalBytes: number;
}

function bytesUnder(path: string, excluded: ReadonlySet<string>): number {
  if (excluded.has(path)) return 0;
  const stat = Deno.statSync(path);
  if (!stat.isDirectory) return stat.size;
  let total = 0;
  for (const entry of Deno.readDirSync(path)) {
    total += bytesUnder(`${path}/${entry.name}`, excluded);
  }
  return total;
}

/** Measures the payload `deno task compile` would embed now. */
export async function measurePayload(): Promise<Payload> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", `--lock=${RUNTIME_LOCK}`, "--frozen", ENTRY_POINT],
    stderr: "inherit",
  }).output();
  if (!output.success) throw new Error("deno info main.ts failed");
  const info = JSON.parse(new TextDecoder().decode(output.stdout));
  const npmCache = await npmCacheDirectory();
  if (!npmCache) throw new Error("deno info reports no npm cache");
  const excluded = new Set(buildExclusions(npmCache));
  const localBytes = (info.modules as { local?: string; size?: number }[])
    .filter((module) => module.local !== undefined)
    .reduce((sum, module) => sum + (module.size ?? 0), 0);
  const packages: Record<string, number> = {};
  for (
    const [key, { name, version }] of Object.entries(info.npmPackages ?? {}) as [
      string,
      { name: string; version: string },
    ][]
  ) {
    packages[key] = bytesUnder(`${npmCache}/registry.npmjs.org/${name}/${version}`, excluded);
  }
  const npmBytes = Object.values(packages).reduce((sum, bytes) => sum + bytes, 0);
  return { localBytes, packages, totalBytes: localBytes + npmBytes };
}

if (import.meta.main) {
  const payload = await measurePayload();
  const mb = (bytes: number) => `${(bytes / 1e6).toFixed(2)} MB`;
  for (const [name, bytes] of Object.entries(payload.packages).sort(([, a], [, b]) => b - a)) {
    console.log(`${mb(bytes).padStart(9)}  ${name}`);
  }
  console.log(`${mb(payload.localBytes).padStart(9)}  local modules`);
  console.log(`${mb(payload.totalBytes).padStart(9)}  total`);
}
