/**
 * Derives `deno.runtime.lock` from `deno.lock`: the same pinned versions and integrity hashes,
 * restricted to the npm packages `main.ts` imports and their dependencies. `deno task start`,
 * `dev` and `compile` run with `--lock=deno.runtime.lock --frozen`, because Deno installs every
 * package of the lockfile it is given: with `deno.lock` a first start would download what only
 * tests and development scripts use (PyGithub's Octokit peers, the throttling plugin, …).
 *
 *   deno task lock       rewrites deno.runtime.lock after a dependency change
 */

/** The parts of a Deno lockfile (version 5) this script reads and writes. */
export interface Lockfile {
  readonly version: string;
  readonly specifiers: Readonly<Record<string, string>>;
  readonly npm: Readonly<Record<string, { readonly dependencies?: readonly string[] }>>;
  readonly [other: string]: unknown;
}

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
/** The lockfile the launcher's run and compile commands use. */
export const RUNTIME_LOCK = `${ROOT}/deno.runtime.lock`;

/** `name@version[_peers]` → the package name. */
const nameOf = (key: string) => key.slice(0, key.indexOf("@", 1));

/**
 * The lock entry a dependency names: `name@version` when the lock holds several versions,
 * else the bare `name` of its only one.
 */
function entryOf(lock: Lockfile, dependency: string): string {
  const keys = Object.keys(lock.npm);
  const exact = dependency.indexOf("@", 1) > 0
    ? keys.filter((key) => key === dependency || key.startsWith(`${dependency}_`))
    : keys.filter((key) => nameOf(key) === dependency);
  if (exact.length !== 1) throw new Error(`deno.lock: cannot resolve dependency ${dependency}`);
  return exact[0];
}

/**
 * `lock` restricted to the npm specifiers `roots` (`npm:hono@4.13.19`, …) and everything they
 * depend on; other sections (the workspace's declared imports) are kept as they are, so Deno
 * sees the lockfile as current for this configuration.
 */
export function runtimeLock(lock: Lockfile, roots: readonly string[]): Lockfile {
  const specifiers: Record<string, string> = {};
  const npm: Record<string, Lockfile["npm"][string]> = {};
  const pending: string[] = [];
  for (const root of [...roots].sort()) {
    const version = lock.specifiers[root];
    if (version === undefined) throw new Error(`deno.lock has no entry for ${root}`);
    specifiers[root] = version;
    pending.push(`${nameOf(root.slice("npm:".length))}@${version}`);
  }
  while (pending.length > 0) {
    const key = pending.pop()!;
    if (key in npm) continue;
    npm[key] = lock.npm[key];
    for (const dependency of lock.npm[key].dependencies ?? []) {
      pending.push(entryOf(lock, dependency));
    }
  }
  const sortedNpm = Object.fromEntries(Object.entries(npm).sort(([a], [b]) => a < b ? -1 : 1));
  return { ...lock, specifiers, npm: sortedNpm };
}

/** The npm specifiers `main.ts`'s module graph imports, as `deno info --json` reports them. */
export async function runtimeRoots(): Promise<string[]> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", `${ROOT}/main.ts`],
    cwd: ROOT,
    stderr: "inherit",
  }).output();
  if (!output.success) throw new Error("deno info main.ts failed");
  const info = JSON.parse(new TextDecoder().decode(output.stdout));
  const roots = Object.keys(info.redirects ?? {}).flatMap((specifier) => {
    const root = npmRoot(specifier);
    return root ? [root] : [];
  });
  return [...new Set(roots)];
}

/**
 * The lock's specifier for an npm import: `npm:/hono@4.13.19/jsx/jsx-runtime` (a subpath, as the
 * `hono/` import map entry spells it) is locked as `npm:hono@4.13.19`.
 */
export function npmRoot(specifier: string): string | undefined {
  const match = /^npm:\/?((?:@[^/@]+\/)?[^/@]+)@([^/]+)/.exec(specifier);
  return match ? `npm:${match[1]}@${match[2]}` : undefined;
}

/** The text `deno.runtime.lock` should hold for the current `deno.lock` and `main.ts`. */
export async function expectedRuntimeLock(): Promise<string> {
  const lock = JSON.parse(await Deno.readTextFile(`${ROOT}/deno.lock`)) as Lockfile;
  return `${JSON.stringify(runtimeLock(lock, await runtimeRoots()), null, 2)}\n`;
}

if (import.meta.main) {
  await Deno.writeTextFile(RUNTIME_LOCK, await expectedRuntimeLock());
  console.log(`wrote ${RUNTIME_LOCK}`);
}
