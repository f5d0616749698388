import assert from "node:assert/strict";
import { invalidation } from "../../../src/webhooks/invalidation.ts";

const repo = { repository: { full_name: "Acme/App" } };
const org = { organization: { login: "Acme" } };
const R = "/repos/acme/app";
const O = "/orgs/acme";

/** What a push to `branch` marks (`*`: a branch that is not one path segment). */
function pushed(branch: string): [string, string][] {
  return [
    [R, "commits*"],
    [R, "branches*"],
    [R, "git/*"],
    [R, "compare/*"],
    [R, "contents/*"],
    [R, "readme*"],
    [R, `commits/${branch}/status*`],
    [R, "check-runs"],
  ];
}

/** [event, payload, [scope, pattern][]]: DESIGN §12's table, row by row. */
const TABLE: [string, Record<string, unknown>, [string, string][]][] = [
  ["push", { ...repo, ref: "refs/heads/main" }, pushed("main")],
  ["create", repo, [[R, "branches*"], [R, "tags*"], [R, "git/refs*"], [R, "git/matching-refs/*"]]],
  ["delete", repo, [[R, "branches*"], [R, "tags*"], [R, "git/refs*"], [R, "git/matching-refs/*"]]],
  ["pull_request", { ...repo, number: 7, pull_request: { number: 7 } }, [
    [R, "pulls"],
    [R, "pulls/7"],
    [R, "pulls/7/*"],
    [R, "issues"],
    [R, "issues/7"],
    [R, "issues/7/*"],
  ]],
  ["pull_request_review", { ...repo, pull_request: { number: 9 } }, [
    [R, "pulls"],
    [R, "pulls/9"],
    [R, "pulls/9/*"],
    [R, "issues"],
    [R, "issues/9"],
    [R, "issues/9/*"],
  ]],
  ["issues", repo, [[R, "issues*"], [R, "labels*"], [R, "milestones*"]]],
  ["issue_comment", repo, [[R, "issues*"], [R, "labels*"], [R, "milestones*"]]],
  ["label", repo, [[R, "issues*"], [R, "labels*"], [R, "milestones*"]]],
  ["milestone", repo, [[R, "issues*"], [R, "labels*"], [R, "milestones*"]]],
  ["sub_issues", repo, [[R, "issues*"], [R, "labels*"], [R, "milestones*"]]],
  ["check_run", { ...repo, check_run: { head_sha: "abc123" } }, [
    [R, "commits/abc123/check-*"],
    [R, "commits/abc123/status*"],
    [R, "check-runs/*"],
    [R, "check-suites/*"],
  ]],
  ["check_suite", { ...repo, check_suite: { head_sha: "def456" } }, [
    [R, "commits/def456/check-*"],
    [R, "commits/def456/status*"],
    [R, "check-runs/*"],
    [R, "check-suites/*"],
  ]],
  ["status", { ...repo, sha: "fff000" }, [
    [R, "commits/fff000/check-*"],
    [R, "commits/fff000/status*"],
    [R, "check-runs/*"],
    [R, "check-suites/*"],
  ]],
  ["workflow_run", repo, [[R, "actions/runs*"], [R, "actions/jobs/*"]]],
  ["workflow_job", repo, [[R, "actions/runs*"], [R, "actions/jobs/*"]]],
  ["release", repo, [[R, "releases*"]]],
  ["repository", { ...repo, ...org, action: "created" }, [
    [R, ""],
    [R, "branches/*/protection*"],
    [R, "rulesets*"],
  ]],
  ["branch_protection_rule", repo, [[R, ""], [R, "branches/*/protection*"], [R, "rulesets*"]]],
  ["repository_ruleset", repo, [[R, ""], [R, "branches/*/protection*"], [R, "rulesets*"]]],
  ["member", { ...repo, ...org }, [[R, "collaborators*"], [O, "members*"], [O, "teams*"]]],
  ["membership", org, [[O, "members*"], [O, "teams*"]]],
  ["team", org, [[O, "members*"], [O, "teams*"]]],
  ["team_add", { ...repo, ...org }, [[R, "collaborators*"], [O, "members*"], [O, "teams*"]]],
  ["organization", org, [[O, "members*"], [O, "teams*"]]],
  // Values the payload lacks widen to any segment; nothing to mark without a repository.
  ["check_run", repo, [
    [R, "commits/*/check-*"],
    [R, "commits/*/status*"],
    [R, "check-runs/*"],
    [R, "check-suites/*"],
  ]],
  ["push", { ...repo, ref: "refs/heads/feature/x" }, pushed("*")],
  ["push", { ref: "refs/heads/main" }, []],
  ["star", repo, []],
  ["made_up", repo, []],
];

Deno.test("invalidation: each event marks DESIGN §12's resources of its repository or organisation", () => {
  for (const [event, payload, expected] of TABLE) {
    const { resources, installations } = invalidation(event, payload);
    assert.deepEqual(
      resources.map(({ scope, pattern }) => [scope, pattern]),
      expected,
      `${event} ${JSON.stringify(payload)}`,
    );
    assert.equal(installations, false, event);
  }
});

Deno.test("invalidation: installation* events mark the installation routing table, no cache entry", () => {
  for (const event of ["installation", "installation_repositories", "installation_target"]) {
    assert.deepEqual(invalidation(event, { ...repo, action: "added" }), {
      resources: [],
      installations: true,
    });
  }
});

Deno.test("invalidation: a payload that is not an object marks nothing", () => {
  for (const payload of [null, [], "x", 3]) {
    assert.deepEqual(invalidation("push", payload), { resources: [], installations: false });
  }
});
