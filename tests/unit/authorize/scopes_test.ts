import assert from "node:assert/strict";
import { classifyGraphqlRequest } from "../../../src/authorize/graphql_operation.ts";
import { compileScopePattern } from "../../../src/registry/pattern.ts";
import { parseRegistry } from "../../../src/registry/parse.ts";
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
    assert.equal(decide(client(name), { method, path }).verdict, expect);
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
    assert.equal(decide(client(name), { method, path }).verdict, before);
    for (const [operation, expect] of Object.entries(after ?? {})) {
      assert.equal(
        decideOperation(client(name), { method, path }, operation as OperationType).verdict,
        expect,
        operation,
      );
    }
  });
}

Deno.test("scope: a refusal says why, and which deny rule refused", () => {
  assert.deepEqual(decide(client("reader"), { method: "GET", path: "/repos/acme/secrets-x" }), {
    verdict: "deny",
    reason: "a deny rule refuses it",
    rule: ".* /repos/acme/secrets-.*",
  });
  assert.deepEqual(decide(client("reader"), { method: "GET", path: "/orgs/acme" }), {
    verdict: "deny",
    reason: "no scope allows it",
  });
  assert.deepEqual(
    decideOperation(client("reader"), { method: "POST", path: "/graphql" }, "mutation"),
    { verdict: "deny", reason: "no scope allows GraphQL mutation operations" },
  );
});

/** Patterns match the whole input, ignoring case, with RE2 syntax. */
const PATTERNS: [pattern: string, input: string, matches: boolean][] = [
  ["/repos/acme/.*", "/repos/ACME/app", true],
  ["/repos/acme/.*", "/x/repos/acme/app", false],
  ["/repos/acme", "/repos/acme/app", false],
  ["GET|POST", "post", true],
  ["GET|POST", "GETPOST", false],
  ["GET|POST", "GETS", false],
  ["GET|POST", "XPOST", false],
  ["a|ab", "ab", true],
  ["/repos/acme/app/issues(/\\d+)?", "/repos/acme/app/issues/12", true],
  ["/repos/acme/app/issues(/\\d+)?", "/repos/acme/app/issues/x", false],
  ["/orgs/[^/]+/teams", "/orgs/acme/teams", true],
  ["/orgs/[^/]+/teams", "/orgs/acme/x/teams", false],
  ["/repos/octo-org/([a-z0-9]+-?)+/issues(/.*)?", "/repos/Octo-Org/app-1/issues/3", true],
  ["/repos/octo-org/([a-z0-9]+-?)+/issues(/.*)?", `/repos/octo-org/${"a".repeat(8000)}/x`, false],
];

for (const [pattern, input, expected] of PATTERNS) {
  Deno.test(`scope pattern: ${pattern} ${expected ? "matches" : "does not match"} ${input.slice(0, 40)}`, () => {
    const compiled = compileScopePattern(pattern);
    assert.ok(compiled.ok);
    assert.equal(compiled.pattern.matches(input), expected);
  });
}

Deno.test("scope: a method or path longer than the matched bound is refused, even with full access", () => {
  const long = "X".repeat(MAX_MATCHED_LENGTH + 1);
  for (const name of ["full", "reader"]) {
    assert.equal(decide(client(name), { method: long, path: "/zen" }).verdict, "deny");
    assert.equal(decide(client(name), { method: "GET", path: `/${long}` }).verdict, "deny");
  }
  assert.equal(
    decide(client("full"), { method: "GET", path: `/${"x".repeat(8000)}` }).verdict,
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
    assert.match((await refused.json()).message, /no scope allows it/);
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

const body = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

const CLASSIFY: [what: string, body: Uint8Array, expect: OperationType | RegExp][] = [
  ["shorthand query", body({ query: "{ viewer { login } }" }), "query"],
  ["named query", body({ query: "query Q { viewer { login } }" }), "query"],
  ["mutation", body({ query: "mutation { addStar(input: {}) { clientMutationId } }" }), "mutation"],
  ["subscription", body({ query: "subscription { x }" }), "subscription"],
  [
    "mutation behind a comment that says query",
    body({ query: "# query {\n mutation { deleteRepository { id } }" }),
    "mutation",
  ],
  [
    "mutation with an alias named query",
    body({ query: "mutation { query: deleteIssue(input: {}) { clientMutationId } }" }),
    "mutation",
  ],
  [
    "query with a fragment on Mutation",
    body({ query: "query { ...F } fragment F on Mutation { deleteIssue { id } }" }),
    "query",
  ],
  [
    "several operations, operationName picks the mutation",
    body({ query: "query A { a } mutation B { b }", operationName: "B" }),
    "mutation",
  ],
  [
    "several operations, operationName picks the query",
    body({ query: "query A { a } mutation B { b }", operationName: "A" }),
    "query",
  ],
  [
    "single operation with null operationName",
    body({ query: "mutation M { b }", operationName: null }),
    "mutation",
  ],
  [
    "several operations without operationName",
    body({ query: "query A { a } mutation B { b }" }),
    /several operations/,
  ],
  [
    "operationName naming no operation",
    body({ query: "query A { a } mutation B { b }", operationName: "C" }),
    /no operation named "C"/,
  ],
  [
    "operationName with a lone anonymous operation",
    body({ query: "mutation { b }", operationName: "A" }),
    /no operation named/,
  ],
  [
    "duplicate operation names",
    body({ query: "query A { a } mutation A { b }", operationName: "A" }),
    /unique/,
  ],
  [
    "anonymous operation among several",
    body({ query: "{ a } mutation B { b }", operationName: "B" }),
    /anonymous/,
  ],
  ["no operation", body({ query: "fragment F on Query { a }" }), /no operation/],
  ["syntax error", body({ query: "mutation {" }), /does not parse/],
  ["query not a string", body({ query: ["mutation { b }"] }), /"query" must be a string/],
  ["operationName not a string", body({ query: "{ a }", operationName: 1 }), /operationName/],
  ["batched array", body([{ query: "{ a }" }]), /JSON object/],
  ["not JSON", new TextEncoder().encode("query { a }"), /not JSON/],
  ["invalid UTF-8", new Uint8Array([0x7b, 0xff, 0x7d]), /not JSON/],
  ["empty body", new Uint8Array(), /not JSON/],
  [
    "JSON that also reads as a form with a query",
    new TextEncoder().encode(
      '{"query": "query { a }", "x": "&query=mutation { b } #"}',
    ),
    /also reads as a form/,
  ],
];

Deno.test("graphql classification: GraphQL parameters in the URL query", () => {
  for (const query of ["operationName=B", "query=mutation%7Bb%7D", "variables=%7B%7D"]) {
    const result = classifyGraphqlRequest(
      body({ query: "query A { a } mutation B { b }", operationName: "A" }),
      query,
    );
    assert.ok(!result.ok && /URL query/.test(result.reason), query);
  }
  assert.deepEqual(classifyGraphqlRequest(body({ query: "{ a }" }), "x=1"), {
    ok: true,
    operation: "query",
  });
});

for (const [what, bytes, expect] of CLASSIFY) {
  Deno.test(`graphql classification: ${what}`, () => {
    const result = classifyGraphqlRequest(bytes);
    if (typeof expect === "string") {
      assert.deepEqual(result, { ok: true, operation: expect });
    } else {
      assert.ok(!result.ok, `expected unclassifiable, got ${result.ok && result.operation}`);
      assert.match(result.reason, expect);
    }
  });
}
