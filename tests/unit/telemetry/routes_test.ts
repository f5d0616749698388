import assert from "node:assert/strict";
import { createRouteMatcher, UNKNOWN_ROUTE } from "../../../src/telemetry/routes.ts";

Deno.test("paths collapse to GitHub's published route templates", () => {
  const routeOf = createRouteMatcher();
  const table: [string, string][] = [
    ["/repos/acme/app/issues", "/repos/{owner}/{repo}/issues"],
    ["/repos/ACME/App/Issues", "/repos/{owner}/{repo}/issues"],
    ["/repos/acme/app/issues/12", "/repos/{owner}/{repo}/issues/{issue_number}"],
    ["/repos/acme/app/pulls/3/reviews", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews"],
    ["/repos/acme/app/contents/docs/a/b.md", "/repos/{owner}/{repo}/contents/{path}"],
    ["/repos/acme/app/git/refs/heads/feature/x", "/repos/{owner}/{repo}/git/refs/{ref}"],
    [
      "/orgs/acme/actions/runners/registration-token",
      "/orgs/{org}/actions/runners/registration-token",
    ],
    ["/user", "/user"],
    ["/users/octocat", "/users/{username}"],
    ["/search/code", "/search/code"],
    ["/graphql", "/graphql"],
    ["/zen", "/zen"],
    ["/", "/"],
    ["/definitely/not/github", UNKNOWN_ROUTE],
    ["/repos/acme", UNKNOWN_ROUTE],
    ["/users//x", UNKNOWN_ROUTE],
  ];
  for (const [path, route] of table) assert.equal(routeOf(path), route, path);
});
