/** DESIGN §8: credentials from files, reloaded on SIGHUP with requests in flight. */
import assert from "node:assert/strict";
import { FakeGitHub, generateAppKey } from "../support/fake_github.ts";
import { authed, FULL_ACCESS_REGISTRY, startGateway, TEST_TOKEN } from "../support/gateway.ts";
import { spawnServer } from "../support/process.ts";
import { until } from "../support/until.ts";
import { silentLogger } from "../../src/log.ts";

async function withDir(body: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "github-proxy-creds-" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const noStore = authed(undefined, { headers: { "cache-control": "no-store" } });

Deno.test("reload adds and removes PATs while requests are in flight; a slow one on a removed PAT completes", async () => {
  await withDir(async (dir) => {
    await using fake = await FakeGitHub.start({ pats: { "ghp-a": {}, "ghp-b": {} } });
    await Deno.writeTextFile(`${dir}/GITHUB_PAT_A`, "ghp-a\n");
    await using gw = await startGateway({
      githubApiUrl: fake.url,
      env: { GITHUB_CREDENTIALS_DIR: dir },
    });
    assert.equal((await fetch(`${gw.url}/zen`, noStore)).status, 200);
    assert.equal(fake.requests.at(-1)?.credential, "ghp-a", "file read, newline trimmed");
    fake.setLatency(400);
    const slow = fetch(`${gw.url}/repos/o/slow`, noStore);
    await until(() => fake.requests.some((r) => r.path === "/repos/o/slow"), "the slow call sent");
    await Deno.remove(`${dir}/GITHUB_PAT_A`);
    await Deno.writeTextFile(`${dir}/GITHUB_PAT_B`, "ghp-b");
    assert.equal(await gw.gateway.credentials.reload(silentLogger), true);
    fake.setLatency(0);
    const answer = await slow;
    assert.equal(answer.status, 200, "the request in flight on A finished");
    await answer.body?.cancel();
    assert.equal(fake.requests.find((r) => r.path === "/repos/o/slow")?.credential, "ghp-a");
    const after = await fetch(`${gw.url}/zen`, noStore);
    await after.body?.cancel();
    assert.equal(fake.requests.at(-1)?.credential, "ghp-b");
    assert.deepEqual(gw.gateway.pool.snapshot().credentials.map((c) => c.name), ["B"]);
  });
});

Deno.test("a PAT marked bad is tried again after reload; a bad new set keeps the old one", async () => {
  await withDir(async (dir) => {
    await using fake = await FakeGitHub.start({ pats: { "ghp-a": {} } });
    await Deno.writeTextFile(`${dir}/GITHUB_PAT_A`, "ghp-a");
    await using gw = await startGateway({
      githubApiUrl: fake.url,
      env: { GITHUB_CREDENTIALS_DIR: dir },
    });
    fake.revokeToken("ghp-a");
    const refused = await fetch(`${gw.url}/zen`, noStore);
    await refused.body?.cancel();
    assert.equal(gw.gateway.pool.snapshot().credentials[0].bad, true);
    fake.restoreToken("ghp-a");
    // An App half given is a bad set: nothing changes, and the log says why.
    await Deno.writeTextFile(`${dir}/GITHUB_APP_X_ID`, "1");
    const logs: string[] = [];
    const logger = {
      ...silentLogger,
      error: (msg: string, fields?: unknown) => logs.push(`${msg} ${JSON.stringify(fields)}`),
    };
    assert.equal(await gw.gateway.credentials.reload(logger), false);
    assert.match(logs[0], /credentials reload failed; keeping the previous ones.*GITHUB_APP_X_PEM/);
    assert.equal(gw.gateway.pool.snapshot().credentials[0].bad, true);
    await Deno.remove(`${dir}/GITHUB_APP_X_ID`);
    assert.equal(await gw.gateway.credentials.reload(silentLogger), true);
    assert.equal(gw.gateway.pool.snapshot().credentials[0].bad, false);
    const again = await fetch(`${gw.url}/zen`, noStore);
    assert.equal(again.status, 200);
    await again.body?.cancel();
    assert.equal(fake.requests.at(-1)?.credential, "ghp-a");
  });
});

/** The registry after the reload: a client whose `github_token:` needs the App that joins too. */
const NARROWED_REGISTRY = `${FULL_ACCESS_REGISTRY}  - name: narrow
    token: narrow-token
    github_token:
      repositories: [app]
      permissions: { contents: read }
`;

/** Replaces `path` by rename, as editors and configuration management do. */
async function replaceFile(path: string, text: string) {
  await Deno.writeTextFile(`${path}.new`, text);
  await Deno.rename(`${path}.new`, path);
}

Deno.test("deno task start: SIGHUP reloads credential files and the registry together; a bad set is kept out", async () => {
  const { privateKeyPem, publicKeyPem } = await generateAppKey();
  await using fake = await FakeGitHub.start({
    pats: { "ghp-a": {}, "ghp-b": {} },
    apps: [{ id: "77", installations: [{ id: "501", account: "acme" }], publicKeyPem }],
  });
  const dir = await Deno.makeTempDir({ prefix: "github-proxy-sighup-" });
  const creds = `${dir}/credentials`;
  await Deno.mkdir(creds);
  await Deno.writeTextFile(`${creds}/GITHUB_PAT_A`, "ghp-a\n");
  const registry = `${dir}/registry.yaml`;
  await Deno.writeTextFile(registry, FULL_ACCESS_REGISTRY);
  // As `deno task start` runs it: the launcher, which passes SIGHUP on to the gateway.
  const server = await spawnServer(
    ["run", "--allow-env", "--allow-read", "--allow-run", "scripts/launch.ts", "start"],
    {
      GITHUB_API_URL: fake.url,
      GITHUB_CREDENTIALS_DIR: creds,
      CLIENT_REGISTRY_FILE_PATH: registry,
      STATE_DIRECTORY: dir,
      CACHE_BACKEND_URL: "memory://",
      BIND: "127.0.0.1",
      PORT: "0",
    },
  );
  // Bounded: a log line that never comes fails the test with the log so far.
  const logged = async (pattern: RegExp) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no ${pattern} within 20 s:\n${server.logs.join("\n")}`)),
        20_000,
      );
    });
    return await Promise.race([server.waitForLog(pattern), late]).finally(() =>
      clearTimeout(timer)
    );
  };
  const get = async (path: string, token = TEST_TOKEN) => {
    const response = await fetch(`${server.url}${path}`, authed(token, noStore));
    await response.body?.cancel();
    return { status: response.status, credential: fake.requests.at(-1)?.credential };
  };
  try {
    assert.deepEqual(await get("/zen"), { status: 200, credential: "ghp-a" });

    await Deno.writeTextFile(`${creds}/GITHUB_PAT_B`, "ghp-b");
    await Deno.remove(`${creds}/GITHUB_PAT_A`);
    await Deno.writeTextFile(`${creds}/GITHUB_APP_BOT_ID`, "77");
    await Deno.writeTextFile(`${creds}/GITHUB_APP_BOT_PEM`, privateKeyPem);
    // The watch sees the registry first, while its App is not in the pool yet: refused.
    await replaceFile(registry, NARROWED_REGISTRY);
    await logged(/"msg":"client registry reload failed.*github_token needs a GitHub App/);
    server.child.kill("SIGHUP");
    await logged(/"msg":"credentials reloaded"/);
    await logged(/"msg":"client registry reloaded"/);
    const sentSince = fake.requests.length;
    // An account no installation covers goes to the PATs: B alone now.
    assert.deepEqual(await get("/repos/elsewhere/x"), { status: 200, credential: "ghp-b" });
    assert.equal((await get("/zen")).status, 200);
    const narrowed = await get("/repos/acme/app", "narrow-token");
    assert.equal(narrowed.status, 200, "the client the same SIGHUP brought is served");
    assert.deepEqual(fake.mintRequests.at(-1), {
      installationId: "501",
      repositories: ["app"],
      permissions: { contents: "read" },
    });
    assert.ok(
      fake.requests.slice(sentSince).every((r) => r.credential !== "ghp-a"),
      "the removed PAT is no longer used",
    );

    // An App half given: the whole new set is refused, the log names what is missing.
    await Deno.writeTextFile(`${creds}/GITHUB_APP_HALF_ID`, "9");
    await Deno.remove(`${creds}/GITHUB_PAT_B`);
    server.child.kill("SIGHUP");
    const refused = await logged(/"msg":"credentials reload failed/);
    assert.match(refused, /GITHUB_APP_HALF_PEM/);
    assert.ok(!refused.includes("BEGIN"), "no key material in the log");
    assert.deepEqual(await get("/repos/elsewhere/y"), { status: 200, credential: "ghp-b" });
    assert.equal((await get("/repos/acme/app", "narrow-token")).status, 200);
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
