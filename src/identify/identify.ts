/**
 * The identify stage (DESIGN §3, layer 1): who is asking, and for what. Every request's target
 * is worked out here once (mount prefix removed, path normalised, method upper-cased, GraphQL
 * recognised) and its client token looked up in the registry; later stages read both from the
 * context.
 */
import type { MiddlewareHandler } from "hono";
import { sha256, timingSafeEqual } from "../digest.ts";
import { githubError } from "../http/errors.ts";
import type { Client, Registry } from "../registry/model.ts";
import type { RegistrySource } from "../registry/store.ts";
import { type Logger, silentLogger } from "../log.ts";
import { type BaseSettings, clientBase, type RejectedHeader } from "./client_base.ts";
import { ClientMemo } from "./client_memo.ts";
import { clientTokenOf } from "./client_token.ts";
import {
  authorityProblem,
  normalisePath,
  type RequestTarget,
  requestTarget,
  splitRawUrl,
} from "./target.ts";

const NO_TOKEN = "send a github-proxy client token as Authorization: token <t> (or Bearer <t>)";

/** What identify puts in the context for the stages after it. */
export type IdentifyVariables = {
  target: RequestTarget;
  /**
   * Where the client reached the gateway (see `client_base.ts`): origin, mount prefix and
   * `/api/v3` when used.
   */
  clientBase: string;
  /** Where the same client's release-asset uploads go: origin, mount prefix, `/api/uploads`. */
  clientUploadsBase: string;
  client: Client;
};

/**
 * Refuses (400) a request whose `Host` or authority is not a plain `host[:port]`. It runs before
 * every route: a hostile `Host` would otherwise choose the route (`/metrics`) and the path.
 */
export function authority(): MiddlewareHandler {
  return async (c, next) => {
    const problem = authorityProblem(c.req.raw.url, c.req.header("host"));
    if (problem) return githubError(400, `Malformed request: ${problem}`);
    await next();
  };
}

/**
 * Sets `target`, `clientBase`, `clientUploadsBase` and `client`, or answers 400 for a path that
 * cannot be authorised safely and 401 for a missing or unknown client token. A malformed
 * trusted proxy header is logged the first time its kind is seen, not on every request.
 */
export function identify(
  registry: RegistrySource,
  settings: BaseSettings = { trustProxyHeaders: false },
  logger: Logger = silentLogger,
): MiddlewareHandler<{ Variables: IdentifyVariables }> {
  const logged = new Set<RejectedHeader>();
  const clients = new ClientMemo(findClient);
  return async (c, next) => {
    // Mounted under a prefix (`app.route("/github", …)`), the route is `/github/*`.
    const mount = c.req.routePath.replace(/\/?\*$/, "");
    const raw = splitRawUrl(c.req.raw.url);
    const parsed = normalisePath(raw.path.slice(mount.length) || "/", raw.query);
    if (!parsed.ok) return githubError(400, `Malformed request path: ${parsed.reason}`);
    c.set("target", requestTarget(c.req.method, parsed.target));
    const base = clientBase({
      origin: raw.origin,
      headers: c.req.raw.headers,
      mount,
      enterprisePrefix: parsed.target.enterprisePrefix,
    }, settings);
    for (const header of base.rejected) {
      if (logged.has(header)) continue;
      logged.add(header);
      logger.warn("ignored a malformed proxy header (logged once per kind)", { header });
    }
    c.set("clientBase", base.api);
    c.set("clientUploadsBase", base.uploads);
    const authorization = c.req.header("authorization");
    const client = clients.client(registry.current, authorization);
    if (!client) {
      // GitHub's words, which clients match exactly (PyGithub: `BadCredentialsException`).
      return clientTokenOf(authorization) === undefined
        ? githubError(401, "Requires authentication", {}, undefined, NO_TOKEN)
        : githubError(401, "Bad credentials", {}, undefined, "unknown github-proxy client token");
    }
    c.set("client", client);
    await next();
  };
}

/**
 * The client holding `token`, comparing digests in constant time against every client, so the
 * time taken says nothing about which client (if any) came close.
 */
export function findClient(registry: Registry, token: string): Client | undefined {
  const digest = sha256(token);
  let found: Client | undefined;
  for (const client of registry.clients) {
    if (timingSafeEqual(digest, client.tokenDigest) && !found) found = client;
  }
  return found;
}
