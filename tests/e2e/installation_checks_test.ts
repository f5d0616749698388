/**
 * DESIGN §8, what the pool reads of an installation before it mints: the permissions of an App
 * given by installation id (so a narrowing it cannot grant is a registry error at load), the
 * repositories GitHub refused a narrowing for (answered again without a mint), and suspended
 * installations (listed by GitHub, never routed to).
 */
import assert from "node:assert/strict";
import { createAppAuth } from "@octokit/auth-app";
import { FakeGitHub, generateAppKey } from "../support/fake_github.ts";
import { type FakeInstallation, installationDocument } from "../support/fake_installations.ts";
import { fakeAndGateway } from "../support/fixtures.ts";
import { authed, startGateway, TEST_TOKEN, type TestGateway } from "../support/gateway.ts";
import { RegistryError } from "../../src/registry/parse.ts";
import { silentLogger } from "../../src/log.ts";
import { pkcs8 } from "../../src/credentials/app_tokens.ts";

const LABS: FakeInstallation = {
  id: "502",
  account: "acme-labs",
  permissions: { contents: "read", issues: "read", metadata: "read" },
  repositories: ["app", "site"],
};

/** A client whose narrowing asks for `issues: write`, on line 5. */
const NARROWED_REGISTRY = `version: 1
clients:
  - name: narrow
    token: narrow-token
    github_token: { repositories: [app], permissions: { contents: read, issues: write } }
  - name: tester
    token: ${TEST_TOKEN}
`;

const NO_STORE = { headers: { "cache-control": "no-store" } };

async function call(gw: TestGateway, path: string, token = TEST_TOKEN) {
  const response = await fetch(`${gw.url}${path}`, authed(token, NO_STORE));
  return { status: response.status, body: await response.text() };
}

/** An App given by installation id (`OLD`), installed on acme-labs. */
async function explicitApp() {
  const { privateKeyPem, publicKeyPem } = await generateAppKey();
  return {
    fakeApp: { id: "88", installations: [LABS], publicKeyPem },
    env: {
      GITHUB_APP_OLD_ID: "88",
      GITHUB_APP_OLD_INSTALLATION_ID: LABS.id,
      GITHUB_APP_OLD_PEM: privateKeyPem,
    },
  };
}

const mintCalls = (fake: FakeGitHub, id: string) =>
  fake.requests.filter((r) => r.path === `/app/installations/${id}/access_tokens`);

const logged = (gw: TestGateway, msg: string) =>
  gw.logs.map((line) => JSON.parse(line)).filter((line) => line.msg === msg);

Deno.test("an App given by installation id: its permissions are read at start-up, so a narrowing it cannot grant is a registry error at load", async () => {
  const { fakeApp, env } = await explicitApp();
  await using fake = await FakeGitHub.start({ apps: [fakeApp] });
  const error = await startGateway({ githubApiUrl: fake.url, env, registry: NARROWED_REGISTRY })
    .catch((e) => e);
  assert.ok(error instanceof RegistryError, String(error));
  assert.match(
    error.message,
    /registry\.yaml:5: client "narrow" github_token asks for issues: write \(the installation has read\), which no installation of the pool's GitHub Apps can grant \(OLD and 0 more checked\)/,
  );
  const lookup = fake.requests.find((r) => r.path === `/app/installations/${LABS.id}`);
  assert.equal(lookup?.headers.get("authorization")?.startsWith("Bearer "), true, "the App JWT");
  assert.equal(mintCalls(fake, LABS.id).length, 0, "nothing minted to find out");
});

Deno.test("a failed permissions lookup does not block start-up; GitHub judges the mint; a reload reads them again", async () => {
  const { fakeApp, env } = await explicitApp();
  await using fake = await FakeGitHub.start({ apps: [fakeApp] });
  const lookupPath = `/app/installations/${LABS.id}`;
  fake.setResource(lookupPath, { message: "Server Error" }, { status: 502 });
  await using gw = await startGateway({ githubApiUrl: fake.url, env, registry: NARROWED_REGISTRY });
  const [warning] = logged(
    gw,
    "GitHub App installation permissions could not be read; GitHub judges narrowed mints",
  );
  assert.equal(warning?.credential, "OLD");
  assert.match(warning?.detail, /GitHub answered 502/);

  const refused = await call(gw, "/repos/acme-labs/app", "narrow-token");
  assert.equal(refused.status, 403);
  assert.match(JSON.parse(refused.body).message, /not granted to this installation/);
  assert.deepEqual(mintCalls(fake, LABS.id).map((r) => r.status), [422]);

  // GitHub answers again; a reload reads the permissions and refuses before any mint.
  fake.setResource(lookupPath, installationDocument(fake.url, "88", LABS));
  fake.clearRequests();
  assert.equal(await gw.gateway.credentials.reload(silentLogger), true);
  const again = await call(gw, "/repos/acme-labs/app", "narrow-token");
  assert.equal(again.status, 403);
  assert.match(
    JSON.parse(again.body).message,
    /^Resource not accessible by integration: GitHub App installation OLD cannot grant issues: write \(the installation has read\)/,
  );
  assert.equal(mintCalls(fake, LABS.id).length, 0);
  assert.equal(fake.requests.filter((r) => r.path === lookupPath).length, 1);
});

const REPOSITORY_REGISTRY = `version: 1
clients:
  - name: tester
    token: ${TEST_TOKEN}
  - name: elsewhere
    token: elsewhere-token
    github_token: { repositories: [gone], permissions: { contents: read } }
`;

Deno.test("a repository GitHub refused for a narrowing: the same 403 without a mint, until the installations are read again", async () => {
  const { privateKeyPem, publicKeyPem } = await generateAppKey();
  await using setup = await fakeAndGateway({
    fake: { apps: [{ id: "77", installations: [LABS], publicKeyPem }] },
    env: { GITHUB_APP_BOT_ID: "77", GITHUB_APP_BOT_PEM: privateKeyPem },
    gateway: { registry: REPOSITORY_REGISTRY },
  });
  const { fake, gw } = setup;
  const first = await call(gw, "/repos/acme-labs/gone", "elsewhere-token");
  assert.equal(first.status, 403);
  assert.match(
    JSON.parse(first.body).message,
    /^Resource not accessible by integration: GitHub refused to mint a token for repositories \[gone\].*not accessible to the parent installation\.$/,
  );
  for (let i = 0; i < 3; i++) {
    const again = await call(gw, "/repos/acme-labs/gone", "elsewhere-token");
    assert.deepEqual(again, first);
  }
  assert.deepEqual(mintCalls(fake, LABS.id).map((r) => r.status), [422], "one mint, not four");
  assert.equal((await call(gw, "/repos/acme-labs/app")).status, 200, "others are served");

  // An installation webhook (the repositories may have been added) asks GitHub again.
  await gw.gateway.pool.refreshInstallations();
  assert.equal((await call(gw, "/repos/acme-labs/gone", "elsewhere-token")).status, 403);
  assert.equal(mintCalls(fake, LABS.id).filter((r) => r.status === 422).length, 2);
  // So does a reload.
  assert.equal(await gw.gateway.credentials.reload(silentLogger), true);
  assert.equal((await call(gw, "/repos/acme-labs/gone", "elsewhere-token")).status, 403);
  assert.equal(mintCalls(fake, LABS.id).filter((r) => r.status === 422).length, 3);
});

const SUSPENDED: FakeInstallation = {
  id: "503",
  account: "acme-oss",
  suspendedAt: "2026-11-30T12:00:00Z",
};

Deno.test("fake: GitHub lists a suspended installation with suspended_at and refuses its mints (403)", async () => {
  const { privateKeyPem, publicKeyPem } = await generateAppKey();
  await using fake = await FakeGitHub.start({
    apps: [{ id: "77", installations: [SUSPENDED], publicKeyPem }],
  });
  const auth = createAppAuth({ appId: "77", privateKey: pkcs8(privateKeyPem) });
  const headers = { authorization: `Bearer ${(await auth({ type: "app" })).token}` };
  const listing = await fetch(`${fake.url}/app/installations`, { headers });
  const [entry] = await listing.json();
  assert.equal(entry.suspended_at, SUSPENDED.suspendedAt);
  assert.equal(entry.suspended_by.login, "acme-oss-admin");
  const mint = await fetch(`${fake.url}/app/installations/${SUSPENDED.id}/access_tokens`, {
    method: "POST",
    headers,
  });
  assert.equal(mint.status, 403);
  assert.equal((await mint.json()).message, "This installation has been suspended");
});

Deno.test("a suspended installation is not routed to: skipped at discovery, logged once", async () => {
  const { privateKeyPem, publicKeyPem } = await generateAppKey();
  const acme: FakeInstallation = { id: "501", account: "acme" };
  await using setup = await fakeAndGateway({
    fake: {
      apps: [{ id: "77", installations: [acme, SUSPENDED], publicKeyPem }],
      pats: { "ghp-main": {} },
    },
    env: {
      GITHUB_APP_BOT_ID: "77",
      GITHUB_APP_BOT_PEM: privateKeyPem,
      GITHUB_PAT_MAIN: "ghp-main",
    },
  });
  const { fake, gw } = setup;
  assert.deepEqual(gw.gateway.pool.installations().map((i) => i.account), ["acme"]);
  const answer = await call(gw, "/repos/acme-oss/app");
  assert.equal(answer.status, 200);
  const request = fake.requests.findLast((r) => r.path === "/repos/acme-oss/app");
  assert.equal(request?.credential, "ghp-main", "a PAT stands in for the suspended installation");
  assert.equal(mintCalls(fake, SUSPENDED.id).length, 0);
  await gw.gateway.pool.refreshInstallations();
  await gw.gateway.pool.refreshInstallations();
  const lines = logged(gw, "GitHub App installation is suspended: not routed to");
  assert.deepEqual(lines.map((l) => [l.credential, l.account, l.suspendedAt]), [
    ["BOT@acme-oss", "acme-oss", SUSPENDED.suspendedAt],
  ]);
});

Deno.test("an App given by the id of a suspended installation is not lent out; logged once", async () => {
  const { privateKeyPem, publicKeyPem } = await generateAppKey();
  await using setup = await fakeAndGateway({
    fake: {
      apps: [{ id: "77", installations: [SUSPENDED], publicKeyPem }],
      pats: { "ghp-main": {} },
    },
    env: {
      GITHUB_APP_BOT_ID: "77",
      GITHUB_APP_BOT_INSTALLATION_ID: SUSPENDED.id,
      GITHUB_APP_BOT_PEM: privateKeyPem,
      GITHUB_PAT_MAIN: "ghp-main",
    },
  });
  const { fake, gw } = setup;
  for (let i = 0; i < 3; i++) assert.equal((await call(gw, "/repos/acme-oss/app")).status, 200);
  const seen = fake.requests.filter((r) => r.path === "/repos/acme-oss/app");
  assert.deepEqual(seen.map((r) => r.credential), ["ghp-main", "ghp-main", "ghp-main"]);
  assert.equal(mintCalls(fake, SUSPENDED.id).length, 0, "no mint GitHub would refuse");
  await gw.gateway.pool.refreshInstallations();
  assert.equal(await gw.gateway.credentials.reload(silentLogger), true);
  assert.equal((await call(gw, "/repos/acme-oss/app")).status, 200);
  assert.equal(mintCalls(fake, SUSPENDED.id).length, 0);
  const lines = logged(gw, "GitHub App installation is suspended: not routed to");
  assert.deepEqual(lines.map((l) => [l.credential, l.installationId]), [["BOT", SUSPENDED.id]]);
});
