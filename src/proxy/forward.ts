/**
 * The forwarding handler: sends the authorised request to GitHub with a pool credential and
 * streams the answer back with rewritten links.
 */
import type { Context } from "hono";
import type { GatewayEnv } from "../app.ts";
import type { Config } from "../config.ts";
import type { CredentialPool } from "../credentials/pool.ts";
import { inferResource } from "../credentials/resource.ts";
import { githubError } from "../http/errors.ts";
import type { TelemetrySink } from "../telemetry/events.ts";
import type { Logger } from "../telemetry/log.ts";
import { clientResponseHeaders, upstreamRequestHeaders } from "./headers.ts";
import { rewriteLocationHeaders } from "./links.ts";
import { UpstreamError, type UpstreamFetch } from "./upstream.ts";

const GRAPHQL_PATHS = new Set(["/graphql", "/api/graphql"]);

export interface ForwarderDeps {
  readonly config: Config;
  readonly pool: CredentialPool;
  readonly logger: Logger;
  readonly upstream: UpstreamFetch;
  readonly sink: TelemetrySink;
}

export function forwarder(
  { config, pool, logger, upstream, sink }: ForwarderDeps,
): (c: Context<GatewayEnv>) => Promise<Response> {
  return async (c) => {
    const target = c.get("target");
    const isGraphql = GRAPHQL_PATHS.has(target.path) && target.enterprisePrefix === "";
    const base = isGraphql ? config.githubGraphqlUrl : `${config.githubApiUrl}${target.path}`;
    const url = target.query ? `${base}?${target.query}` : base;
    const method = c.req.method;
    const headers = upstreamRequestHeaders(c.req.raw.headers);
    const body = method === "GET" || method === "HEAD" ? null : c.req.raw.body;
    const resource = inferResource(isGraphql ? "/graphql" : target.path);
    const started = performance.now();
    try {
      const answer = await pool.call({
        resource,
        send: (authorization) => {
          if (authorization) headers.set("authorization", authorization);
          else headers.delete("authorization");
          return upstream({ method, url, headers, body });
        },
      });
      const response = answer.response;
      const ms = performance.now() - started;
      c.set("upstream", { credential: answer.credential, ms });
      sink.upstreamRequest({
        client: c.get("client").name,
        credential: answer.credential,
        resource: response.headers.get("x-ratelimit-resource") ?? resource,
        status: response.status,
        seconds: ms / 1000,
        points: pointsSpent(response),
      });
      const out = clientResponseHeaders(response.headers);
      rewriteLocationHeaders(out, config.githubApiUrl, c.get("clientBase"));
      out.set("cache-status", "github-proxy; fwd=bypass");
      return new Response(method === "HEAD" ? null : response.body, {
        status: response.status,
        statusText: response.statusText,
        headers: out,
      });
    } catch (error) {
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

/** GitHub charges a point for every answer but a 304 and a refusal for an exhausted limit. */
export function pointsSpent(response: Response): number {
  if (response.status === 304 || !response.headers.has("x-ratelimit-remaining")) return 0;
  const refused = (response.status === 403 || response.status === 429) &&
    (response.headers.get("x-ratelimit-remaining") === "0" || response.headers.has("retry-after"));
  return refused ? 0 : 1;
}
