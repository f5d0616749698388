/**
 * GitHub-shaped JSON errors, what every GitHub client already knows how to read; and the one
 * summary of a caught error that is safe to log.
 */
import { redactUserinfo } from "../redact.ts";

const DOCS = "https://docs.github.com/rest";

/**
 * `{"message", "documentation_url"}` as GitHub answers errors. `message` is GitHub's own wording
 * where GitHub has one, since clients classify errors by it (PyGithub's `BadCredentialsException`
 * wants exactly "Bad credentials"); the gateway's explanation goes in `detail`, beside it.
 */
export function githubError(
  status: number,
  message: string,
  headers: HeadersInit = {},
  documentationUrl = DOCS,
  detail?: string,
): Response {
  const body = detail === undefined
    ? { message, documentation_url: documentationUrl }
    : { message, detail, documentation_url: documentationUrl };
  const response = new Response(JSON.stringify(body), { status, headers });
  response.headers.set("content-type", "application/json; charset=utf-8");
  return response;
}

/** Longest summary: a client's first line can still quote a whole request. */
const SUMMARY_CHARS = 200;

/**
 * A caught error as one log-safe line. An HTTP client's error (one with a numeric `status`, such
 * as Octokit's) is only its status: its message and request may quote a token or a key. Any
 * other error is its kind and first line, without what some clients append (Redis's `, command
 * was:` and the values) and without a URL's userinfo (fetch errors quote the URL).
 */
export function safeErrorSummary(error: unknown): string {
  if (
    typeof error === "object" && error !== null && "status" in error &&
    typeof error.status === "number"
  ) {
    return `answered HTTP ${error.status}`;
  }
  if (!(error instanceof Error)) return redactUserinfo(String(error).slice(0, SUMMARY_CHARS));
  const message = error.message.split(/, command was:|\n/)[0].slice(0, SUMMARY_CHARS);
  return redactUserinfo(`${error.name}: ${message}`);
}
