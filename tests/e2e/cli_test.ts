/**
 * `github-proxy check` and `github-proxy hash-token` through the real entry point, run as the
 * launcher runs it (`deno run` with its least-privilege flags).
 */
import assert from "node:assert/strict";
import { command } from "../../scripts/launch.ts";
import { sha256Hex } from "../../src/digest.ts";
import { commandOf, tokenOf } from "../../src/launch/cli.ts";
import { baseEnv, runDeno } from "../support/process.ts";

const ROOT = new URL("../..", import.meta.url).pathname;

async function withRegistry<T>(text: string, run: (path: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "github-proxy-cli-" });
  try {
    await Deno.writeTextFile(`${dir}/registry.yaml`, text);
    return await run(`${dir}/registry.yaml`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The entry point as `deno task start` runs it, plus `args`. */
function entry(env: Record<string, string>, args: readonly string[]) {
  const cmd = command("start", env);
  return { args: [...cmd.args, ...args], env: { ...cmd.env } };
}

const REGISTRY = `version: 1
clients:
  - name: ci
    token: "{{ env.TOKEN_CI }}"
    priority: high
    limits:
      points_per_hour: 500
  - name: reader
    token_sha256: ${sha256Hex("reader-secret")}
    scopes:
      - { method: GET, path: "/repos/.*" }
`;

Deno.test("check prints what would run, credentials and clients by name, no secret", async () => {
  await withRegistry(REGISTRY, async (registry) => {
    const env = {
      CLIENT_REGISTRY_FILE_PATH: registry,
      GITHUB_PAT_MAIN: "ghp_check_secret_value",
      TOKEN_CI: "ci-secret-value",
      PORT: "8123",
      CACHE_BACKEND_URL: "memory://",
    };
    const { args, env: runEnv } = entry(env, ["check"]);
    const result = await runDeno(args, runEnv);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^listen: 127\.0\.0\.1:8123$/m);
    assert.match(result.stdout, /^cache backend: memory:\/\/$/m);
    assert.match(result.stdout, /^ {2}- MAIN \(personal access token\)$/m);
    assert.match(result.stdout, /^ {2}- ci: priority high, all paths, pointsPerHour=500$/m);
    assert.match(result.stdout, /^ {2}- reader: priority normal, 1 scope rules$/m);
    assert.match(result.stdout, /^ok$/m);
    for (const secret of ["ghp_check_secret_value", "ci-secret-value", "reader-secret"]) {
      assert.ok(!`${result.stdout}${result.stderr}`.includes(secret), secret);
    }
  });
});

Deno.test("check exits 2 with the problems: the registry line, the variable", async () => {
  await withRegistry(`version: 1\nclients:\n  - name: ci\n`, async (registry) => {
    const { args, env } = entry({ CLIENT_REGISTRY_FILE_PATH: registry }, ["check"]);
    const result = await runDeno(args, env);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /github-proxy check: 1 problem/);
    assert.match(result.stderr, /registry\.yaml:3: .*ci/);
    assert.equal(result.stdout, "");
  });
  await withRegistry(REGISTRY, async (registry) => {
    const cmd = entry({ CLIENT_REGISTRY_FILE_PATH: registry }, ["check"]);
    const result = await runDeno(cmd.args, { ...cmd.env, PORT: "not-a-port" });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /PORT/);
  });
});

Deno.test("hash-token prints the token_sha256 of the token on stdin, never the token", async () => {
  const { args, env } = entry({}, ["hash-token"]);
  for (const input of ["my-client-token\n", "my-client-token"]) {
    const child = new Deno.Command(Deno.execPath(), {
      args,
      env: { ...baseEnv(), ...env },
      clearEnv: true,
      cwd: ROOT,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(input));
    await writer.close();
    const output = await child.output();
    const stdout = new TextDecoder().decode(output.stdout);
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 0, stderr);
    assert.equal(stdout, `${sha256Hex("my-client-token")}\n`);
    assert.ok(!`${stdout}${stderr}`.includes("my-client-token"));
  }
});

Deno.test("commands and token input", () => {
  assert.equal(commandOf([]), "serve");
  assert.equal(commandOf(["--env=A,B"]), "serve");
  assert.equal(commandOf(["check", "--env=A"]), "check");
  assert.equal(commandOf(["hash-token"]), "hash-token");
  assert.match((commandOf(["chek"]) as { error: string }).error, /unknown command "chek"[^]*usage/);
  assert.equal(typeof commandOf(["check", "extra"]), "object");
  assert.equal(tokenOf("abc\n"), "abc");
  assert.equal(tokenOf("abc\r\n"), "abc");
  assert.equal(tokenOf(""), undefined);
  assert.equal(tokenOf("\n"), undefined);
  assert.equal(tokenOf("two\nlines\n"), undefined);
  assert.equal(tokenOf("with space"), undefined);
});
