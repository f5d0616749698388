/**
 * `deno run --allow-read bench/profile_summary.ts <file.cpuprofile> [N]`: the top N (default 25)
 * entries of a V8 CPU profile by self time, merged by function and file, then by file alone,
 * with their share of all samples. `deno task bench --profile` writes such a profile of the gateway under the
 * revalidation load and prints this summary.
 */

interface ProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
}

/** The parts of a `.cpuprofile` (Chrome DevTools format) the summary reads. */
export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface SelfTime {
  /** `function file:line`, the file shortened to what follows the last `/src/`, `/npm/`… */
  readonly entry: string;
  readonly ms: number;
  readonly share: number;
}

function shortFile(url: string): string {
  if (url === "") return "(native)";
  const marker = ["/src/", "/node_modules/", "/npm/registry.npmjs.org/", "/ext/", "/bench/"]
    .find((m) => url.includes(m));
  return marker ? url.slice(url.lastIndexOf(marker) + 1) : url.replace(/^.*\//, "");
}

/**
 * Self time per function and file (`by: "function"`), or per file alone (`by: "file"`: where a
 * layer's cost is spread over many small functions), most first.
 */
export function selfTimes(profile: CpuProfile, by: "function" | "file" = "function"): SelfTime[] {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const totals = new Map<string, number>();
  let all = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    const delta = profile.timeDeltas[i] ?? 0;
    all += delta;
    if (!node) return;
    const { functionName, url, lineNumber } = node.callFrame;
    const name = functionName || "(anonymous)";
    const entry = by === "file"
      ? (url === "" ? name : shortFile(url))
      : `${name}${url === "" ? "" : ` ${shortFile(url)}:${lineNumber + 1}`}`;
    totals.set(entry, (totals.get(entry) ?? 0) + delta);
  });
  return [...totals]
    .map(([entry, us]) => ({ entry, ms: us / 1000, share: all > 0 ? us / all : 0 }))
    .sort((a, b) => b.ms - a.ms);
}

/** The summary as printed: one line per entry. */
export function formatSelfTimes(times: readonly SelfTime[], top: number): string {
  return times.slice(0, top)
    .map((t) =>
      `${(t.share * 100).toFixed(1).padStart(5)} % ${t.ms.toFixed(0).padStart(7)} ms  ${t.entry}`
    )
    .join("\n");
}

if (import.meta.main) {
  const [file, top = "25"] = Deno.args;
  if (!file) {
    console.error("usage: deno run --allow-read bench/profile_summary.ts <file.cpuprofile> [N]");
    Deno.exit(2);
  }
  const profile: CpuProfile = JSON.parse(await Deno.readTextFile(file));
  console.log(formatSelfTimes(selfTimes(profile), Number(top)));
  console.log("\nby file:");
  console.log(formatSelfTimes(selfTimes(profile, "file"), Number(top)));
}
