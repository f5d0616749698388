import assert from "node:assert/strict";
import { compileScopePattern } from "../../../src/registry/pattern.ts";

/** Patterns match the whole input, ignoring case, with RE2 syntax. */
const PATTERNS: [pattern: string, input: string, matches: boolean][] = [
  ["/repos/acme/.*", "/repos/ACME/app", true],
  ["/repos/acme/.*", "/x/repos/acme/app", false],
  ["/repos/acme", "/repos/acme/app", false],
  ["GET|POST", "post", true],
  ["GET|POST", "GETPOST", false],
  ["GET|POST", "GETS", false],
  ["GET|POST", "XPOST", false],
  ["a|ab", "ab", true],
  ["/repos/acme/app/issues(/\\d+)?", "/repos/acme/app/issues/12", true],
  ["/repos/acme/app/issues(/\\d+)?", "/repos/acme/app/issues/x", false],
  ["/orgs/[^/]+/teams", "/orgs/acme/teams", true],
  ["/orgs/[^/]+/teams", "/orgs/acme/x/teams", false],
  ["/repos/octo-org/([a-z0-9]+-?)+/issues(/.*)?", "/repos/Octo-Org/app-1/issues/3", true],
  ["/repos/octo-org/([a-z0-9]+-?)+/issues(/.*)?", `/repos/octo-org/${"a".repeat(8000)}/x`, false],
];

for (const [pattern, input, expected] of PATTERNS) {
  Deno.test(`scope pattern: ${pattern} ${expected ? "matches" : "does not match"} ${input.slice(0, 40)}`, () => {
    const compiled = compileScopePattern(pattern);
    assert.ok(compiled.ok);
    assert.equal(compiled.pattern.matches(input), expected);
  });
}
