import assert from "node:assert/strict";
import { inferResource } from "../../../src/credentials/resource.ts";
import { requestTarget } from "../../../src/identify/target.ts";

/** Normalised path (with or without `/api/v3`) → the rate-limit resource charged. */
const TABLE: [path: string, enterprisePrefix: "" | "/api/v3", resource: string][] = [
  ["/zen", "", "core"],
  ["/repos/acme/app/issues", "", "core"],
  ["/search/code", "", "code_search"],
  ["/search/code/x", "", "code_search"],
  ["/search/codes", "", "search"],
  ["/search/issues", "", "search"],
  ["/search", "", "search"],
  ["/searching", "", "core"],
  ["/graphql", "", "graphql"],
  ["/api/graphql", "", "graphql"],
  ["/graphql", "/api/v3", "graphql"],
  ["/GraphQL", "", "core"],
  ["/graphql/x", "", "core"],
  ["/repos/acme/app/actions/runners/registration-token", "", "actions_runner_registration"],
  ["/orgs/acme/actions/runners/registration-token", "", "actions_runner_registration"],
  ["/orgs/acme/actions/runners/remove-token", "", "core"],
  ["/scim/v2/organizations/acme/Users", "", "scim"],
  ["/repos/acme/app/dependency-graph/snapshots", "", "dependency_snapshots"],
  ["/repos/acme/app/code-scanning/sarifs", "", "code_scanning_upload"],
  ["/app-manifests/abc/conversions", "", "integration_manifest"],
  ["/app-manifests/a/b/conversions", "", "core"],
  ["/orgs/acme/audit-log", "", "audit_log"],
  ["/enterprises/acme/audit-log", "", "audit_log"],
];

for (const [path, enterprisePrefix, resource] of TABLE) {
  Deno.test(`inferResource ${enterprisePrefix}${path} → ${resource}`, () => {
    const target = requestTarget("POST", { path, query: "", enterprisePrefix, upload: false });
    assert.equal(inferResource(target), resource);
  });
}
