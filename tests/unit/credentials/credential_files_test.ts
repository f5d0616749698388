/** Credential files: read whole less one newline, a variable and a file of one name refused. */
import assert from "node:assert/strict";
import { parseConfig } from "../../../src/config.ts";
import { ConfigError } from "../../../src/config_error.ts";
import { credentialFileText, loadCredentials } from "../../../src/credentials/credential_files.ts";
import { narrowingProblems } from "../../../src/credentials/narrowing_check.ts";
import { ungranted } from "../../../src/credentials/narrowing.ts";

Deno.test("a file's text loses one trailing newline, nothing else", () => {
  assert.equal(credentialFileText("ghp_x\n"), "ghp_x");
  assert.equal(credentialFileText("ghp_x\r\n"), "ghp_x");
  assert.equal(credentialFileText("ghp_x\n\n"), "ghp_x\n");
  assert.equal(credentialFileText("ghp_x"), "ghp_x");
});

Deno.test("files named like the variables are credentials; other files are ignored", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/GITHUB_PAT_MAIN`, "ghp_main\n");
    await Deno.writeTextFile(`${dir}/other-service-secret`, "x");
    const { credentials, problems } = loadCredentials({ GITHUB_PAT_ENV: "ghp_env" }, [dir]);
    assert.deepEqual(problems, []);
    assert.deepEqual(
      credentials.map((c) => [c.name, c.kind === "pat" ? c.token : ""]),
      [["ENV", "ghp_env"], ["MAIN", "ghp_main"]],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a variable and a file of the same name is a start-up error naming both, never a value", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/GITHUB_PAT_MAIN`, "ghp_file_secret\n");
    let error: unknown;
    try {
      parseConfig({
        CLIENT_REGISTRY_FILE_PATH: "/r.yaml",
        GITHUB_CREDENTIALS_DIR: dir,
        GITHUB_PAT_MAIN: "ghp_env_secret",
      });
    } catch (caught) {
      error = caught;
    }
    assert.ok(error instanceof ConfigError);
    assert.match(
      error.message,
      /the variable GITHUB_PAT_MAIN and the credential file .*\/GITHUB_PAT_MAIN/,
    );
    assert.ok(
      !error.message.includes("ghp_file_secret") && !error.message.includes("ghp_env_secret"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a narrowing is judged against what installations may grant", () => {
  assert.equal(ungranted({ permissions: { issues: "write" } }, { issues: "write" }), undefined);
  assert.equal(ungranted({ permissions: { issues: "read" } }, { issues: "admin" }), undefined);
  assert.deepEqual(ungranted({ permissions: { issues: "write" } }, { issues: "read" }), {
    permission: "issues",
    wanted: "write",
    granted: "read",
  });
  assert.equal(ungranted({ repositories: ["x"] }, {}), undefined);
  const registry = {
    clients: [{
      name: "narrow",
      githubToken: { permissions: { administration: "write" } },
      githubTokenAt: "r.yaml:7",
    }],
  } as unknown as Parameters<typeof narrowingProblems>[0];
  const app = (permissions?: Record<string, string>) => ({
    kind: "app" as const,
    name: "BOT@acme",
    appId: "1",
    installationId: "2",
    privateKey: "",
    permissions,
  });
  const [problem] = narrowingProblems(registry, [app({ contents: "write" })]);
  assert.match(problem, /^r\.yaml:7: client "narrow" github_token asks for administration: write/);
  assert.deepEqual(narrowingProblems(registry, [app({ administration: "write" })]), []);
  // An explicit installation id says nothing of its permissions: GitHub judges at the mint.
  assert.deepEqual(narrowingProblems(registry, [app(undefined)]), []);
  assert.match(narrowingProblems(registry, [])[0], /needs a GitHub App/);
});
