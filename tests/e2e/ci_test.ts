/** The CI's closing line and the one place the Deno version is pinned. */
import assert from "node:assert/strict";
import { summarise, summaryLine } from "../../scripts/junit_summary.ts";

const REPORT = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="deno test" tests="4" failures="1" errors="0" time="0.1">
    <testsuite name="./tests/a_test.ts" tests="4" disabled="1" errors="0" failures="1">
        <testcase name="passes" classname="./tests/a_test.ts" line="1" col="6">
        </testcase>
        <testcase name="also passes" classname="./tests/a_test.ts" line="2" col="6"/>
        <testcase name="fails" classname="./tests/a_test.ts" line="3" col="6">
            <failure message="boom">AssertionError</failure>
        </testcase>
        <testcase name="ignored" classname="./tests/a_test.ts" line="4" col="6">
            <skipped/>
        </testcase>
    </testsuite>
</testsuites>`;

Deno.test("JUnit summary counts passed, failed and skipped test cases", () => {
  const cases: [string, string][] = [
    [REPORT, "2 passed, 1 failed, 1 skipped"],
    ['<testsuites tests="0"></testsuites>', "0 passed, 0 failed"],
    [
      '<testcase name="a"></testcase><testcase name="b"><error message="x"/></testcase>',
      "1 passed, 1 failed",
    ],
  ];
  for (const [xml, line] of cases) assert.equal(summaryLine(summarise(xml)), line);
});

Deno.test("the pinned Deno version is the one running, and the README installs it", async () => {
  const pinned = (await Deno.readTextFile(new URL("../../.deno-version", import.meta.url))).trim();
  assert.equal(pinned, Deno.version.deno);
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  assert.ok(readme.includes(`npm install -g deno@${pinned}`));
});
