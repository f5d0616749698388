/**
 * Runner-token endpoints, a drop-in for the GitHub Runner Token Proxy: `POST /register` and
 * `POST /remove` with `{"scope": "org" | "org/repo" | "enterprise:slug"}`. Each becomes the
 * matching GitHub call, which then passes through the same authorize layer and forwarder as
 * any other request: the client's scopes must allow that underlying call.
 */
import type { MiddlewareHandler } from "hono";
import type { AuthorizeVariables } from "../authorize/authorize.ts";
import type { IdentifyVariables } from "../identify/identify.ts";
import { readUpTo } from "../http/body.ts";
import { githubError } from "../http/errors.ts";
import { normalisePath, requestTarget } from "../identify/target.ts";

export type RunnerTokenKind = "registration" | "remove";

const MAX_BODY_BYTES = 16 * 1024;
/** GitHub login, repository and enterprise slug characters; `.`/`..` fail normalisation. */
const NAME = "[A-Za-z0-9._-]+";
const ORG = new RegExp(`^(${NAME})$`);
const REPO = new RegExp(`^(${NAME})/(${NAME})$`);
const ENTERPRISE = new RegExp(`^enterprise:(${NAME})$`);

export type RunnerPath =
  | { readonly ok: true; readonly path: string }
  | { readonly ok: false; readonly reason: string };

/** The GitHub path that mints a `kind` token for `scope`, or why `scope` is not one. */
export function runnerTokenPath(kind: RunnerTokenKind, scope: unknown): RunnerPath {
  const endpoint = `actions/runners/${kind}-token`;
  if (typeof scope !== "string") return { ok: false, reason: '"scope" must be a string' };
  const enterprise = ENTERPRISE.exec(scope);
  const repo = REPO.exec(scope);
  const org = ORG.exec(scope);
  const path = enterprise
    ? `/enterprises/${enterprise[1]}/${endpoint}`
    : repo
    ? `/repos/${repo[1]}/${repo[2]}/${endpoint}`
    : org
    ? `/orgs/${org[1]}/${endpoint}`
    : undefined;
  const normalised = path === undefined ? undefined : normalisePath(path);
  if (!normalised?.ok || normalised.target.path !== path) {
    return {
      ok: false,
      reason: '"scope" must be "org", "org/repo" or "enterprise:slug"',
    };
  }
  return { ok: true, path };
}

/**
 * The one stage that wraps the rest of the chain: it replaces the `target` identify set with the
 * GitHub call for the runner scope (and an empty `requestBody`), lets authorize and forward
 * handle that call like any other, then reshapes GitHub's 201 into `{token, expires_at}`;
 * GitHub's errors pass as they came.
 */
export function rewriteToRunnerTokenCall(
  kind: RunnerTokenKind,
): MiddlewareHandler<{ Variables: IdentifyVariables & AuthorizeVariables }> {
  return async (c, next) => {
    const body = await readUpTo(c.req.raw, MAX_BODY_BYTES);
    if (body instanceof ReadableStream) {
      await body.cancel();
      return githubError(413, "Request body too large");
    }
    let scope: unknown;
    try {
      scope = (JSON.parse(new TextDecoder().decode(body)) as { scope?: unknown } | null)?.scope;
    } catch {
      return githubError(400, 'Problems parsing JSON: send {"scope": "org"}');
    }
    const target = runnerTokenPath(kind, scope);
    if (!target.ok) return githubError(400, `Invalid runner scope: ${target.reason}`);
    c.set(
      "target",
      requestTarget("POST", { path: target.path, query: "", enterprisePrefix: "", upload: false }),
    );
    c.set("requestBody", new Uint8Array());
    await next();
    if (c.res.status !== 201) return;
    try {
      const minted = await c.res.json() as { token?: unknown; expires_at?: unknown };
      c.res = c.json({ token: minted.token, expires_at: minted.expires_at }, 201);
    } catch {
      c.res = githubError(502, "GitHub answered with an unreadable runner token");
    }
  };
}
