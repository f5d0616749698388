/**
 * The GitHub rate-limit resource a request will be charged to, inferred from its target before
 * GitHub's authoritative `x-ratelimit-resource` answer arrives.
 */
import type { RequestTarget } from "../identify/target.ts";

const RULES: readonly [RegExp, string][] = [
  [/^\/search\/code(\/|$)/, "code_search"],
  [/^\/search(\/|$)/, "search"],
  [/\/actions\/runners\/registration-token$/, "actions_runner_registration"],
  [/^\/scim\/v2(\/|$)/, "scim"],
  [/\/dependency-graph\/snapshots$/, "dependency_snapshots"],
  [/\/code-scanning\/sarifs$/, "code_scanning_upload"],
  [/^\/app-manifests\/[^/]+\/conversions$/, "integration_manifest"],
  [/\/audit-log$/, "audit_log"],
];

/**
 * The resource for `target`: `graphql` for GitHub's GraphQL endpoint as GitHub spells it (a
 * mis-cased name is charged as the REST path it is sent as), else by path, `core` by default.
 */
export function inferResource(target: Pick<RequestTarget, "path" | "graphql">): string {
  if (target.graphql === "endpoint") return "graphql";
  for (const [pattern, resource] of RULES) if (pattern.test(target.path)) return resource;
  return "core";
}

/** Every resource `inferResource` can name: the series metrics export at 0 from the start. */
export const KNOWN_RESOURCES: readonly string[] = ["core", "graphql", ...RULES.map(([, r]) => r)];
