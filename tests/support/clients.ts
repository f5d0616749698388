/**
 * Real clients for end-to-end tests: Octokit pointed at the gateway, curl (which, unlike
 * `fetch`, sends any header and a path exactly as written), PyGithub and gh, the last two run
 * as the Debian packages install them, in an environment with nothing of the machine's.
 */
import { Octokit } from "@octokit/rest";
import { TEST_TOKEN } from "./gateway.ts";

const quiet = () => {};
const QUIET = { debug: quiet, info: quiet, warn: quiet, error: quiet };

/** Octokit with `baseUrl` at the gateway, authenticated with the test client's token. */
export function octokitAt(baseUrl: string, token = TEST_TOKEN): Octokit {
  return new Octokit({ baseUrl, auth: token, log: QUIET });
}

export interface CurlAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
}

/** Runs `curl -sS -i --path-as-is <args> <url>` and splits the final answer (after any 1xx). */
export async function curl(url: string, args: readonly string[] = []): Promise<CurlAnswer> {
  const output = await new Deno.Command("curl", {
    args: ["-sS", "-i", "--path-as-is", ...args, url],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) throw new Error(`curl failed: ${new TextDecoder().decode(output.stderr)}`);
  let text = new TextDecoder().decode(output.stdout);
  while (/^HTTP\/[\d.]+ 1\d\d/.test(text)) text = text.slice(text.indexOf("\r\n\r\n") + 4);
  const split = text.indexOf("\r\n\r\n");
  const [statusLine, ...lines] = text.slice(0, split).split("\r\n");
  const headers = new Headers();
  for (const line of lines) {
    const colon = line.indexOf(":");
    headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  return { status: Number(statusLine.split(" ")[1]), headers, body: text.slice(split + 4) };
}

/** Debian's python, where `python3-github` installs PyGithub (not a pyenv python on PATH). */
const SYSTEM_PYTHON = "/usr/bin/python3";
const PYGITHUB_SCRIPT = new URL("./pygithub_client.py", import.meta.url).pathname;

/** An environment with nothing of the machine's: no proxy, no token, no user configuration. */
function isolatedEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: "/usr/local/bin:/usr/bin:/bin",
    HOME: home,
    LANG: "C.UTF-8",
    NO_PROXY: "*",
    ...extra,
  };
}

async function run(
  command: string,
  args: readonly string[],
  env: Record<string, string>,
): Promise<{ success: boolean; stdout: string; stderr: string }> {
  const output = await new Deno.Command(command, {
    args: [...args],
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const decoder = new TextDecoder();
  return {
    success: output.success,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/**
 * Fails (never skips) when a client is missing, naming the Debian package that provides it, which
 * `.ci/run` installs.
 */
async function requireClient(label: string, pkg: string, command: string, args: string[]) {
  let found = false;
  try {
    found = (await run(command, args, isolatedEnv("/tmp"))).success;
  } catch {
    found = false;
  }
  if (!found) {
    throw new Error(
      `${label} not found: install the Debian package ${pkg} (apt-get install ${pkg}; .ci/run does)`,
    );
  }
}

/** Runs one scenario of `pygithub_client.py` against `baseUrl`; its JSON output. */
export async function runPyGithub(
  scenario: "hypermedia" | "errors",
  baseUrl: string,
  token: string,
): Promise<Record<string, unknown>> {
  await requireClient("PyGithub for /usr/bin/python3", "python3-github", SYSTEM_PYTHON, [
    "-c",
    "import github",
  ]);
  const home = await Deno.makeTempDir({ prefix: "github-proxy-pygithub-" });
  try {
    const result = await run(
      SYSTEM_PYTHON,
      [PYGITHUB_SCRIPT, scenario, baseUrl, token],
      isolatedEnv(home, { PYTHONDONTWRITEBYTECODE: "1" }),
    );
    if (!result.success) throw new Error(`PyGithub ${scenario} failed:\n${result.stderr}`);
    return JSON.parse(result.stdout);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

/**
 * Runs `gh <args>` against a GitHub Enterprise Server host (`GH_HOST`, `GH_ENTERPRISE_TOKEN`),
 * trusting `caFile`, with a throwaway configuration; its stdout.
 */
export async function runGh(
  args: readonly string[],
  options: { host: string; token: string; caFile: string },
): Promise<string> {
  await requireClient("gh (GitHub CLI)", "gh", "gh", ["--version"]);
  const home = await Deno.makeTempDir({ prefix: "github-proxy-gh-" });
  try {
    const result = await run(
      "gh",
      args,
      isolatedEnv(home, {
        GH_HOST: options.host,
        GH_ENTERPRISE_TOKEN: options.token,
        GH_CONFIG_DIR: `${home}/gh`,
        GH_NO_UPDATE_NOTIFIER: "1",
        GH_PROMPT_DISABLED: "1",
        NO_COLOR: "1",
        SSL_CERT_FILE: options.caFile,
      }),
    );
    if (!result.success) throw new Error(`gh ${args.join(" ")} failed:\n${result.stderr}`);
    return result.stdout;
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}
