/**
 * Which GraphQL operation a request body asks GitHub to run, read the way GitHub's executor
 * picks it: the only operation, or the one `operationName` names. Requests GitHub could read
 * differently are unclassifiable here: documents it would refuse anyway (ambiguous, duplicate
 * or anonymous-among-many operations), and GraphQL parameters in the URL query or in a body
 * that also parses as a form (a web framework may merge those into the parameters it reads).
 */
import { Kind, type OperationDefinitionNode, parse } from "graphql";
import type { OperationType } from "./scopes.ts";

export type Classification =
  | { readonly ok: true; readonly operation: OperationType }
  | { readonly ok: false; readonly reason: string };

/** Bounds parser work on hostile documents; GitHub's own limits are far lower. */
const MAX_TOKENS = 100_000;
const PARAMETERS = ["query", "operationName", "variables"];

/** `rawQuery`: the request's URL query string, without `?`. */
export function classifyGraphqlRequest(body: Uint8Array, rawQuery = ""): Classification {
  if (hasGraphqlParameters(rawQuery)) {
    return fail("GraphQL parameters belong in the JSON body, not the URL query");
  }
  let text: string;
  let request: unknown;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(body);
    request = JSON.parse(text);
  } catch {
    return fail("the body is not JSON");
  }
  if (hasGraphqlParameters(text)) {
    return fail("the body also reads as a form with GraphQL parameters");
  }
  if (typeof request !== "object" || request === null || Array.isArray(request)) {
    return fail('the body must be a JSON object with a "query"');
  }
  const { query, operationName } = request as Record<string, unknown>;
  if (typeof query !== "string") return fail('"query" must be a string');
  if (operationName !== undefined && operationName !== null && typeof operationName !== "string") {
    return fail('"operationName" must be a string');
  }
  let operations: OperationDefinitionNode[];
  try {
    operations = parse(query, { noLocation: true, maxTokens: MAX_TOKENS }).definitions
      .filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  } catch (error) {
    return fail(`the document does not parse: ${(error as Error).message}`);
  }
  if (operations.length === 0) return fail("the document has no operation");
  const names = operations.map((op) => op.name?.value);
  if (operations.length > 1 && names.includes(undefined)) {
    return fail("an anonymous operation must be the only one");
  }
  if (new Set(names).size !== names.length) return fail("operation names must be unique");
  if (operationName === undefined || operationName === null) {
    return operations.length === 1
      ? { ok: true, operation: operations[0].operation }
      : fail('several operations and no "operationName"');
  }
  const chosen = operations.find((op) => op.name?.value === operationName);
  return chosen
    ? { ok: true, operation: chosen.operation }
    : fail(`no operation named "${operationName}"`);
}

function hasGraphqlParameters(formOrQuery: string): boolean {
  const parameters = new URLSearchParams(formOrQuery);
  return PARAMETERS.some((name) => parameters.has(name));
}

function fail(reason: string): Classification {
  return { ok: false, reason };
}
