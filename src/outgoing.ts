/**
 * What goes upstream for an identified request: GitHub's URL for its target, the client's
 * headers without its identity, the rate-limit resource and the client it is for. The cache
 * and the forwarder send the same request, each with its own body and conditions.
 */
import { inferResource } from "./credentials/resource.ts";
import { upstreamRequestHeaders } from "./http/headers.ts";
import { type UrlMap, urlMap } from "./http/links.ts";
import type { UpstreamRequest } from "./http/upstream.ts";
import type { IdentifyVariables } from "./identify/identify.ts";

export interface GitHubUrls {
  readonly githubApiUrl: string;
  readonly githubGraphqlUrl: string;
  readonly githubUploadsUrl: string;
}

/** GitHub's bases, each with the one the client reached the gateway at in its place. */
export function clientLinks(
  urls: GitHubUrls,
  { clientBase, clientUploadsBase }: Pick<IdentifyVariables, "clientBase" | "clientUploadsBase">,
): UrlMap {
  return urlMap(
    { api: urls.githubApiUrl, uploads: urls.githubUploadsUrl },
    { api: clientBase, uploads: clientUploadsBase },
  );
}

/** The request's upstream part, without body: the callers add theirs. */
export type Outgoing = Omit<UpstreamRequest, "body" | "replayable">;

/** The upstream request for `request`, as identify understood it. */
export function outgoing(
  request: Request,
  { target, client }: Pick<IdentifyVariables, "target" | "client">,
  urls: GitHubUrls,
): Outgoing {
  // GitHub's spelling of the endpoint goes to the GraphQL URL; through `/api/v3`, or
  // mis-cased, the path is sent to the REST base as written.
  const toGraphql = target.graphql === "endpoint" && target.enterprisePrefix === "";
  const base = toGraphql ? urls.githubGraphqlUrl : `${urls.githubApiUrl}${target.path}`;
  return {
    method: target.method,
    url: target.query ? `${base}?${target.query}` : base,
    headers: upstreamRequestHeaders(request.headers),
    resource: inferResource(target),
    client: client.name,
    // Aborts when the client disconnects: the upstream call it was waiting for stops.
    signal: request.signal,
  };
}
