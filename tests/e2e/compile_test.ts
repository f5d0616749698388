/** `deno task compile`: DENORT_BIN is honoured, and a missing base binary is explained. */
import assert from "node:assert/strict";
import {
  command,
  compileAdvice,
  denortBinProblem,
  idleFiles,
  npmTestDirectories,
  typesOnly,
} from "../../scripts/launch.ts";
import { measurePayload } from "../../scripts/payload.ts";
import {
  expectedRuntimeLock,
  npmRoot,
  RUNTIME_LOCK,
  runtimeLock,
} from "../../scripts/runtime_lock.ts";
import { runDeno } from "../support/process.ts";

/** What `deno compile` 2.9.6 prints when it cannot download denort (observed on this machine). */
const DOWNLOAD_FAILURE = `Compile file:///src/main.ts to github-proxy
error: Writing deno compile executable to temporary file 'github-proxy.tmp-c11acc4fb34c2162'

Caused by:
    0: Setting up base binary.
    1: error sending request for url (https://dl.deno.land/release/v${Deno.version.deno}/denort-x86_64-unknown-linux-gnu.zip): client error (Connect): dns error: failed to lookup address information: Name or service not known
`;

Deno.test("compile advice: a failed denort download is explained with DENORT_BIN", () => {
  const cases: [string, string, string | undefined, RegExp | undefined][] = [
    [
      "download failed",
      DOWNLOAD_FAILURE,
      undefined,
      /DENORT_BIN=\/path\/to\/denort deno task compile/,
    ],
    ["download failed, DENORT_BIN set", DOWNLOAD_FAILURE, "/opt/denort", undefined],
    ["type error", "error: TS2322 [ERROR]: Type 'string' is not assignable", undefined, undefined],
  ];
  for (const [label, stderr, denortBin, expected] of cases) {
    const advice = compileAdvice(stderr, denortBin);
    if (expected === undefined) assert.equal(advice, undefined, label);
    else {
      assert.match(advice ?? "", expected, label);
      assert.match(advice ?? "", new RegExp(`Deno ${Deno.version.deno.replaceAll(".", "\\.")}`));
      assert.match(advice ?? "", new RegExp(`denort-${Deno.build.target}\\.zip`));
    }
  }
});

Deno.test("DENORT_BIN must name a file", async () => {
  assert.equal(denortBinProblem(undefined), undefined);
  assert.equal(denortBinProblem(Deno.execPath()), undefined);
  assert.match(
    denortBinProblem("/nonexistent/denort") ?? "",
    /^DENORT_BIN=\/nonexistent\/denort is not a file/,
  );
  const dir = await Deno.makeTempDir();
  try {
    assert.match(denortBinProblem(dir) ?? "", /is not a file/);
  } finally {
    await Deno.remove(dir);
  }
});

Deno.test("deno task compile with a missing DENORT_BIN fails clearly before building", async () => {
  const result = await runDeno(["task", "compile"], { DENORT_BIN: "/nonexistent/denort" });
  assert.equal(result.code, 2);
  assert.match(result.stderr, /github-proxy: DENORT_BIN=\/nonexistent\/denort is not a file/);
  assert.match(result.stderr, /DENORT_BIN=\/path\/to\/denort deno task compile/);
});

Deno.test("deno task compile builds with the base binary DENORT_BIN names (no download)", async () => {
  const binary = new URL("../../github-proxy", import.meta.url).pathname;
  try {
    // The deno CLI itself stands in for denort: it is a valid base, and nothing is downloaded.
    const result = await runDeno(["task", "compile"], { DENORT_BIN: Deno.execPath() });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /built .*github-proxy/);
    assert.ok((await Deno.stat(binary)).size > 0);
  } finally {
    await Deno.remove(binary).catch(() => {});
  }
});

Deno.test("a build leaves out the test directories of the locked npm packages", () => {
  const lock = JSON.stringify({
    npm: {
      "bintrees@1.0.2": {},
      "@octokit/plugin-throttling@11.0.5_@octokit+core@7.0.8": {},
    },
  });
  assert.deepEqual(npmTestDirectories("/cache/npm", lock), [
    "/cache/npm/registry.npmjs.org/bintrees/1.0.2/test",
    "/cache/npm/registry.npmjs.org/bintrees/1.0.2/tests",
    "/cache/npm/registry.npmjs.org/@octokit/plugin-throttling/11.0.5/test",
    "/cache/npm/registry.npmjs.org/@octokit/plugin-throttling/11.0.5/tests",
  ]);
  assert.deepEqual(npmTestDirectories("/cache/npm", "{}"), []);
});

Deno.test("a build leaves out types-only packages: nothing in them runs", () => {
  assert.equal(typesOnly(["package.json", "types/index.d.ts", "README.md"]), true);
  assert.equal(typesOnly(["package.json", "dist/index.js", "dist/index.d.ts"]), false);
  assert.equal(typesOnly(["package.json", "lib/data.json"]), false);
});

Deno.test("a build leaves out every file of a package that never runs", () => {
  assert.deepEqual(
    idleFiles([
      "package.json",
      "dist/index.js",
      "dist/index.js.map",
      "dist/index.d.ts",
      "dist/lib/client.mjs",
      "dist/lib/client.d.mts",
      "README.md",
      "data.wasm",
    ]),
    ["dist/index.js.map", "dist/index.d.ts", "dist/lib/client.d.mts", "README.md"],
  );
});

Deno.test("deno.runtime.lock is deno.lock restricted to main.ts's packages (deno task lock)", async () => {
  const committed = await Deno.readTextFile(RUNTIME_LOCK);
  assert.equal(committed, await expectedRuntimeLock(), "run `deno task lock`");
  const runtime = Object.keys(JSON.parse(committed).npm);
  for (
    const developmentOnly of ["@octokit/rest@", "@octokit/plugin-throttling@", "@octokit/openapi@"]
  ) {
    assert.ok(!runtime.some((key) => key.startsWith(developmentOnly)), developmentOnly);
  }
  const full = JSON.parse(await Deno.readTextFile(new URL("../../deno.lock", import.meta.url)));
  assert.ok(!Object.keys(full.npm).some((key) => key.startsWith("@octokit/openapi@")));
});

Deno.test("runtime lock: a package and its dependencies, by the lock's own spelling", () => {
  const lock = {
    version: "5",
    specifiers: { "npm:a@1.0.0": "1.0.0", "npm:dev@2.0.0": "2.0.0" },
    npm: {
      "a@1.0.0": { dependencies: ["b", "c@2.0.0"] },
      "b@1.0.0": {},
      "c@1.0.0": {},
      "c@2.0.0": {},
      "dev@2.0.0": { dependencies: ["c@1.0.0"] },
    },
    workspace: { dependencies: ["npm:a@1.0.0", "npm:dev@2.0.0"] },
  };
  assert.deepEqual(runtimeLock(lock, ["npm:a@1.0.0"]), {
    version: "5",
    specifiers: { "npm:a@1.0.0": "1.0.0" },
    npm: { "a@1.0.0": { dependencies: ["b", "c@2.0.0"] }, "b@1.0.0": {}, "c@2.0.0": {} },
    workspace: lock.workspace,
  });
  assert.equal(npmRoot("npm:/hono@4.13.19/jsx/jsx-runtime"), "npm:hono@4.13.19");
  assert.equal(npmRoot("npm:@octokit/request@10.0.16"), "npm:@octokit/request@10.0.16");
});

Deno.test("start, dev and compile use the runtime lockfile, frozen", () => {
  for (const mode of ["start", "dev", "compile"] as const) {
    const args = command(mode, {}).args;
    assert.ok(args.includes(`--lock=${RUNTIME_LOCK}`), mode);
    assert.ok(args.includes("--frozen"), mode);
  }
});

/** What the binary may embed: a few MB (it was 410 MB with `@octokit/openapi`). */
const PAYLOAD_BUDGET_BYTES = 10_000_000;

Deno.test("what deno task compile embeds stays under 10 MB", async () => {
  const payload = await measurePayload();
  const mb = (payload.totalBytes / 1e6).toFixed(2);
  console.log(`embedded payload: ${mb} MB (local ${(payload.localBytes / 1e6).toFixed(2)} MB)`);
  assert.ok(payload.totalBytes < PAYLOAD_BUDGET_BYTES, `${mb} MB: ${JSON.stringify(payload)}`);
  for (const name of Object.keys(payload.packages)) {
    assert.ok(!/^@octokit\/(openapi|rest|plugin-throttling)@/.test(name), name);
  }
});
