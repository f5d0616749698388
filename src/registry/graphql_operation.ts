/**
 * Which GraphQL operation a request body asks GitHub to run, read the way GitHub's executor
 * picks it: the only operation, or the one `operationName` names. Documents GitHub would refuse
 * anyway (ambiguous, duplicate or anonymous-among-many operations) are unclassifiable here, so
 * no reading of ours can differ from GitHub's.
 */
import { Kind, type OperationDefinitionNode, parse } from "graphql";
import type { OperationType } from "./scopes.ts";

export type Classification =
  | { readonly ok: true; readonly operation: OperationType }
  | { readonly ok: false; readonly reason: string };

/** Bounds parser work on hostile documents; GitHub's own limits are far lower. */
const MAX_TOKENS = 100_000;

export function classifyGraphqlRequest(body: Uint8Array): Classification {
  let request: unknown;
  try {
    request = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch {
    return fail("the body is not JSON");
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

function fail(reason: string): Classification {
  return { ok: false, reason };
}
