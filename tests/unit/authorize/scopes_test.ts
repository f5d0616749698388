import assert from "node:assert/strict";
import { parseRegistry } from "../../../src/registry/parse.ts";
import { requestTarget } from "../../../src/identify/target.ts";
import {
  decide,
  decideOperation,
  MAX_MATCHED_LENGTH,
  type OperationType,
} from "../../../src/authorize/scopes.ts";
import { FakeGitHub } from "../../support/fake_github.ts";
import { startGatewayProcess } from "../../support/process.ts";

const registry = parseRegistry(
  `clients:
  - name: full
    token: t-full
  - name: nobody
    token: t-nobody
    scopes: []
  - name: reader
    token: t-reader
    scopes:
      - method: GET
        path: /repos/acme/.*
      - method: POST
        path: /graphql
        graphql: query
    deny:
      - path: /repos/acme/secrets-.*
  - name: writer
    token: t-writer
    scopes:
      - method: GET|POST
        path: /repos/acme/app/issues(/\\d+)?
      - method: POST
        path: /api/graphql
        graphql: mutation
  - name: admin-but
    token: t-admin-but
    deny:
      - method: DELETE
        path: .*
      - path: /graphql
        graphql: mutation
  - name: no-graphql
    token: t-no-graphql
    scopes:
      - path: .*
    deny:
      - path: /graphql
`,
  "r.yaml",
  () => undefined,
);
const client = (name: string) => registry.clients.find((c) => c.name === name)!;
/** A request as identify hands it on: method upper-cased, GraphQL recognised in any case. */
const request = (method: string, path: string) =>
  requestTarget(method, { path, query: "", enterprisePrefix: "", upload: false });

type Expect = "allow" | "deny" | "classify";
const REST: [client: string, method: string, path: string, expect: Expect][] = [
  ["full", "DELETE", "/orgs/acme", "allow"],
  ["nobody", "GET", "/zen", "deny"],
  ["reader", "GET", "/repos/acme/app", "allow"],
  ["reader", "get", "/repos/acme/app", "allow"],
  ["reader", "GET", "/repos/ACME/app", "allow"],
  ["reader", "HEAD", "/repos/acme/app", "deny"],
  ["reader", "POST", "/repos/acme/app/issues", "deny"],
  ["reader", "GETS", "/repos/acme/app", "deny"],
  ["reader", "GET", "/repos/acme-evil/app", "deny"],
  ["reader", "GET", "/repos/acme", "deny"],
  ["reader", "GET", "/x/repos/acme/app", "deny"],
  ["reader", "GET", "/repos/acme/secrets-prod", "deny"],
  ["reader", "GET", "/repos/Acme/Secrets-prod", "deny"],
  ["reader", "GET", "/repos/acme/secrets", "allow"],
  ["writer", "POST", "/repos/acme/app/issues", "allow"],
  ["writer", "GET", "/repos/acme/app/issues/12", "allow"],
  ["writer", "GET", "/repos/acme/app/issues/12/comments", "deny"],
  ["writer", "PATCH", "/repos/acme/app/issues/12", "deny"],
  ["admin-but", "DELETE", "/repos/acme/app", "deny"],
  ["admin-but", "delete", "/repos/acme/app", "deny"],
  ["admin-but", "PUT", "/repos/acme/app", "allow"],
  ["no-graphql", "GET", "/repos/acme/app", "allow"],
];

for (const [name, method, path, expect] of REST) {
  Deno.test(`scope: ${name} ${method} ${path} → ${expect}`, () => {
    assert.equal(decide(client(name), request(method, path)).verdict, expect);
  });
}

/** GraphQL: the decision before reading the body, then per operation type. */
const GRAPHQL: [
  client: string,
  method: string,
  path: string,
  before: Expect,
  after?: Record<OperationType, "allow" | "deny">,
][] = [
  ["full", "POST", "/graphql", "allow"],
  ["nobody", "POST", "/graphql", "deny"],
  ["reader", "POST", "/graphql", "classify", {
    query: "allow",
    mutation: "deny",
    subscription: "deny",
  }],
  ["reader", "POST", "/api/graphql", "classify", {
    query: "allow",
    mutation: "deny",
    subscription: "deny",
  }],
  ["reader", "POST", "/GraphQL", "classify", {
    query: "allow",
    mutation: "deny",
    subscription: "deny",
  }],
  ["reader", "GET", "/graphql", "deny"],
  ["writer", "POST", "/graphql", "classify", {
    query: "deny",
    mutation: "allow",
    subscription: "deny",
  }],
  ["admin-but", "POST", "/api/graphql", "classify", {
    query: "allow",
    mutation: "deny",
    subscription: "allow",
  }],
  ["admin-but", "GET", "/graphql", "deny"],
  ["no-graphql", "POST", "/api/graphql", "deny"],
  ["no-graphql", "POST", "/graphql", "deny"],
];

for (const [name, method, path, before, after] of GRAPHQL) {
  Deno.test(`scope: ${name} ${method} ${path} → ${before}`, () => {
    assert.equal(decide(client(name), request(method, path)).verdict, before);
    for (const [operation, expect] of Object.entries(after ?? {})) {
      assert.equal(
        decideOperation(client(name), request(method, path), operation as OperationType).verdict,
        expect,
        operation,
      );
    }
  });
}

Deno.test("scope: a refusal says why, and which deny rule refused", () => {
  assert.deepEqual(decide(client("reader"), request("GET", "/repos/acme/secrets-x")), {
    verdict: "deny",
    reason: "a deny rule refuses it",
    rule: ".* /repos/acme/secrets-.*",
  });
  assert.deepEqual(decide(client("reader"), request("GET", "/orgs/acme")), {
    verdict: "deny",
    reason: "no scope allows it",
  });
  assert.deepEqual(
    decideOperation(client("reader"), request("POST", "/graphql"), "mutation"),
    { verdict: "deny", reason: "no scope allows GraphQL mutation operations" },
  );
});

Deno.test("scope: a method or path longer than the matched bound is refused, even with full access", () => {
  const long = "X".repeat(MAX_MATCHED_LENGTH + 1);
  for (const name of ["full", "reader"]) {
    assert.equal(decide(client(name), request(long, "/zen")).verdict, "deny");
    assert.equal(decide(client(name), request("GET", `/${long}`)).verdict, "deny");
  }
  assert.equal(
    decide(client("full"), request("GET", `/${"x".repeat(8000)}`)).verdict,
    "allow",
  );
});

Deno.test("scope: a pattern that would backtrack answers a hostile repository name at once (gateway process)", async () => {
  const github = await FakeGitHub.start();
  const dir = await Deno.makeTempDir();
  const registryPath = `${dir}/registry.yaml`;
  await Deno.writeTextFile(
    registryPath,
    `version: 1
clients:
  - name: triage
    token: t-triage
    scopes:
      - method: GET
        path: /repos/octo-org/([a-z0-9]+-?)+/issues(/.*)?
`,
  );
  const gateway = await startGatewayProcess(github.url, {
    CLIENT_REGISTRY_FILE_PATH: registryPath,
  });
  try {
    const headers = { authorization: "token t-triage" };
    // With a backtracking engine each character doubles the work: 28 froze the process for
    // seconds, 32 for minutes on a busy machine. The bound is generous; a linear engine needs ms.
    const hostile = `/repos/octo-org/${"a".repeat(32)}/pulls`;
    const refused = await fetch(`${gateway.server.url}${hostile}`, {
      headers,
      signal: AbortSignal.timeout(2000),
    });
    assert.equal(refused.status, 403);
    const body = await refused.json();
    assert.equal(body.message, 'Resource not accessible by github-proxy client "triage"');
    assert.match(body.detail, /no scope allows it/);
    const allowed = await fetch(`${gateway.server.url}/repos/octo-org/app-1/issues`, {
      headers,
      signal: AbortSignal.timeout(2000),
    });
    assert.equal(allowed.status, 200);
    await allowed.body?.cancel();
    assert.deepEqual(github.requests.map((r) => r.path), ["/repos/octo-org/app-1/issues"]);
  } finally {
    await gateway.stop();
    await github.close();
    await Deno.remove(dir, { recursive: true });
  }
});
