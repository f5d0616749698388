/**
 * Real clients for end-to-end tests: Octokit pointed at the gateway, and curl (which, unlike
 * `fetch`, sends any header and a path exactly as written).
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
