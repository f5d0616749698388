/**
 * The GitHub rate-limit resource a request will be charged to, inferred from its path before
 * GitHub's authoritative `x-ratelimit-resource` answer arrives.
 */

const RULES: readonly [RegExp, string][] = [
  [/^\/search\/code(\/|$)/, "code_search"],
  [/^\/search(\/|$)/, "search"],
  [/^\/(api\/)?graphql$/, "graphql"],
  [/\/actions\/runners\/registration-token$/, "actions_runner_registration"],
  [/^\/scim\/v2(\/|$)/, "scim"],
  [/\/dependency-graph\/snapshots$/, "dependency_snapshots"],
  [/\/code-scanning\/sarifs$/, "code_scanning_upload"],
  [/^\/app-manifests\/[^/]+\/conversions$/, "integration_manifest"],
  [/\/audit-log$/, "audit_log"],
];

export function inferResource(path: string): string {
  for (const [pattern, resource] of RULES) if (pattern.test(path)) return resource;
  return "core";
}
