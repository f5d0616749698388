/**
 * The terminal handler: sends the authorised request through the transport (pool credential,
 * GitHub) and streams the answer back with rewritten links (and, in JSON, rewritten body URLs).
 * The cache stage before it has already answered what it could; everything that reaches here is
 * a new upstream call, which admit may refuse.
 */
import type { Context } from "hono";
import type { AdmitVariables } from "./admit/admit.ts";
import type { AuthorizeVariables } from "./authorize/authorize.ts";
import { cacheStatus } from "./cache/policy.ts";
import { readUpTo, REPLAYABLE_BODY_LIMIT } from "./http/body.ts";
import { toClientResponse } from "./http/client_response.ts";
import { idleBounded } from "./http/idle_stream.ts";
import {
  NO_CREDENTIAL,
  type Transport,
  upstreamFailure,
  type UpstreamVariables,
} from "./http/upstream.ts";
import type { IdentifyVariables } from "./identify/identify.ts";
import type { Logger } from "./log.ts";
import { clientLinks, type GitHubUrls, isMutating, outgoing } from "./outgoing.ts";

type ForwardEnv = {
  Variables: IdentifyVariables & AuthorizeVariables & AdmitVariables & UpstreamVariables;
};

export interface ForwarderDeps {
  readonly urls: GitHubUrls;
  /** `REWRITE_BODY_URLS`: API URLs in JSON bodies point at the gateway. */
  readonly rewriteBodies: boolean;
  readonly transport: Transport;
  readonly logger: Logger;
  /** `UPSTREAM_TIMEOUT`: the longest quiet between two chunks of a streamed answer. */
  readonly upstreamTimeoutMs: number;
}

export function forward(
  { urls, rewriteBodies, transport, logger, upstreamTimeoutMs }: ForwarderDeps,
): (c: Context<ForwardEnv>) => Promise<Response> {
  return async (c) => {
    const refused = c.get("admission").newCall();
    if (refused) return refused;
    const request = outgoing(c.req.raw, c.var, urls);
    const { body, replayable } = c.get("target").upload
      ? streamedBody(c)
      : await requestBody(c, request.method);
    try {
      const mutating = isMutating(
        request.method,
        c.get("target").graphql === "endpoint",
        c.get("graphqlOperation"),
        body,
      );
      // Aborts when the client disconnects: the call it was waiting for stops. (The cache asks
      // for the signal only when its call runs long: see `Coalescer`.)
      const signal = c.req.raw.signal;
      const answer = await transport({ ...request, signal, body, replayable, mutating });
      if (answer.credential !== NO_CREDENTIAL) {
        c.set("upstream", {
          credential: answer.credential,
          ms: answer.ms,
          points: answer.points ?? 0,
        });
      }
      const { response } = answer;
      return toClientResponse(
        response,
        response.body && idleBounded(response.body, upstreamTimeoutMs),
        {
          method: request.method,
          rateLimit: answer.rateLimit,
          links: clientLinks(urls, c.var),
          rewriteBodies,
          cacheStatus: cacheStatus({ kind: "bypass" }),
        },
      );
    } catch (error) {
      return upstreamFailure(error, c.req.raw.signal, logger, c.get("target").path);
    }
  };
}

/**
 * An upload's body as the client sends it, never buffered (an asset can be large). Passed on
 * unwrapped, the request's own stream keeps its length, so `fetch` sends the client's
 * `Content-Length`, which GitHub's uploads API requires, instead of chunks. It can be sent once.
 */
function streamedBody(c: Context<ForwardEnv>) {
  return { body: c.req.raw.body, replayable: c.req.raw.body === null };
}

/** The body to send: none for GET/HEAD, what authorize read, else the client's, buffered if small. */
async function requestBody(c: Context<ForwardEnv>, method: string) {
  if (method === "GET" || method === "HEAD") return { body: null, replayable: true };
  const buffered = c.get("requestBody");
  if (buffered) return { body: buffered, replayable: true };
  if (c.req.raw.body === null) return { body: null, replayable: true };
  const body = await readUpTo(c.req.raw, REPLAYABLE_BODY_LIMIT);
  return { body, replayable: !(body instanceof ReadableStream) };
}
