/**
 * `GET /status` over HTTP: who may see it, HTML and JSON of the same data, numbers that match
 * the fake GitHub's quota and the traffic sent, and no secret in either.
 */
import assert from "node:assert/strict";
import { generateAppKey } from "../support/fake_github.ts";
import { fakeAndGateway } from "../support/fixtures.ts";
import { withStatusSections } from "../support/status_sections.ts";

const PAT = "ghp_status_page_secret_value";
const REGISTRY = `version: 1
clients:
  - name: ci
    token: ci-token-secret
    limits:
      points_per_hour: 5
  - name: operator
    token: operator-token-secret
    scopes:
      - { method: GET, path: /status }
  - name: narrow
    token: narrow-token-secret
    scopes:
      - { method: GET, path: "/repos/.*" }
`;

async function setup(extraEnv: Record<string, string> = {}) {
  const { privateKeyPem, publicKeyPem } = await generateAppKey("pkcs8");
  const fixture = await fakeAndGateway({
    fake: {
      pats: { [PAT]: {} },
      apps: [{ id: "77", installationId: "977", publicKeyPem }],
    },
    gateway: { registry: REGISTRY },
    env: {
      GITHUB_PAT_MAIN: PAT,
      GITHUB_APP_BOT_ID: "77",
      GITHUB_APP_BOT_INSTALLATION_ID: "977",
      GITHUB_APP_BOT_PEM: privateKeyPem,
      METRICS_TOKEN: "metrics-token-secret",
      ...extraEnv,
    },
  });
  return { ...fixture, privateKeyPem };
}

async function send(url: string, token: string, init: RequestInit = {}) {
  const headers = new Headers(init.headers);
  headers.set("authorization", `token ${token}`);
  const response = await fetch(url, { ...init, headers });
  await response.body?.cancel();
  return response;
}

Deno.test("/status: METRICS_TOKEN or a client scoped to it; a browser is asked for Basic auth", async () => {
  await using fixture = await setup();
  const { gw } = fixture;
  const none = await fetch(`${gw.url}/status`);
  assert.equal(none.status, 401);
  assert.match(none.headers.get("www-authenticate") ?? "", /^Basic realm="github-proxy status"/);
  await none.body?.cancel();
  const bearer = await fetch(`${gw.url}/status`, {
    headers: { authorization: "Bearer metrics-token-secret" },
  });
  assert.equal(bearer.status, 200);
  assert.match(bearer.headers.get("content-type") ?? "", /^text\/html/);
  assert.match(bearer.headers.get("content-security-policy") ?? "", /default-src 'none'/);
  await bearer.body?.cancel();
  const basic = await fetch(`${gw.url}/status`, {
    headers: { authorization: `Basic ${btoa("anyone:metrics-token-secret")}` },
  });
  assert.equal(basic.status, 200);
  await basic.body?.cancel();
  const operator = await fetch(`${gw.url}/status`, {
    headers: { authorization: `Basic ${btoa("x:operator-token-secret")}` },
  });
  assert.equal(operator.status, 200);
  await operator.body?.cancel();
  assert.equal((await send(`${gw.url}/status`, "narrow-token-secret")).status, 403);
  assert.equal((await send(`${gw.url}/status`, "wrong-token")).status, 401);
});

Deno.test("/status shows the pool, clients and cache as the fake and the traffic say", async () => {
  await using fixture = await setup();
  const { gw, fake } = fixture;
  for (const path of ["/repos/acme/app", "/repos/acme/app", "/repos/acme/lib"]) {
    assert.equal((await send(`${gw.url}${path}`, "ci-token-secret")).status, 200);
  }
  const json = await fetch(`${gw.url}/status`, {
    headers: { authorization: "Bearer metrics-token-secret", accept: "application/json" },
  });
  assert.equal(json.status, 200);
  assert.match(json.headers.get("content-type") ?? "", /^application\/json/);
  const data = await json.json();
  const ci = data.clients.find((c: { name: string }) => c.name === "ci");
  assert.equal(ci.requests, 3);
  assert.equal(ci.pointsSpent, 2);
  assert.equal(ci.pointsSaved, 1);
  assert.deepEqual(ci.budget, { limit: 5, remaining: 3, used: 2 });
  assert.deepEqual(ci.refused, { budget: 0, reserve: 0, rate: 0, concurrency: 0 });
  const core = data.pool.owners.flatMap((o: { resources: { resource: string }[] }) => o.resources)
    .find((r: { resource: string }) => r.resource === "core");
  assert.equal(core.limit, 5000);
  assert.equal(core.remaining, fake.remaining(PAT));
  assert.equal(data.cache.backend, "memory");
  assert.equal(data.cache.healthy, true);
  assert.equal(data.cache.entries, 2);
  assert.equal(data.cache.hitRatio, 1 / 3);
  assert.equal(data.history.length, 60);
  assert.equal(data.history.at(-1).spent, 2);
  assert.equal(data.history.at(-1).saved, 1);
  const html = await (await fetch(`${gw.url}/status?refresh=30`, {
    headers: { authorization: "Bearer metrics-token-secret" },
  })).text();
  assert.match(html, /^<!DOCTYPE html><html lang="en">/);
  assert.match(html, /<meta http-equiv="refresh" content="30"/);
  assert.match(html, /<tr data-client="ci">/);
  assert.match(html, /<svg id="points-chart"/);
  assert.doesNotMatch(html, /<script|src="http|href="http/);
});

Deno.test("no secret on /status: tokens, PAT, App key absent from HTML and JSON", async () => {
  await using fixture = await setup();
  const { gw, privateKeyPem } = fixture;
  await send(`${gw.url}/repos/acme/app`, "ci-token-secret");
  const auth = { authorization: "Bearer metrics-token-secret" };
  const html = await (await fetch(`${gw.url}/status`, { headers: auth })).text();
  const json = await (await fetch(`${gw.url}/status`, {
    headers: { ...auth, accept: "application/json" },
  })).text();
  const pemBody = privateKeyPem.split("\n")[1];
  for (const page of [html, json]) {
    for (
      const secret of [
        PAT,
        "ci-token-secret",
        "operator-token-secret",
        "metrics-token-secret",
        pemBody,
        "PRIVATE KEY",
        "ghs_",
      ]
    ) {
      assert.ok(!page.includes(secret), `${secret} on the page`);
    }
  }
  assert.match(html, /MAIN \(pat\)/);
  assert.match(html, /BOT \(app\)/);
});

Deno.test("/status JSON: the pool's installations with narrowed tokens, the receiver's deliveries and dispatches", async () => {
  const { fixture, deliveryId: id } = await withStatusSections();
  await using _ = fixture;
  const { fake, gw } = fixture;
  const text = await (await fetch(`${gw.url}/status`, {
    headers: { authorization: "Bearer metrics-token-secret", accept: "application/json" },
  })).text();
  const status = JSON.parse(text);
  assert.equal(status.installations.length, 1);
  const { tokens, ...installation } = status.installations[0];
  assert.deepEqual(installation, {
    credential: "BOT@acme",
    installationId: "501",
    account: "acme",
    repositorySelection: "all",
  });
  // The narrowed client's token, and the full one the dispatch went out with.
  const narrowed = tokens.find((token: { repositories?: string[] }) => token.repositories);
  assert.deepEqual(narrowed.repositories, ["site"]);
  assert.deepEqual(narrowed.permissions, { contents: "read" });
  assert.ok(narrowed.expiresInSeconds > 3500 && narrowed.expiresInSeconds <= 3600);
  assert.equal(tokens.length, 2);
  assert.deepEqual(
    status.webhooks.deliveries.map((
      d: Record<string, string>,
    ) => [d.id, d.event, d.action, d.repository, d.outcome]),
    [
      [id, "repository", "created", "acme/new", "processed"],
    ],
  );
  assert.equal(status.webhooks.outcomes.sent, 1);
  assert.equal(status.webhooks.outcomes.failed, 0);
  // The built-in client the dispatch was made as is listed, as /metrics lists its budget.
  assert.deepEqual(
    status.clients.map((client: { name: string; pointsSpent: number }) => [
      client.name,
      client.pointsSpent,
    ]),
    [["site-bot", 1], ["webhooks", 1]],
  );
  assert.equal(fake.dispatches.calls.filter((call) => call.status === 204).length, 1);
  assert.equal(fake.issuedTokens().length, 2);
  for (const { token } of fake.issuedTokens()) {
    assert.ok(!text.includes(token), "a token on /status");
  }
});
