/**
 * What goes upstream for an identified request: GitHub's URL for its target, the client's
 * headers without its identity, the rate-limit resource and the client it is for. The cache
 * and the forwarder send the same request, each with its own body and conditions.
 */
import type { Context } from "hono";
import type { GatewayEnv } from "./app.ts";
import { inferResource } from "./credentials/resource.ts";
import { upstreamRequestHeaders } from "./http/headers.ts";
import type { UpstreamRequest } from "./http/upstream.ts";

const GRAPHQL_PATHS = new Set(["/graphql", "/api/graphql"]);

export interface GitHubUrls {
  readonly githubApiUrl: string;
  readonly githubGraphqlUrl: string;
}

/** The request's upstream part, without body: the callers add theirs. */
export type Outgoing = Omit<UpstreamRequest, "body" | "replayable">;

export function outgoing(c: Context<GatewayEnv>, urls: GitHubUrls): Outgoing {
  const target = c.get("target");
  const isGraphql = GRAPHQL_PATHS.has(target.path) && target.enterprisePrefix === "";
  const base = isGraphql ? urls.githubGraphqlUrl : `${urls.githubApiUrl}${target.path}`;
  return {
    // Scopes match methods case-insensitively; `get` goes upstream as the `GET` authorised.
    method: c.req.method.toUpperCase(),
    url: target.query ? `${base}?${target.query}` : base,
    headers: upstreamRequestHeaders(c.req.raw.headers),
    resource: inferResource(isGraphql ? "/graphql" : target.path),
    client: c.get("client").name,
    // Aborts when the client disconnects: the upstream call it was waiting for stops.
    signal: c.req.raw.signal,
  };
}
