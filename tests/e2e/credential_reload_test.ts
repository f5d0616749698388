/** DESIGN §8: credentials from files, reloaded on SIGHUP with requests in flight. */
import assert from "node:assert/strict";
import { FakeGitHub } from "../support/fake_github.ts";
import { authed, startGateway } from "../support/gateway.ts";
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
    await new Promise((resolve) => setTimeout(resolve, 100));
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
