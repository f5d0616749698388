/**
 * DESIGN §8: one App on several accounts, discovered and routed by the account in the path;
 * listed again on installation webhooks; narrowed tokens minted per client; credentials reloaded
 * from files on SIGHUP.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../support/clock.ts";
import { type FakeApp, FakeGitHub, generateAppKey } from "../support/fake_github.ts";
import { type FakeInstallation, installationDocument } from "../support/fake_installations.ts";
import { fakeAndGateway } from "../support/fixtures.ts";
import { authed, startGateway, TEST_TOKEN, type TestGateway } from "../support/gateway.ts";
import { sendDelivery } from "../support/webhook_sender.ts";
import { RegistryError } from "../../src/registry/parse.ts";
import { parseExposition } from "../support/prometheus_text.ts";
import { until } from "../support/until.ts";

const ACME: FakeInstallation = { id: "501", account: "acme" };
const LABS: FakeInstallation = {
  id: "502",
  account: "acme-labs",
  permissions: { contents: "read", issues: "read", metadata: "read" },
};

async function app(installations: FakeInstallation[]) {
  const { privateKeyPem, publicKeyPem } = await generateAppKey();
  const fakeApp: FakeApp = { id: "77", installations, publicKeyPem };
  return { fakeApp, env: { GITHUB_APP_BOT_ID: "77", GITHUB_APP_BOT_PEM: privateKeyPem } };
}

async function call(gw: TestGateway, path: string, init: RequestInit = {}, token = TEST_TOKEN) {
  const response = await fetch(`${gw.url}${path}`, authed(token, init));
  const body = await response.text();
  return { status: response.status, body };
}

/** The credential (token) and status of the last call the fake got for `path`. */
function last(fake: FakeGitHub, path: string) {
  const request = fake.requests.findLast((r) => r.path === path);
  return request && { credential: request.credential, status: request.status };
}

/** Which installation each issued token belongs to. */
function installationOf(fake: FakeGitHub, token: string | null | undefined): string | undefined {
  return fake.issuedTokens().find((t) => t.token === token)?.installationId;
}

Deno.test("fake: an installation token answers 404 on the other account's repositories", async () => {
  const { fakeApp, env } = await app([ACME, LABS]);
  await using setup = await fakeAndGateway({ fake: { apps: [fakeApp] }, env });
  const { fake, gw } = setup;
  assert.equal((await call(gw, "/repos/acme/app")).status, 200);
  const acmeToken = last(fake, "/repos/acme/app")!.credential;
  const direct = await fetch(`${fake.url}/repos/acme-labs/x`, {
    headers: { authorization: `token ${acmeToken}` },
  });
  assert.equal(direct.status, 404);
  assert.equal((await direct.json()).message, "Not Found");
});

Deno.test("discovery and routing: REST, /orgs, GraphQL by the pool's choice, PAT for an uncovered owner", async () => {
  const { fakeApp, env } = await app([ACME, LABS]);
  await using setup = await fakeAndGateway({
    fake: { apps: [fakeApp], pats: { "ghp-main": { login: "someone" } } },
    env: { ...env, GITHUB_PAT_MAIN: "ghp-main" },
  });
  const { fake, gw } = setup;
  // Listed once at start, with the App's JWT.
  const listings = fake.requests.filter((r) => r.path === "/app/installations");
  assert.equal(listings.length, 1);
  assert.equal(listings[0].headers.get("authorization")?.startsWith("Bearer "), true);
  assert.deepEqual(
    gw.gateway.pool.installations().map((i) => [i.credential, i.account, i.repositorySelection]),
    [["BOT@acme", "acme", "all"], ["BOT@acme-labs", "acme-labs", "all"]],
  );
  const summary = gw.logs.map((l) => JSON.parse(l)).find((l) => l.msg === "github-proxy starting");
  assert.deepEqual(summary.installations.map((i: { account: string }) => i.account), [
    "acme",
    "acme-labs",
  ]);

  const routed: [string, string, string][] = [
    ["/repos/acme/app", "501", "installation"],
    ["/repos/ACME-LABS/site", "502", "installation"],
    ["/orgs/acme-labs", "502", "installation"],
    ["/repos/acme/app/issues", "501", "installation"],
  ];
  for (const [path, installation] of routed) {
    const answer = await call(gw, path, { headers: { "cache-control": "no-store" } });
    assert.notEqual(answer.status, 404, path);
    assert.equal(installationOf(fake, last(fake, path)?.credential), installation, path);
  }
  const graphql = await call(gw, "/graphql", {
    method: "POST",
    body: JSON.stringify({ query: "{ viewer { login } }" }),
  });
  assert.equal(graphql.status, 200);
  assert.ok(last(fake, "/graphql")?.credential, "GraphQL went out with a pool credential");
  const other = await call(gw, "/repos/elsewhere/tool");
  assert.equal(other.status, 200);
  assert.equal(last(fake, "/repos/elsewhere/tool")?.credential, "ghp-main");
  const fallback = gw.logs.map((l) => JSON.parse(l)).filter((l) =>
    l.msg.startsWith("no installation covers the account")
  );
  assert.equal(fallback.length, 1);
  assert.equal(fallback[0].account, "elsewhere");
  assert.deepEqual(fallback[0].credentials, ["MAIN"]);
  const metrics = await (await fetch(`${gw.url}/metrics`)).text();
  assert.match(
    metrics,
    /github_proxy_app_installations\{app="BOT",account="acme-labs",repository_selection="all"\} 1/,
  );
});

Deno.test("with no credential left for an owner the client gets GitHub's own 404, sent anonymously", async () => {
  const { fakeApp, env } = await app([ACME]);
  await using setup = await fakeAndGateway({
    fake: { apps: [fakeApp], privateOwners: ["secret-org"] },
    env,
  });
  const { fake, gw } = setup;
  const answer = await call(gw, "/repos/secret-org/x");
  assert.equal(answer.status, 404);
  assert.equal(JSON.parse(answer.body).message, "Not Found");
  assert.deepEqual(last(fake, "/repos/secret-org/x"), { credential: null, status: 404 });
});

Deno.test("explicit installation ids keep working beside discovered ones, standing in for other owners", async () => {
  const discovered = await app([ACME]);
  const { privateKeyPem, publicKeyPem } = await generateAppKey();
  await using setup = await fakeAndGateway({
    fake: { apps: [discovered.fakeApp, { id: "88", installationId: "988", publicKeyPem }] },
    env: {
      ...discovered.env,
      GITHUB_APP_OLD_ID: "88",
      GITHUB_APP_OLD_INSTALLATION_ID: "988",
      GITHUB_APP_OLD_PEM: privateKeyPem,
    },
  });
  const { fake, gw } = setup;
  assert.equal((await call(gw, "/repos/acme/app")).status, 200);
  assert.equal(installationOf(fake, last(fake, "/repos/acme/app")?.credential), "501");
  assert.equal((await call(gw, "/repos/someone/else")).status, 200);
  assert.equal(installationOf(fake, last(fake, "/repos/someone/else")?.credential), "988");
});

Deno.test("installations are listed again hourly (injected clock) and on demand", async () => {
  const clock = new ManualClock();
  const installations = [ACME];
  const { fakeApp, env } = await app(installations);
  // The fake keeps real time (it checks App JWTs against it); the pool's clock is the test's.
  await using fake = await FakeGitHub.start({ apps: [fakeApp], pats: { "ghp-main": {} } });
  await using gw = await startGateway({
    githubApiUrl: fake.url,
    env: { ...env, GITHUB_PAT_MAIN: "ghp-main" },
    now: clock.now,
  });
  const listings = () => fake.requests.filter((r) => r.path === "/app/installations").length;
  installations.push({ id: "503", account: "newco" });
  await call(gw, "/repos/newco/a", { headers: { "cache-control": "no-store" } });
  assert.equal(last(fake, "/repos/newco/a")?.credential, "ghp-main", "not listed yet");
  clock.advance(59 * 60_000);
  await call(gw, "/repos/newco/a", { headers: { "cache-control": "no-store" } });
  assert.equal(listings(), 1);
  // The hourly listing is slow: the request that starts it does not wait for it.
  fake.setListingLatency(3000);
  clock.advance(2 * 60_000);
  await call(gw, "/repos/newco/a", { headers: { "cache-control": "no-store" } });
  assert.equal(last(fake, "/repos/newco/a")?.credential, "ghp-main", "routed by the old table");
  await until(() => gw.gateway.pool.installations().some((i) => i.account === "newco"));
  assert.equal(listings(), 2, "an hour after the last listing");
  fake.setListingLatency(0);
  await call(gw, "/repos/newco/a", { headers: { "cache-control": "no-store" } });
  assert.equal(installationOf(fake, last(fake, "/repos/newco/a")?.credential), "503");
  // An installation webhook asks for it at once.
  installations.splice(0, 1);
  await gw.gateway.pool.refreshInstallations();
  assert.equal(listings(), 3);
  assert.deepEqual(gw.gateway.pool.installations().map((i) => i.account), ["newco"]);
  await call(gw, "/repos/acme/app", { headers: { "cache-control": "no-store" } });
  assert.equal(last(fake, "/repos/acme/app")?.credential, "ghp-main", "acme's installation left");
});

Deno.test("installation webhooks: the pool lists the App's installations again and routes by them", async () => {
  const installations = [ACME];
  const { fakeApp, env } = await app(installations);
  await using setup = await fakeAndGateway({
    fake: { apps: [fakeApp], pats: { "ghp-main": { login: "someone" } } },
    env: { ...env, GITHUB_PAT_MAIN: "ghp-main", GITHUB_WEBHOOK_SECRET: "hook-secret" },
  });
  const { fake, gw } = setup;
  const noStore = { headers: { "cache-control": "no-store" } };
  const deliver = async (action: string, installation: FakeInstallation) => {
    const payload = {
      action,
      installation: { id: Number(installation.id), account: { login: installation.account } },
    };
    const { response } = await sendDelivery(gw.url, {
      event: "installation",
      payload,
      secret: "hook-secret",
    });
    assert.equal(response.status, 202);
    await response.body?.cancel();
    await gw.gateway.webhooks.settled();
  };
  const newco: FakeInstallation = { id: "503", account: "newco" };
  installations.push(newco);
  assert.equal((await call(gw, "/repos/newco/x", noStore)).status, 200);
  assert.equal(last(fake, "/repos/newco/x")?.credential, "ghp-main", "not listed yet: the PAT");

  await deliver("created", newco);
  assert.equal((await call(gw, "/repos/newco/x", noStore)).status, 200);
  assert.equal(installationOf(fake, last(fake, "/repos/newco/x")?.credential), "503");

  installations.splice(installations.indexOf(newco), 1);
  await deliver("deleted", newco);
  assert.deepEqual(gw.gateway.pool.installations().map((i) => i.account), ["acme"]);
  assert.equal((await call(gw, "/repos/newco/x", noStore)).status, 200);
  assert.equal(last(fake, "/repos/newco/x")?.credential, "ghp-main", "routed away from it");
  assert.equal(fake.requests.filter((r) => r.path === "/app/installations").length, 3);
});

Deno.test("webhook dispatches are routed by installation: the second account's token, 204 not 404", async () => {
  const ops: FakeInstallation = { id: "504", account: "acme-ops" };
  const { fakeApp, env } = await app([ACME, ops]);
  await using setup = await fakeAndGateway({
    fake: { apps: [fakeApp] },
    env: { ...env, GITHUB_WEBHOOK_SECRET: "hook-secret" },
    gateway: {
      registry: `version: 1
clients:
  - name: tester
    token: ${TEST_TOKEN}
webhooks:
  - on: repository.created
    dispatch:
      repository: acme-ops/cop
      workflow: configure.yml
      ref: main
`,
    },
  });
  const { fake, gw } = setup;
  fake.dispatches.addWorkflow("acme-ops/cop", "configure.yml");
  const { response } = await sendDelivery(gw.url, {
    event: "repository",
    payload: { action: "created", repository: { name: "x", owner: { login: "acme" } } },
    secret: "hook-secret",
  });
  assert.equal(response.status, 202);
  await response.body?.cancel();
  await gw.gateway.webhooks.settled();
  assert.deepEqual(fake.dispatches.calls.map((call) => call.status), [204]);
  assert.equal(installationOf(fake, fake.dispatches.calls[0].credential), ops.id);
});

Deno.test("discovery follows every page and routes to at most 100 installations of an App", async () => {
  const many = Array.from({ length: 120 }, (_, i) => ({ id: `${1000 + i}`, account: `org-${i}` }));
  const { fakeApp, env } = await app(many);
  await using setup = await fakeAndGateway({ fake: { apps: [fakeApp] }, env });
  const { fake, gw } = setup;
  const pages = fake.requests.filter((r) => r.path === "/app/installations");
  assert.equal(pages.length, 2);
  assert.equal(gw.gateway.pool.installations().length, 100);
  assert.ok(gw.logs.some((l) => l.includes("more installations than the gateway routes to")));
});

const NARROWED_REGISTRY = `version: 1
clients:
  - name: tester
    token: ${TEST_TOKEN}
  - name: narrow
    token: narrow-token
    github_token:
      repositories: [app]
      permissions: { contents: read, issues: write }
`;

Deno.test("narrowed tokens: minted with exactly the client's scope, enforced by GitHub, cached per narrowing, renewed at 80 %", async () => {
  const clock = new ManualClock();
  const { fakeApp, env } = await app([ACME, LABS]);
  await using fake = await FakeGitHub.start({ apps: [fakeApp] });
  await using gw = await startGateway({
    githubApiUrl: fake.url,
    env,
    registry: NARROWED_REGISTRY,
    now: clock.now,
  });
  const noStore = { headers: { "cache-control": "no-store" } };
  assert.equal((await call(gw, "/repos/acme/app", noStore, "narrow-token")).status, 200);
  assert.deepEqual(fake.mintRequests, [{
    installationId: "501",
    repositories: ["app"],
    permissions: { contents: "read", issues: "write" },
  }]);
  const other = await call(gw, "/repos/acme/other", noStore, "narrow-token");
  assert.equal(other.status, 404, "GitHub enforces the repositories");
  const write = await call(gw, "/repos/acme/app/issues", {
    method: "POST",
    body: JSON.stringify({ title: "t" }),
  }, "narrow-token");
  assert.equal(write.status, 201, "issues: write was granted");
  assert.equal(fake.mintRequests.length, 1, "one token for the narrowing");
  // The full-access client gets a token of its own.
  assert.equal((await call(gw, "/repos/acme/app", noStore)).status, 200);
  assert.equal(fake.mintRequests.length, 2);
  assert.deepEqual(fake.mintRequests[1], { installationId: "501" });
  clock.advance(0.8 * 3600_000 + 1000);
  assert.equal((await call(gw, "/repos/acme/app", noStore, "narrow-token")).status, 200);
  assert.equal(fake.mintRequests.length, 3, "renewed at 80 % of its lifetime");
  assert.deepEqual(fake.mintRequests[2].repositories, ["app"]);
  const minted = gw.logs.map((l) => JSON.parse(l)).filter((l) =>
    l.msg === "installation token minted"
  );
  assert.deepEqual(minted.map((l) => l.narrowed), [true, false, true]);
  const metrics = await (await fetch(`${gw.url}/metrics`)).text();
  assert.match(
    metrics,
    /github_proxy_narrowed_token_mints_total\{credential="BOT@acme",outcome="success"\} 2/,
  );
  // acme-labs' installation has issues: read only: a clear 403 naming the permission.
  const labs = await call(gw, "/repos/acme-labs/app", noStore, "narrow-token");
  assert.equal(labs.status, 403);
  assert.match(
    JSON.parse(labs.body).message,
    /^Resource not accessible by integration: .*issues: write \(the installation has read\)/,
  );
  assert.equal(fake.mintRequests.length, 3, "nothing minted for an ungrantable narrowing");
});

/** The App installed on acme, and a gateway with `registry`. */
async function onAcme(registry: string) {
  const { fakeApp, env } = await app([ACME]);
  return await fakeAndGateway({ fake: { apps: [fakeApp] }, env, gateway: { registry } });
}

Deno.test("the shared cache serves a narrowed client: GitHub's ETag recomputed for its token", async () => {
  await using setup = await onAcme(NARROWED_REGISTRY);
  const { fake, gw } = setup;
  const first = await fetch(`${gw.url}/repos/acme/app`, authed());
  assert.match(first.headers.get("cache-status") ?? "", /stored/);
  await first.body?.cancel();
  const narrowed = await fetch(`${gw.url}/repos/acme/app`, authed("narrow-token"));
  assert.equal(narrowed.status, 200);
  assert.match(narrowed.headers.get("cache-status") ?? "", /fwd-status=304/);
  await narrowed.body?.cancel();
  const revalidation = fake.requests.findLast((r) => r.path === "/repos/acme/app")!;
  assert.equal(revalidation.status, 304);
  assert.equal(
    fake.issuedTokens().find((t) => t.token === revalidation.credential)?.scope?.repositories?.[0],
    "app",
  );
});

Deno.test("a narrowed request names its credential <NAME>@<login> and owner: access log, /usage, /status", async () => {
  const { fakeApp, env } = await app([ACME]);
  await using setup = await fakeAndGateway({
    fake: { apps: [fakeApp] },
    env,
    gateway: { registry: NARROWED_REGISTRY },
  });
  const { gw } = setup;
  const noStore = { headers: { "cache-control": "no-store" } };
  assert.equal((await call(gw, "/repos/acme/app", noStore, "narrow-token")).status, 200);
  // Stored by the full-access client, revalidated for the narrowed one with its own token.
  assert.equal((await call(gw, "/repos/acme/app/issues")).status, 200);
  assert.equal((await call(gw, "/repos/acme/app/issues", {}, "narrow-token")).status, 200);
  const lines = gw.logs.map((l) => JSON.parse(l)).filter((l) =>
    l.msg === "request" && l.client === "narrow"
  );
  assert.deepEqual(
    lines.map((l) => [l.path, l.cache, l.credential, l.owner]),
    [
      ["/repos/acme/app", "bypass", "BOT@acme", "BOT@acme"],
      ["/repos/acme/app/issues", "revalidated", "BOT@acme", "BOT@acme"],
    ],
  );
  const usage = await (await fetch(`${gw.url}/usage`, authed())).json();
  assert.deepEqual(
    usage.credentials.map((q: Record<string, unknown>) => [q.credential, q.resource, q.bad]),
    [["BOT@acme", "core", false]],
  );
  const status = await (await fetch(
    `${gw.url}/status`,
    authed(TEST_TOKEN, { headers: { accept: "application/json" } }),
  )).json();
  assert.deepEqual(
    status.pool.owners.map((o: { name: string; credentials: { name: string }[] }) => [
      o.name,
      o.credentials.map((c) => c.name),
    ]),
    [["BOT@acme", ["BOT@acme"]]],
  );
});

Deno.test("a narrowing no installation can grant is a registry error at load, naming its line", async () => {
  const { fakeApp, env } = await app([LABS]);
  await using fake = await FakeGitHub.start({ apps: [fakeApp] });
  const error = await startGateway({
    githubApiUrl: fake.url,
    env,
    registry: NARROWED_REGISTRY,
  }).catch((e) => e);
  assert.ok(error instanceof RegistryError, String(error));
  assert.match(
    error.message,
    /registry\.yaml:7: client "narrow" github_token asks for issues: write \(the installation has read\)/,
  );
});

Deno.test("mints per renewal period with three installations", async () => {
  const clock = new ManualClock();
  const { fakeApp, env } = await app([ACME, LABS, { id: "503", account: "acme-oss" }]);
  await using fake = await FakeGitHub.start({ apps: [fakeApp] });
  await using gw = await startGateway({ githubApiUrl: fake.url, env, now: clock.now });
  const perPeriod: number[] = [];
  for (let period = 0; period < 4; period++) {
    const before = fake.mints();
    for (let i = 0; i < 10; i++) {
      for (const account of ["acme", "acme-labs", "acme-oss"]) {
        const answer = await call(gw, `/repos/${account}/app`, {
          headers: { "cache-control": "no-store" },
        });
        assert.equal(answer.status, 200);
      }
      clock.advance(0.08 * 3600_000 - 1000);
    }
    perPeriod.push(fake.mints() - before);
    clock.advance(10_000);
  }
  console.log(`mints per renewal period (3 installations): ${perPeriod.join(", ")}`);
  assert.deepEqual(perPeriod, [3, 3, 3, 3]);
});

Deno.test("a narrowed mint GitHub refuses (422) is a 403 naming the permission; the App keeps serving the others", async () => {
  // Given by installation id, the App's permissions could not be read at load (GitHub answered
  // 502): GitHub judges the mint, and answers the lookup after it refused.
  const { privateKeyPem, publicKeyPem } = await generateAppKey();
  const installation = { ...LABS, repositories: ["app", "site"] };
  await using fake = await FakeGitHub.start({
    apps: [{ id: "88", installations: [installation], publicKeyPem }],
  });
  const lookup = `/app/installations/${LABS.id}`;
  fake.setResource(lookup, { message: "Server Error" }, { status: 502 });
  await using gw = await startGateway({
    githubApiUrl: fake.url,
    env: {
      GITHUB_APP_OLD_ID: "88",
      GITHUB_APP_OLD_INSTALLATION_ID: LABS.id,
      GITHUB_APP_OLD_PEM: privateKeyPem,
    },
    registry: `${NARROWED_REGISTRY}  - name: elsewhere
    token: elsewhere-token
    github_token: { repositories: [gone], permissions: { contents: read } }
`,
  });
  fake.setResource(lookup, installationDocument(fake.url, "88", installation));
  const noStore = { headers: { "cache-control": "no-store" } };
  const mintCalls = () =>
    fake.requests.filter((r) => r.path === `/app/installations/${LABS.id}/access_tokens`);
  const refused = await call(gw, "/repos/acme-labs/app", noStore, "narrow-token");
  assert.equal(refused.status, 403);
  const body = JSON.parse(refused.body);
  assert.match(
    body.message,
    /^Resource not accessible by integration: GitHub App installation OLD cannot grant issues: write \(the installation has read\)/,
  );
  assert.equal(typeof body.documentation_url, "string");
  assert.deepEqual(mintCalls().map((r) => r.status), [422]);

  const others = await call(gw, "/repos/acme-labs/app", noStore);
  assert.equal(others.status, 200, "the App does not rest for a client's narrowing");
  assert.equal(installationOf(fake, last(fake, "/repos/acme-labs/app")?.credential), LABS.id);
  assert.deepEqual(fake.mintRequests.at(-1), { installationId: LABS.id }, "its un-narrowed token");

  const again = await call(gw, "/repos/acme-labs/app", noStore, "narrow-token");
  assert.equal(again.status, 403);
  assert.equal(mintCalls().length, 2, "GitHub is not asked again for what it refused");
  const line = gw.logs.map((l) => JSON.parse(l)).find((l) =>
    l.msg === "narrowed token not minted: GitHub refused the narrowing"
  );
  assert.deepEqual([line?.client, line?.credential, line?.permission], ["narrow", "OLD", "issues"]);

  // Every permission granted, a repository the installation lacks: GitHub's own reason.
  const repository = await call(gw, "/repos/acme-labs/gone", noStore, "elsewhere-token");
  assert.equal(repository.status, 403);
  assert.equal(
    JSON.parse(repository.body).message,
    'Resource not accessible by integration: GitHub refused to mint a token for repositories [gone] and permissions {contents: read} on GitHub App installation OLD for the github_token of client "elsewhere": There is at least one repository that does not exist or is not accessible to the parent installation.',
  );
  assert.equal((await call(gw, "/repos/acme-labs/app", noStore)).status, 200);

  // Every mint, refused or not, narrowed or not, is one log line and counted.
  const mints = gw.logs.map((l) => JSON.parse(l)).filter((l) =>
    l.msg === "installation token minted"
  );
  assert.deepEqual(mints.map((l) => [l.credential, l.outcome, l.narrowed]), [
    ["OLD", "failure", true],
    ["OLD", "success", false],
    ["OLD", "failure", true],
  ]);
  const metrics = parseExposition(await (await fetch(`${gw.url}/metrics`)).text());
  assert.equal(metrics.value("github_proxy_token_cache_requests_total", { status: "failure" }), 2);
  assert.equal(metrics.value("github_proxy_token_cache_requests_total", { status: "success" }), 1);
  assert.equal(
    metrics.value("github_proxy_narrowed_token_mints_total", {
      credential: "OLD",
      outcome: "failure",
    }),
    2,
  );
});

Deno.test("freshness does not bypass a narrowing: a narrowed client revalidates what another credential cached", async () => {
  await using setup = await onAcme(`version: 1
clients:
  - name: tester
    token: ${TEST_TOKEN}
  - name: narrow
    token: narrow-token
    cache: { max_age: 600 }
    github_token: { repositories: [app], permissions: { contents: read } }
  - name: twin
    token: twin-token
    cache: { max_age: 600 }
    github_token: { permissions: { contents: read }, repositories: [app] }
`);
  const { fake, gw } = setup;
  for (const path of ["/repos/acme/app", "/repos/acme/other"]) {
    const stored = await fetch(`${gw.url}${path}`, authed());
    assert.match(stored.headers.get("cache-status") ?? "", /stored/, path);
    await stored.body?.cancel();
  }
  const upstreamCalls = () => fake.requests.filter((r) => r.path.startsWith("/repos/")).length;

  const outside = await fetch(`${gw.url}/repos/acme/other`, authed("narrow-token"));
  assert.equal(outside.status, 404, "GitHub's answer for a repository outside its narrowing");
  assert.equal((await outside.json()).message, "Not Found");
  const inside = await fetch(`${gw.url}/repos/acme/app`, authed("narrow-token"));
  assert.equal(inside.status, 200);
  assert.match(inside.headers.get("cache-status") ?? "", /fwd=stale; fwd-status=304/);
  assert.equal((await inside.json()).name, "app");
  assert.equal(upstreamCalls(), 4, "both asked GitHub");

  // Validated with this narrowing now: served fresh to it and to a client with the same one.
  const before = upstreamCalls();
  for (const token of ["narrow-token", "twin-token"]) {
    const fresh = await fetch(`${gw.url}/repos/acme/app`, authed(token));
    assert.match(fresh.headers.get("cache-status") ?? "", /; hit/, token);
    await fresh.body?.cancel();
  }
  assert.equal(upstreamCalls(), before);
});

Deno.test("a narrowed client does not join another credential's call in flight for the same key", async () => {
  await using setup = await onAcme(NARROWED_REGISTRY);
  const { fake, gw } = setup;
  fake.setLatency(300);
  const full = fetch(`${gw.url}/repos/acme/other`, authed());
  await until(() => gw.gateway.cache.inflight === 1, "the full client's call");
  const narrowed = await fetch(`${gw.url}/repos/acme/other`, authed("narrow-token"));
  assert.equal(narrowed.status, 404, "its own call, with its own token");
  assert.doesNotMatch(narrowed.headers.get("cache-status") ?? "", /collapsed/);
  await narrowed.body?.cancel();
  const answer = await full;
  assert.equal(answer.status, 200);
  await answer.body?.cancel();
});
