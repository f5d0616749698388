import assert from "node:assert/strict";
import { LocalStaleMarks, SETTLE_MS } from "../../../src/webhooks/stale_marks.ts";
import { covers, scopeOf } from "../../../src/webhooks/stale_resource.ts";
import { ManualClock } from "../../support/clock.ts";

Deno.test("covers: a trailing * takes the rest, an inner * one segment, none the exact path", () => {
  const table: [string, string, boolean][] = [
    ["commits*", "commits", true],
    ["commits*", "commits/abc/status", true],
    ["commits*", "compare/a...b", false],
    ["git/*", "git/refs/heads/main", true],
    ["git/*", "git", false],
    ["pulls", "pulls", true],
    ["pulls", "pulls/7", false],
    ["pulls/7", "pulls/7", true],
    ["pulls/7/*", "pulls/7/files", true],
    ["pulls/7/*", "pulls/70", false],
    ["", "", true],
    ["", "issues", false],
    ["branches/*/protection*", "branches/main/protection", true],
    ["branches/*/protection*", "branches/main/protection/required_status_checks", true],
    ["branches/*/protection*", "branches//protection", false],
    ["branches/*/protection*", "branches/main", false],
    ["commits/*/check-*", "commits/abc/check-runs", true],
    ["commits/*/check-*", "commits/abc/status", false],
  ];
  for (const [pattern, rest, expected] of table) {
    assert.equal(covers(pattern, rest), expected, `${pattern} ${rest}`);
  }
});

Deno.test("scopeOf: repositories and organisations, lower-cased; other paths have none", () => {
  assert.deepEqual(scopeOf("/repos/Acme/App/pulls/1"), {
    scope: "/repos/acme/app",
    rest: "pulls/1",
  });
  assert.deepEqual(scopeOf("/repos/acme/app"), { scope: "/repos/acme/app", rest: "" });
  assert.deepEqual(scopeOf("/orgs/Acme/members"), { scope: "/orgs/acme", rest: "members" });
  assert.equal(scopeOf("/repos/acme"), undefined);
  assert.equal(scopeOf("/user/repos"), undefined);
  assert.equal(scopeOf("/graphql"), undefined);
});

Deno.test("the 2-second rule: only a revalidation SETTLE_MS after the event clears its mark", () => {
  const clock = new ManualClock(1_000_000);
  const marks = new LocalStaleMarks({ ttlMs: 3_600_000, now: clock.now });
  const eventAt = clock.now();
  marks.mark([{ scope: "/repos/acme/app", pattern: "commits*" }], eventAt);
  // Validated before the event, at it, and just under 2 s after: all still stale.
  assert.equal(marks.isStale("/repos/acme/app/commits", eventAt - 10_000), true);
  assert.equal(marks.isStale("/repos/ACME/app/commits/main", eventAt), true);
  assert.equal(marks.isStale("/repos/acme/app/commits", eventAt + SETTLE_MS - 1), true);
  // A revalidation 2 s after the event is trusted.
  assert.equal(marks.isStale("/repos/acme/app/commits", eventAt + SETTLE_MS), false);
  // Paths the event did not cover, in this repository or another, stay fresh.
  assert.equal(marks.isStale("/repos/acme/app/issues", eventAt - 10_000), false);
  assert.equal(marks.isStale("/repos/acme/other/commits", eventAt - 10_000), false);
  // A second event moves the mark forward.
  clock.advance(5000);
  marks.mark([{ scope: "/repos/acme/app", pattern: "commits*" }], clock.now());
  assert.equal(marks.isStale("/repos/acme/app/commits", eventAt + SETTLE_MS), true);
  assert.equal(marks.size, 1);
});

Deno.test("stale marks expire after CACHE_TTL, and past their bound stay conservative", () => {
  const clock = new ManualClock(1_000_000);
  const marks = new LocalStaleMarks({ ttlMs: 60_000, now: clock.now, maxMarks: 2 });
  marks.mark([{ scope: "/repos/a/one", pattern: "issues*" }], clock.now());
  clock.advance(10);
  marks.mark([
    { scope: "/repos/a/two", pattern: "issues*" },
    { scope: "/repos/a/three", pattern: "issues*" },
  ], clock.now());
  assert.equal(marks.size, 2);
  // The dropped mark still makes entries validated before it stale, wherever they are.
  assert.equal(marks.isStale("/repos/a/one/issues", 0), true);
  assert.equal(marks.isStale("/repos/b/unrelated", 0), true);
  assert.equal(marks.isStale("/repos/b/unrelated", clock.now() + SETTLE_MS), false);
  // An entry validated before a mark is gone after CACHE_TTL, and so is the mark.
  clock.advance(SETTLE_MS + 60_000 + 1);
  assert.equal(marks.isStale("/repos/a/two/issues", 0), false);
  assert.equal(marks.size, 0);
});

Deno.test("stale marks: the index finds every covering pattern, as covers decides", () => {
  const table: [string, string][] = [
    ["commits*", "commitsx"],
    ["commits*", "commits/abc/status"],
    ["git/*", "git/refs/heads/main"],
    ["pulls", "pulls"],
    ["pulls/7", "pulls/7"],
    ["pulls/7/*", "pulls/7/files"],
    ["pulls/*", "pulls/7/files"],
    ["", ""],
    ["*", "issues"],
    ["branches/*/protection*", "branches/main/protection/required_status_checks"],
    ["commits/abc/check-*", "commits/abc/check-runs"],
    ["actions/jobs/*", "actions/jobs/9/logs"],
  ];
  for (const [pattern, rest] of table) {
    const marks = new LocalStaleMarks({ ttlMs: 60_000, now: () => 10_000 });
    marks.mark([{ scope: "/repos/acme/app", pattern }], 10_000);
    const path = rest ? `/repos/acme/app/${rest}` : "/repos/acme/app";
    assert.equal(marks.isStale(path, 10_000), true, `${pattern} ${rest}`);
    const other = covers(pattern, "releases/1");
    assert.equal(marks.isStale("/repos/acme/app/releases/1", 10_000), other, pattern);
  }
});

Deno.test("stale marks: 10 000 per-PR marks in one repository cost an unrelated read a bounded count", () => {
  const clock = new ManualClock();
  const marks = new LocalStaleMarks({ ttlMs: 3_600_000, now: clock.now, maxMarks: 20_000 });
  const scope = "/repos/acme/busy";
  for (let n = 1; n <= 2500; n++) {
    marks.mark([
      { scope, pattern: `pulls/${n}` },
      { scope, pattern: `pulls/${n}/*` },
      { scope, pattern: `issues/${n}` },
      { scope, pattern: `issues/${n}/*` },
    ], clock.now());
  }
  marks.mark([{ scope, pattern: "pulls" }, { scope, pattern: "issues" }], clock.now());
  assert.equal(marks.size, 10_002);
  const validated = clock.now() - SETTLE_MS - 1;
  assert.equal(marks.isStale(`${scope}/releases/latest`, validated), false);
  assert.ok(marks.compared <= 4, `${marks.compared} patterns compared`);
  const before = marks.compared;
  assert.equal(marks.isStale(`${scope}/pulls/1234/files`, validated), true);
  assert.ok(marks.compared - before <= 4, `${marks.compared - before} patterns compared`);
  // Expired marks leave the index with them.
  clock.advance(3_600_000 + SETTLE_MS + 1);
  marks.mark([{ scope, pattern: "pulls/1/*" }], clock.now());
  assert.equal(marks.size, 1);
  assert.equal(marks.isStale(`${scope}/pulls/2/files`, clock.now() - SETTLE_MS - 1), false);
  assert.equal(marks.isStale(`${scope}/pulls/1/files`, clock.now() - SETTLE_MS - 1), true);
});
