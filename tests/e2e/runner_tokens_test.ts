import assert from "node:assert/strict";
import { runnerTokenPath } from "../../src/endpoints/runner_tokens.ts";
import type { TestGateway } from "../support/gateway.ts";
import { fakeAndGateway } from "../support/fixtures.ts";

const PAT = "pat-runner";
const REGISTRY = `version: 1
clients:
  - name: registrar
    token: registrar-token
    scopes:
      - method: POST
        path: /orgs/acme/actions/runners/(registration|remove)-token
      - method: POST
        path: /repos/acme/app/actions/runners/registration-token
      - method: POST
        path: /enterprises/acme-ent/actions/runners/registration-token
      - method: POST
        path: /orgs/unknown-org/actions/runners/registration-token
  - name: reader
    token: reader-token
    scopes:
      - method: GET
        path: .*
`;

Deno.test("runner scope strings map to GitHub's token endpoints", () => {
  const table: [kind: "registration" | "remove", scope: unknown, path: string | null][] = [
    ["registration", "acme", "/orgs/acme/actions/runners/registration-token"],
    ["remove", "acme", "/orgs/acme/actions/runners/remove-token"],
    ["registration", "acme/app", "/repos/acme/app/actions/runners/registration-token"],
    ["remove", "acme/.github", "/repos/acme/.github/actions/runners/remove-token"],
    ["registration", "enterprise:big-co", "/enterprises/big-co/actions/runners/registration-token"],
    ["registration", "", null],
    ["registration", "a/b/c", null],
    ["registration", "..", null],
    ["registration", "acme/..", null],
    ["registration", "acme/.", null],
    ["registration", "enterprise:", null],
    ["registration", "enterprise:a/b", null],
    ["registration", "acme%2f..", null],
    ["registration", "ac me", null],
    ["registration", "/acme", null],
    ["registration", "acme/", null],
    ["registration", 5, null],
    ["registration", undefined, null],
  ];
  for (const [kind, scope, path] of table) {
    const result = runnerTokenPath(kind, scope);
    assert.deepEqual(result.ok ? result.path : null, path, JSON.stringify(scope));
  }
});

/** The runner PAT and the registrar/reader registry. */
function registrar() {
  return fakeAndGateway({
    fake: { pats: { [PAT]: {} } },
    gateway: { registry: REGISTRY },
    env: { GITHUB_PAT_RUNNER: PAT },
  });
}

function post(
  gw: TestGateway,
  endpoint: string,
  body: string,
  token = "registrar-token",
): Promise<Response> {
  return fetch(`${gw.url}${endpoint}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body,
  });
}

Deno.test("runner endpoints mint tokens through the pool when the scopes allow it", async () => {
  await using setup = await registrar();
  const { fake, gw } = setup;
  const cases: [endpoint: string, scope: string, upstream: string][] = [
    ["/register", "acme", "/orgs/acme/actions/runners/registration-token"],
    ["/remove", "acme", "/orgs/acme/actions/runners/remove-token"],
    ["/register", "acme/app", "/repos/acme/app/actions/runners/registration-token"],
    [
      "/register",
      "enterprise:acme-ent",
      "/enterprises/acme-ent/actions/runners/registration-token",
    ],
  ];
  for (const [endpoint, scope, upstream] of cases) {
    fake.clearRequests();
    const response = await post(gw, endpoint, JSON.stringify({ scope }));
    assert.equal(response.status, 201, scope);
    const answer = await response.json();
    assert.deepEqual(Object.keys(answer).sort(), ["expires_at", "token"]);
    assert.match(answer.token, /^[A-Z0-9]{29}$/);
    assert.ok(!Number.isNaN(Date.parse(answer.expires_at)));
    assert.deepEqual(fake.requests.map((r) => [r.method, r.path, r.credential]), [
      ["POST", upstream, PAT],
    ]);
    assert.equal(fake.requests[0].body.length, 0, "the client's body is not sent upstream");
  }
});

Deno.test("runner endpoints refuse what the client's scopes do not allow", async () => {
  await using setup = await registrar();
  const { fake, gw } = setup;
  const refused: [endpoint: string, scope: string, token: string, path: string][] = [
    ["/register", "other", "registrar-token", "/orgs/other/actions/runners/registration-token"],
    ["/remove", "acme/app", "registrar-token", "/repos/acme/app/actions/runners/remove-token"],
    ["/register", "acme", "reader-token", "/orgs/acme/actions/runners/registration-token"],
  ];
  for (const [endpoint, scope, token, path] of refused) {
    const response = await post(gw, endpoint, JSON.stringify({ scope }), token);
    assert.equal(response.status, 403);
    const refusal = await response.json();
    assert.match(refusal.message, /^Resource not accessible by github-proxy client "/);
    assert.match(refusal.detail, new RegExp(`^may not POST ${path}`));
  }
  assert.equal(fake.requests.length, 0);
});

Deno.test("runner endpoints answer 400 to invalid scopes and bodies", async () => {
  await using setup = await registrar();
  const { fake, gw } = setup;
  for (
    const body of ['{"scope":"a/b/c"}', '{"scope":"acme/.."}', '{"scope":7}', "{}", "acme", ""]
  ) {
    const response = await post(gw, "/register", body);
    assert.equal(response.status, 400, body);
    const error = await response.json();
    assert.equal(typeof error.message, "string");
    assert.equal(typeof error.documentation_url, "string");
  }
  assert.equal(fake.requests.length, 0);
});

Deno.test("runner endpoints pass GitHub's errors on with their status", async () => {
  await using setup = await registrar();
  const { fake, gw } = setup;
  const response = await post(gw, "/register", JSON.stringify({ scope: "unknown-org" }));
  assert.equal(response.status, 404);
  assert.equal((await response.json()).message, "Not Found");
  assert.equal(fake.requests.length, 1);
});

Deno.test("runner endpoints need a known client token", async () => {
  await using setup = await registrar();
  const { fake, gw } = setup;
  const response = await post(gw, "/register", JSON.stringify({ scope: "acme" }), "nope");
  assert.equal(response.status, 401);
  assert.equal(fake.requests.length, 0);
});
