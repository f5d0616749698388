/**
 * The authorize layer: refuses, before anything reaches GitHub, every request the client's
 * scopes do not allow. GraphQL bodies are read only when the decision depends on the
 * operation type; the bytes read are handed on to the forwarder as `requestBody`.
 */
import type { MiddlewareHandler } from "hono";
import { readUpTo } from "../http/body.ts";
import { githubError } from "../http/errors.ts";
import { shownMethod } from "../http/method.ts";
import type { IdentifyVariables } from "../identify/identify.ts";
import type { Logger } from "../log.ts";
import { classifyGraphqlRequest } from "./graphql_operation.ts";
import { decide, decideOperation, type OperationType, type Verdict } from "./scopes.ts";

const MAX_GRAPHQL_BODY_BYTES = 1024 * 1024;

/** What authorize puts in the context for the stages after it. */
export type AuthorizeVariables = {
  /** The request body when authorize had to read it (GraphQL); sent instead of the stream. */
  requestBody?: Uint8Array<ArrayBuffer>;
  /** The GraphQL operation type when authorize read it (the pool paces mutations). */
  graphqlOperation?: OperationType;
};

/**
 * Answers 403 for a request the client's scopes refuse, 400 for a GraphQL request whose
 * operation cannot be read and 413 for a GraphQL body over 1 MiB; else passes it on.
 */
export function authorize(
  logger: Logger,
): MiddlewareHandler<{ Variables: IdentifyVariables & AuthorizeVariables }> {
  return async (c, next) => {
    const client = c.get("client");
    const request = c.get("target");
    const { method, path, query } = request;
    const first = decide(client, request);
    let decision: Verdict;
    let operation = "";
    if (first.verdict === "classify") {
      const body = await readUpTo(c.req.raw, MAX_GRAPHQL_BODY_BYTES);
      if (body instanceof ReadableStream) {
        await body.cancel();
        return githubError(413, "GraphQL request body is larger than github-proxy reads (1 MiB)");
      }
      c.set("requestBody", body);
      const classified = classifyGraphqlRequest(body, query);
      if (!classified.ok) {
        return githubError(400, `Cannot authorise this GraphQL request: ${classified.reason}`);
      }
      c.set("graphqlOperation", classified.operation);
      operation = ` (${classified.operation})`;
      decision = decideOperation(client, request, classified.operation);
    } else {
      decision = first;
    }
    if (decision.verdict === "deny") {
      const shown = shownMethod(method);
      logger.warn("request refused by scope", {
        client: client.name,
        method: shown,
        path,
        reason: decision.reason,
        ...(decision.rule ? { rule: decision.rule } : {}),
      });
      // GitHub's wording for a token that lacks a permission ("… by integration").
      return githubError(
        403,
        `Resource not accessible by github-proxy client "${client.name}"`,
        {},
        undefined,
        `may not ${shown} ${path}${operation}: ${decision.reason}`,
      );
    }
    await next();
  };
}
