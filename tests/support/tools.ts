/** Command-line tools some tests use (promtool, chromium): found on PATH, required under CI. */

/** The absolute path of `name` on PATH, or undefined when it is not installed. */
export function findTool(name: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir === "") continue;
    try {
      const path = `${dir}/${name}`;
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // Not in this directory.
    }
  }
  return undefined;
}

/**
 * The first of `names` found on PATH. Missing, it fails the test under CI (`CI` set, as
 * `.ci/run` does), naming the Debian package to install; elsewhere it is undefined and the test
 * says it is skipped, so a developer without the tool can still run the rest.
 */
export function requiredTool(names: readonly string[], debianPackage: string): string | undefined {
  for (const name of names) {
    const path = findTool(name);
    if (path) return path;
  }
  const missing = `${
    names[0]
  } is not installed (Debian package ${debianPackage}; .ci/run installs it)`;
  if (Deno.env.get("CI")) throw new Error(`${missing}: install ${debianPackage} (CI is set)`);
  console.log(`skipped: ${missing}`);
  return undefined;
}

/** Runs `tool` with `args`, `stdin` as input; its exit code and both outputs as text. */
export async function runTool(
  tool: string,
  args: readonly string[],
  stdin?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(tool, {
    args: [...args],
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const output = await child.output();
  const text = new TextDecoder();
  return {
    code: output.code,
    stdout: text.decode(output.stdout),
    stderr: text.decode(output.stderr),
  };
}
