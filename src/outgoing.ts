/**
 * What goes upstream for an identified request: GitHub's URL for its target, the client's
 * headers without its identity, the rate-limit resource and the client it is for. The cache
 * and the forwarder send the same request, each with its own body and conditions.
 */
import { classifyGraphqlRequest } from "./authorize/graphql_operation.ts";
import type { OperationType } from "./authorize/scopes.ts";
import { inferResource } from "./credentials/resource.ts";
import { pathAccount } from "./credentials/routing.ts";
import { upstreamRequestHeaders } from "./http/headers.ts";
import { type UrlMap, urlMap } from "./http/links.ts";
import type { UpstreamRequest } from "./http/upstream.ts";
import type { IdentifyVariables } from "./identify/identify.ts";
import type { RequestTarget } from "./identify/target.ts";

/** Where GitHub serves its three APIs (see `Config`). */
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
  const base = upstreamUrl(target, urls);
  return {
    method: target.method,
    url: target.query ? `${base}?${target.query}` : base,
    headers: upstreamRequestHeaders(request.headers),
    ownHeaders: true,
    resource: inferResource(target),
    client: client.name,
    // GraphQL names no account in its path: the pool's usual choice.
    ...(target.graphql === "endpoint" ? {} : { account: pathAccount(target.path) }),
    ...(client.githubToken ? { narrowing: client.githubToken } : {}),
  };
}

/**
 * GitHub's URL for `target`, without the query. Every spelling GitHub gives its GraphQL endpoint
 * (`/graphql`, `/api/graphql`, either under `/api/v3`) reaches the GraphQL URL — on GHES that is
 * `/api/graphql`, which `<api>/graphql` is not; a mis-cased one goes to the REST base as written.
 * Uploads go to the uploads root.
 */
export function upstreamUrl(
  target: Pick<RequestTarget, "path" | "graphql" | "upload">,
  urls: GitHubUrls,
): string {
  if (target.upload) return `${urls.githubUploadsUrl}${target.path}`;
  if (target.graphql === "endpoint") return urls.githubGraphqlUrl;
  return `${urls.githubApiUrl}${target.path}`;
}

/**
 * Whether a request writes, as GitHub's secondary limits count writes: every method but GET,
 * HEAD and OPTIONS, except a GraphQL query. The operation is authorize's reading when it made
 * one, else read from the buffered body; a GraphQL body that cannot be read counts as a write.
 */
export function isMutating(
  method: string,
  graphql: boolean,
  operation: OperationType | undefined,
  body: BodyInit | null,
): boolean {
  if (method === "GET" || method === "HEAD" || method === "OPTIONS") return false;
  if (!graphql) return true;
  if (operation === undefined && body instanceof Uint8Array) {
    const classified = classifyGraphqlRequest(body);
    if (classified.ok) operation = classified.operation;
  }
  return operation !== "query";
}
