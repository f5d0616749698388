/**
 * The scope decision: may this client send this method to this normalised path? Pure, so the
 * security boundary is tested as a table (DESIGN §6).
 *
 * - `deny` rules win over scopes; several scopes OR together;
 * - no `scopes` = full access, an empty list = no access;
 * - GitHub's GraphQL endpoint has two names (`/graphql`, `/api/graphql`, both reachable from
 *   either layout); a rule that names either one covers both, so a deny rule cannot be
 *   sidestepped through the other name;
 * - for GraphQL a rule's `graphql` allowance is checked against the operation type; when the
 *   answer depends on it and it is not known yet, the decision is `classify`.
 */
import type { Client, ScopeRule } from "../registry/model.ts";
import { GRAPHQL_ENDPOINTS, MAX_PATH_BYTES, type RequestTarget } from "../identify/target.ts";

export type OperationType = "query" | "mutation" | "subscription";

/**
 * The GraphQL operation a request carries: its type, or `unknown` when it has none the gateway
 * can read (a GraphQL path reached with another method than POST).
 */
export type GraphqlOperation = OperationType | "unknown";

/**
 * What a scope is checked against: the request's method (upper-cased, as received; never an
 * override header), its normalised path (`/api/v3` already removed) and whether that path is
 * GitHub's GraphQL endpoint in any letter case.
 */
export type ScopeRequest = Pick<RequestTarget, "method" | "path" | "graphql">;

export type Verdict =
  | { readonly verdict: "allow" }
  /** `rule`: the deny rule that refused, as written, for the log. */
  | { readonly verdict: "deny"; readonly reason: string; readonly rule?: string };

/** `classify`: a GraphQL request whose answer depends on the operation type. */
export type ScopeDecision = Verdict | { readonly verdict: "classify" };

const OPERATION_TYPES: readonly OperationType[] = ["query", "mutation", "subscription"];
/**
 * The most a scope pattern reads: the request target's own bound. Matching is linear, and this
 * keeps it short; a longer method (the server accepts any length) is refused, never skipped.
 */
export const MAX_MATCHED_LENGTH = MAX_PATH_BYTES;
const TOO_LONG: Verdict = {
  verdict: "deny",
  reason:
    `the method or path is longer than scopes are checked for (${MAX_MATCHED_LENGTH} characters)`,
};

/**
 * The decision before any body is read: `allow`, `deny`, or `classify` when the request is
 * GraphQL and the answer depends on the operation type.
 */
export function decide(client: Client, { method, path, graphql }: ScopeRequest): ScopeDecision {
  if (method.length > MAX_MATCHED_LENGTH || path.length > MAX_MATCHED_LENGTH) return TOO_LONG;
  if (!graphql) return decideFor(client, method, [path], undefined);
  const names = [path, ...GRAPHQL_ENDPOINTS];
  if (method !== "POST") return decideFor(client, method, names, "unknown");
  const outcomes = OPERATION_TYPES.map((type) => decideFor(client, method, names, type));
  if (outcomes.every((o) => o.verdict === "allow")) return outcomes[0];
  if (outcomes.every((o) => o.verdict === "deny")) return denyWithoutOperation(outcomes);
  return { verdict: "classify" };
}

/** The decision for a GraphQL request once its operation type is known. */
export function decideOperation(
  client: Client,
  { method, path }: ScopeRequest,
  operation: OperationType,
): Verdict {
  if (method.length > MAX_MATCHED_LENGTH || path.length > MAX_MATCHED_LENGTH) return TOO_LONG;
  return decideFor(client, method, [path, ...GRAPHQL_ENDPOINTS], operation);
}

/** Every operation type refused: name the reason without mentioning an operation type. */
function denyWithoutOperation(outcomes: readonly Verdict[]): Verdict {
  const byDeny = outcomes.find((o) => o.verdict === "deny" && o.rule !== undefined);
  return byDeny ?? { verdict: "deny", reason: "no scope allows it" };
}

function decideFor(
  client: Client,
  method: string,
  paths: readonly string[],
  operation: GraphqlOperation | undefined,
): Verdict {
  const denied = client.deny.find((rule) => matches(rule, method, paths, operation, "deny"));
  if (denied) {
    return { verdict: "deny", reason: "a deny rule refuses it", rule: denied.source };
  }
  if (client.scopes === null) return { verdict: "allow" };
  if (client.scopes.some((rule) => matches(rule, method, paths, operation, "allow"))) {
    return { verdict: "allow" };
  }
  const reason = operation === undefined || operation === "unknown"
    ? "no scope allows it"
    : `no scope allows GraphQL ${operation} operations`;
  return { verdict: "deny", reason };
}

/**
 * An `unknown` operation is admitted only by an `any` allowance but caught by every deny rule:
 * when in doubt, refuse.
 */
function matches(
  rule: ScopeRule,
  method: string,
  paths: readonly string[],
  operation: GraphqlOperation | undefined,
  kind: "allow" | "deny",
): boolean {
  if (!rule.method.matches(method) || !paths.some((path) => rule.path.matches(path))) {
    return false;
  }
  if (operation === undefined || rule.graphql === "any") return true;
  return operation === "unknown" ? kind === "deny" : rule.graphql === operation;
}
