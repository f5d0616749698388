/** The CI's closing line, the one place the Deno version is pinned, and its required tools. */
import assert from "node:assert/strict";
import { summarise, summaryLine } from "../../scripts/junit_summary.ts";
import { baseEnv } from "../support/process.ts";

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

Deno.test("JUnit summary names each failed test case by file and name", () => {
  assert.deepEqual(summarise(REPORT).failures, ["./tests/a_test.ts > fails"]);
  const escaped =
    '<testcase name="a &quot;b&quot; &amp; &lt;c&gt;" classname="./x_test.ts"><error message="x"/></testcase>';
  assert.deepEqual(summarise(escaped).failures, ['./x_test.ts > a "b" & <c>']);
});

Deno.test("the pinned Deno version is the one running, and the README installs it", async () => {
  const pinned = (await Deno.readTextFile(new URL("../../.deno-version", import.meta.url))).trim();
  assert.equal(pinned, Deno.version.deno);
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  assert.ok(readme.includes(`npm install -g deno@${pinned}`));
});

Deno.test("under CI (which .ci/run sets) a missing tool fails naming its package; elsewhere it skips", async () => {
  const ci = await Deno.readTextFile(new URL("../../.ci/run", import.meta.url));
  assert.match(ci, /^export CI=true$/m);
  const tools = new URL("../support/tools.ts", import.meta.url).href;
  const script =
    `import { requiredTool } from "${tools}"; requiredTool(["no-such-tool-here"], "no-such-package");`;
  const run = async (env: Record<string, string>) => {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--no-config", script],
      env: { ...baseEnv(), ...env },
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder();
    return { code: output.code, out: text.decode(output.stdout) + text.decode(output.stderr) };
  };
  const underCi = await run({ CI: "true" });
  assert.notEqual(underCi.code, 0);
  assert.match(underCi.out, /no-such-tool-here is not installed .*install no-such-package/);
  const local = await run({});
  assert.equal(local.code, 0, local.out);
  assert.match(
    local.out,
    /^skipped: no-such-tool-here is not installed \(Debian package no-such-package/,
  );
});
