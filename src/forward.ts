/**
 * The forwarding handler: sends the authorised request to GitHub with a pool credential and
 * streams the answer back with rewritten links.
 */
import type { Context } from "hono";
import type { Config } from "./config.ts";
import type { CredentialPool, Requester } from "./credentials/pool.ts";
import { inferResource } from "./credentials/resource.ts";
import { githubError } from "./http/errors.ts";
import type { IdentifyVariables } from "./identify/identify.ts";
import type { AuthorizeVariables } from "./authorize/authorize.ts";
import type { Logger } from "./log.ts";
import type { CacheLayer } from "./cache/layer.ts";
import { clientResponseHeaders, upstreamRequestHeaders } from "./http/headers.ts";
import { idleBounded } from "./http/idle_stream.ts";
import { rewriteLinks } from "./http/links.ts";
import { prepareBody } from "./http/body.ts";
import { UpstreamError, type UpstreamFetch } from "./http/upstream.ts";

/** What the forwarder puts in the context: the upstream call that answered, for the access log. */
export type UpstreamVariables = {
  upstream: { credential: string; ms: number };
};

export interface ForwarderDeps {
  readonly config: Config;
  readonly pool: CredentialPool;
  readonly logger: Logger;
  readonly upstream: UpstreamFetch;
  /** Answers GET and HEAD from the shared cache when it may; absent: every request forwards. */
  readonly cache?: CacheLayer;
}

export function forwarder(
  { config, pool, logger, upstream, cache }: ForwarderDeps,
): (
  c: Context<{ Variables: IdentifyVariables & AuthorizeVariables & UpstreamVariables }>,
) => Promise<Response> {
  return async (c) => {
    const target = c.get("target");
    const { method } = target;
    // GitHub's spelling of the endpoint goes to the GraphQL URL; through `/api/v3`, or
    // mis-cased, the path is sent to the REST base as written.
    const toGraphql = target.graphql === "endpoint" && target.enterprisePrefix === "";
    const base = toGraphql ? config.githubGraphqlUrl : `${config.githubApiUrl}${target.path}`;
    const url = target.query ? `${base}?${target.query}` : base;
    const headers = upstreamRequestHeaders(c.req.raw.headers);
    const buffered = c.get("requestBody");
    const { body, replayable } = method === "GET" || method === "HEAD"
      ? { body: null, replayable: true }
      : buffered
      ? { body: buffered, replayable: true }
      : await prepareBody(c.req.raw);
    const resource = inferResource(target);
    // Aborts when the client disconnects: the upstream call it was waiting for stops.
    const signal = c.req.raw.signal;
    const requester: Requester = {
      client: c.get("client").name,
      answered: (credential, ms) => c.set("upstream", { credential, ms }),
    };
    try {
      if (cache && (method === "GET" || method === "HEAD")) {
        const cached = await cache.handle({
          method,
          url,
          target,
          clientHeaders: c.req.raw.headers,
          upstreamHeaders: headers,
          resource,
          clientBase: c.get("clientBase"),
          maxAgeSeconds: c.get("client").maxAgeSeconds,
          requester,
          signal,
        });
        if (cached) return cached;
      }
      const answer = await pool.call({
        resource,
        replayable,
        requester,
        send: (authorization) => {
          if (authorization) headers.set("authorization", authorization);
          else headers.delete("authorization");
          return upstream({ method, url, headers, body, signal });
        },
      });
      const response = answer.response;
      const out = clientResponseHeaders(response.headers);
      rewriteLinks(out, config.githubApiUrl, c.get("clientBase"));
      out.set("cache-status", "github-proxy; fwd=bypass");
      const streamed = method === "HEAD" || response.body === null
        ? null
        : idleBounded(response.body, config.upstreamTimeoutMs);
      return new Response(streamed, {
        status: response.status,
        statusText: response.statusText,
        headers: out,
      });
    } catch (error) {
      // No one reads this answer; it only keeps a client that left out of the error log.
      if (signal.aborted) return githubError(499, "Client closed the request");
      if (error instanceof UpstreamError) {
        logger.warn("upstream call failed", { path: target.path, failure: error.failure });
        return error.failure === "timeout"
          ? githubError(504, "GitHub did not answer in time")
          : githubError(502, "GitHub could not be reached");
      }
      throw error;
    }
  };
}
