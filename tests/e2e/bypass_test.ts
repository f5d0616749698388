/**
 * The bypass suite: hostile paths and methods sent byte for byte to the real gateway in front
 * of the fake GitHub. Each case asserts what the client got and exactly what reached GitHub —
 * nothing at all when refused, and only the in-scope request when allowed.
 */
import assert from "node:assert/strict";
import { fakeAndGateway } from "../support/fixtures.ts";
import { rawRequest } from "../support/raw_http.ts";

const PAT = "pat-bypass";
const REGISTRY = `version: 1
clients:
  - name: reader
    token: reader-token
    scopes:
      - method: GET
        path: /repos/acme/.*
      - method: POST
        path: /graphql
        graphql: query
    deny:
      - path: /repos/acme/secrets-.*
  - name: broad
    token: broad-token
    deny:
      - path: /repos/acme/secret
      - method: DELETE
        path: .*
      - path: /graphql
        graphql: mutation
`;

const gql = (query: string, operationName?: string) =>
  JSON.stringify(operationName === undefined ? { query } : { query, operationName });
const MUTATION = gql("mutation { deleteRepository(input: {id: 1}) { clientMutationId } }");
const QUERY = gql("query { viewer { login } }");

interface Case {
  readonly name: string;
  readonly client?: "reader" | "broad";
  readonly method?: string;
  readonly target: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly status: number;
  /** The one request GitHub must receive (`METHOD /path?query`), or null for none. */
  readonly upstream: string | null;
}

const CASES: Case[] = [
  // Traversal, in every encoding.
  { name: "plain ..", target: "/repos/acme/app/../../orgs/acme", status: 400, upstream: null },
  { name: "%2e%2e", target: "/repos/acme/%2e%2e/%2e%2e/orgs/acme", status: 400, upstream: null },
  { name: "%2E%2E", target: "/repos/acme/%2E%2E/%2E%2E/orgs/acme", status: 400, upstream: null },
  { name: "mixed .%2e", target: "/repos/acme/.%2e/.%2E/orgs/acme", status: 400, upstream: null },
  { name: "mixed %2e.", target: "/repos/acme/%2e./%2E./orgs/acme", status: 400, upstream: null },
  { name: "single dot", target: "/repos/acme/./app", status: 400, upstream: null },
  {
    name: "encoded %2f",
    target: "/repos/acme%2f..%2f..%2forgs%2facme",
    status: 400,
    upstream: null,
  },
  { name: "encoded %2F", target: "/repos/acme/app%2F..%2F..%2Forgs", status: 400, upstream: null },
  { name: "encoded %5c", target: "/repos/acme/x%5c..%5c..%5corgs", status: 400, upstream: null },
  { name: "raw backslash", target: "/repos/acme/x\\..\\..\\orgs", status: 400, upstream: null },
  { name: "empty segment", target: "/repos/acme//../orgs", status: 400, upstream: null },
  { name: "leading //", target: "//repos/acme/app", status: 400, upstream: null },
  { name: "NUL", target: "/repos/acme/app%00/../../orgs", status: 400, upstream: null },
  { name: "over 8 KiB", target: `/repos/acme/${"a".repeat(8200)}`, status: 400, upstream: null },
  {
    name: "double encoding is decoded once only",
    target: "/repos/acme/%252e%252e/admin",
    status: 404,
    upstream: "GET /repos/acme/%252e%252e/admin",
  },
  // /api/v3 tricks.
  {
    name: "/api/v3 stripped once",
    target: "/api/v3/repos/acme/app",
    status: 200,
    upstream: "GET /repos/acme/app",
  },
  { name: "/api/v3 twice", target: "/api/v3/api/v3/orgs/acme", status: 400, upstream: null },
  { name: "/API/V3", target: "/API/V3/orgs/acme", status: 400, upstream: null },
  { name: "/api/v3/..", target: "/api/v3/../orgs/acme", status: 400, upstream: null },
  { name: "/api/v3%2f", target: "/api/v3%2forgs/acme", status: 400, upstream: null },
  {
    name: "/api/v3 then traversal",
    target: "/api/v3/repos/acme/../../orgs/acme",
    status: 400,
    upstream: null,
  },
  {
    name: "/api/v3/graphql mutation",
    method: "POST",
    target: "/api/v3/graphql",
    body: MUTATION,
    status: 403,
    upstream: null,
  },
  // Uploads: authorised as the REST path after /api/uploads, spelt one way only.
  {
    name: "upload outside the scope's methods",
    method: "POST",
    target: "/api/uploads/repos/acme/app/releases/1/assets?name=a",
    body: "x",
    status: 403,
    upstream: null,
  },
  {
    name: "deny applies to an upload path",
    target: "/api/uploads/repos/acme/secrets-prod/releases/1/assets",
    status: 403,
    upstream: null,
  },
  {
    name: "upload path in scope goes to the uploads root",
    target: "/api/uploads/repos/acme/app/releases/1/assets",
    status: 404,
    upstream: "GET /api/uploads/repos/acme/app/releases/1/assets",
  },
  { name: "/API/UPLOADS", target: "/API/UPLOADS/repos/acme/app", status: 400, upstream: null },
  {
    name: "/api/v3/api/uploads",
    target: "/api/v3/api/uploads/repos/acme/app",
    status: 400,
    upstream: null,
  },
  {
    name: "/api/uploads twice",
    target: "/api/uploads/api/uploads/repos/acme/app",
    status: 400,
    upstream: null,
  },
  {
    name: "/api/uploads then traversal",
    target: "/api/uploads/repos/acme/app/../../../orgs/acme",
    status: 400,
    upstream: null,
  },
  // Prefix and suffix confusion.
  { name: "acme-evil", target: "/repos/acme-evil/app", status: 403, upstream: null },
  { name: "acmex", target: "/repos/acmex/app", status: 403, upstream: null },
  { name: "owner without repo", target: "/repos/acme", status: 403, upstream: null },
  { name: "scope as suffix", target: "/orgs/evil/repos/acme/app", status: 403, upstream: null },
  { name: "scope after a prefix", target: "/x/repos/acme/app", status: 403, upstream: null },
  {
    name: "path in the query does not count",
    target: "/orgs/acme?path=/repos/acme/app",
    status: 403,
    upstream: null,
  },
  {
    name: "query kept as sent",
    target: "/repos/acme/app?path=/orgs/acme&x=1&x=2",
    status: 200,
    upstream: "GET /repos/acme/app?path=/orgs/acme&x=1&x=2",
  },
  { name: "deny wins", target: "/repos/acme/secrets-prod", status: 403, upstream: null },
  // Case games and escapes of unreserved characters.
  { name: "deny in upper case", target: "/repos/ACME/Secrets-Prod", status: 403, upstream: null },
  { name: "deny via %2D", target: "/repos/acme/secrets%2Dprod", status: 403, upstream: null },
  { name: "deny via %53", target: "/repos/acme/%53ecrets-prod", status: 403, upstream: null },
  {
    name: "escaped owner decoded before matching and sending",
    target: "/repos/%61cme/app",
    status: 200,
    upstream: "GET /repos/acme/app",
  },
  {
    name: "upper-case owner is the same owner",
    target: "/repos/ACME/app",
    status: 200,
    upstream: "GET /repos/ACME/app",
  },
  {
    client: "broad",
    name: "exact deny",
    target: "/repos/acme/secret",
    status: 403,
    upstream: null,
  },
  {
    client: "broad",
    name: "exact deny with a trailing slash",
    target: "/repos/acme/secret/",
    status: 403,
    upstream: null,
  },
  {
    client: "broad",
    name: "exact deny in another case",
    target: "/repos/acme/SECRET",
    status: 403,
    upstream: null,
  },
  {
    client: "broad",
    name: "exact deny through /api/v3",
    target: "/api/v3/repos/acme/secret",
    status: 403,
    upstream: null,
  },
  {
    client: "broad",
    name: "exact deny through a doubled /api/v3",
    target: "/api/v3/api/v3/repos/acme/secret",
    status: 400,
    upstream: null,
  },
  // Methods and method overrides.
  {
    name: "POST outside GET scope",
    method: "POST",
    target: "/repos/acme/app",
    status: 403,
    upstream: null,
  },
  ...["X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"].map((header) => ({
    name: `POST with ${header}: GET`,
    method: "POST",
    target: "/repos/acme/app",
    headers: { [header]: "GET" },
    status: 403,
    upstream: null,
  })),
  {
    name: "override header on an allowed GET is not obeyed",
    target: "/repos/acme/app",
    headers: { "X-HTTP-Method-Override": "DELETE" },
    status: 200,
    upstream: "GET /repos/acme/app",
  },
  {
    name: "_method in the query",
    method: "DELETE",
    target: "/repos/acme/app?_method=GET",
    status: 403,
    upstream: null,
  },
  {
    name: "HEAD is not GET",
    method: "HEAD",
    target: "/repos/acme/app",
    status: 403,
    upstream: null,
  },
  {
    name: "GETS is not GET",
    method: "GETS",
    target: "/repos/acme/app",
    status: 403,
    upstream: null,
  },
  {
    name: "lower-case get is GET",
    method: "get",
    target: "/repos/acme/app",
    status: 200,
    upstream: "GET /repos/acme/app",
  },
  {
    client: "broad",
    name: "denied DELETE",
    method: "DELETE",
    target: "/repos/acme/app",
    status: 403,
    upstream: null,
  },
  {
    client: "broad",
    name: "lower-case delete",
    method: "delete",
    target: "/repos/acme/app",
    status: 403,
    upstream: null,
  },
  {
    client: "broad",
    name: "POST with override DELETE goes up as POST without the header",
    method: "POST",
    target: "/repos/acme/app",
    headers: { "X-HTTP-Method-Override": "DELETE" },
    body: "{}",
    status: 404,
    upstream: "POST /repos/acme/app",
  },
  // GraphQL.
  {
    name: "GraphQL query",
    method: "POST",
    target: "/graphql",
    body: QUERY,
    status: 200,
    upstream: "POST /graphql",
  },
  {
    name: "GraphQL mutation",
    method: "POST",
    target: "/graphql",
    body: MUTATION,
    status: 403,
    upstream: null,
  },
  {
    name: "mutation at /api/graphql",
    method: "POST",
    target: "/api/graphql",
    body: MUTATION,
    status: 403,
    upstream: null,
  },
  {
    name: "mutation at /graphql/",
    method: "POST",
    target: "/graphql/",
    body: MUTATION,
    status: 403,
    upstream: null,
  },
  {
    name: "mutation at /GraphQL",
    method: "POST",
    target: "/GraphQL",
    body: MUTATION,
    status: 403,
    upstream: null,
  },
  {
    name: "mutation behind a comment",
    method: "POST",
    target: "/graphql",
    body: gql(
      "# query { viewer { login } }\nmutation { deleteIssue(input: {}) { clientMutationId } }",
    ),
    status: 403,
    upstream: null,
  },
  {
    name: "mutation with an alias called query",
    method: "POST",
    target: "/graphql",
    body: gql("mutation { query: deleteIssue(input: {}) { clientMutationId } }"),
    status: 403,
    upstream: null,
  },
  {
    name: "mutation through a fragment",
    method: "POST",
    target: "/graphql",
    body: gql(
      "mutation { ...F } fragment F on Mutation { deleteIssue(input: {}) { clientMutationId } }",
    ),
    status: 403,
    upstream: null,
  },
  {
    name: "query spreading a Mutation fragment stays a query",
    method: "POST",
    target: "/graphql",
    body: gql("query { ...F } fragment F on Mutation { deleteIssue { clientMutationId } }"),
    status: 200,
    upstream: "POST /graphql",
  },
  {
    name: "operationName picks the mutation",
    method: "POST",
    target: "/graphql",
    body: gql("query A { viewer { login } } mutation B { deleteIssue { id } }", "B"),
    status: 403,
    upstream: null,
  },
  {
    name: "operationName picks the query",
    method: "POST",
    target: "/graphql",
    body: gql("query A { viewer { login } } mutation B { deleteIssue { id } }", "A"),
    status: 200,
    upstream: "POST /graphql",
  },
  {
    name: "operationName in the URL query",
    method: "POST",
    target: "/graphql?operationName=B",
    body: gql("query A { viewer { login } } mutation B { deleteIssue { id } }", "A"),
    status: 400,
    upstream: null,
  },
  {
    name: "body that also reads as a form with a mutation",
    method: "POST",
    target: "/graphql",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body:
      '{"query": "query { viewer { login } }", "x": "&query=mutation { deleteIssue { id } } #"}',
    status: 400,
    upstream: null,
  },
  {
    name: "several operations without operationName",
    method: "POST",
    target: "/graphql",
    body: gql("query A { viewer { login } } mutation B { deleteIssue { id } }"),
    status: 400,
    upstream: null,
  },
  {
    name: "two operations with one name",
    method: "POST",
    target: "/graphql",
    body: gql("query A { viewer { login } } mutation A { deleteIssue { id } }", "A"),
    status: 400,
    upstream: null,
  },
  {
    name: "unparseable document",
    method: "POST",
    target: "/graphql",
    body: gql("mutation {"),
    status: 400,
    upstream: null,
  },
  {
    name: "not JSON",
    method: "POST",
    target: "/graphql",
    body: "mutation { x }",
    status: 400,
    upstream: null,
  },
  {
    name: "body over 1 MiB",
    method: "POST",
    target: "/graphql",
    body: gql(`query { viewer { login } } ${"#".repeat(1024 * 1024)}`),
    status: 413,
    upstream: null,
  },
  {
    name: "GraphQL by GET",
    target: "/graphql?query=mutation%7Bx%7D",
    status: 403,
    upstream: null,
  },
  {
    client: "broad",
    name: "GraphQL by GET cannot be classified, so the mutation deny rule holds",
    target: "/graphql?query=mutation%7Bx%7D",
    status: 403,
    upstream: null,
  },
  {
    name: "POST /graphql with an override header",
    method: "POST",
    target: "/graphql",
    headers: { "X-HTTP-Method-Override": "GET" },
    body: MUTATION,
    status: 403,
    upstream: null,
  },
  {
    client: "broad",
    name: "denied mutation at /api/graphql",
    method: "POST",
    target: "/api/graphql",
    body: MUTATION,
    status: 403,
    upstream: null,
  },
  {
    client: "broad",
    name: "denied mutation at /api/v3/graphql",
    method: "POST",
    target: "/api/v3/graphql",
    body: MUTATION,
    status: 403,
    upstream: null,
  },
  {
    client: "broad",
    name: "allowed query at /api/graphql",
    method: "POST",
    target: "/api/graphql",
    body: QUERY,
    status: 200,
    upstream: "POST /graphql",
  },
];

/** The bypass registry in front of a fake GitHub with one PAT. */
function bypassGateway() {
  return fakeAndGateway({
    fake: { pats: { [PAT]: {} } },
    gateway: { registry: REGISTRY },
    env: { GITHUB_PAT_BYPASS: PAT },
  });
}

Deno.test("bypass suite", async (t) => {
  await using setup = await bypassGateway();
  const { fake, gw } = setup;
  assert.ok(CASES.length >= 40, `only ${CASES.length} cases`);
  for (const c of CASES) {
    await t.step(`${c.client ?? "reader"}: ${c.name}`, async () => {
      fake.clearRequests();
      const client = c.client ?? "reader";
      const response = await rawRequest(gw.url, {
        method: c.method ?? "GET",
        target: c.target,
        headers: {
          authorization: `token ${client}-token`,
          ...(c.body === undefined ? {} : { "content-type": "application/json" }),
          ...c.headers,
        },
        body: c.body,
      });
      assert.equal(response.status, c.status, response.body);
      const seen = fake.requests.map((r) =>
        `${r.method} ${r.path}${r.rawQuery ? `?${r.rawQuery}` : ""}`
      );
      assert.deepEqual(seen, c.upstream === null ? [] : [c.upstream]);
      for (const request of fake.requests) {
        assert.equal(request.credential, PAT, "the pool credential, never the client token");
        for (const header of ["x-http-method-override", "x-http-method", "x-method-override"]) {
          assert.equal(request.headers.get(header), null, header);
        }
        if (c.body !== undefined) assert.equal(new TextDecoder().decode(request.body), c.body);
      }
      const refused = [400, 403, 413].includes(response.status);
      if (refused && c.method !== "HEAD") {
        const error = JSON.parse(response.body);
        assert.equal(typeof error.message, "string");
        assert.equal(typeof error.documentation_url, "string");
        assert.ok(!response.body.includes(`${client}-token`), "never the token");
      }
      if (response.status === 403 && c.method !== "HEAD") {
        const refusal = JSON.parse(response.body);
        assert.equal(
          refusal.message,
          `Resource not accessible by github-proxy client "${client}"`,
        );
        assert.match(refusal.detail, /^may not /);
      }
    });
  }
});

Deno.test("a refusal names the client, method and path, and is logged without the token", async () => {
  await using setup = await bypassGateway();
  const { fake, gw } = setup;
  const response = await rawRequest(gw.url, {
    method: "DELETE",
    target: "/repos/acme/app",
    headers: { authorization: "token reader-token" },
  });
  assert.equal(response.status, 403);
  const refusal = JSON.parse(response.body);
  assert.equal(refusal.message, 'Resource not accessible by github-proxy client "reader"');
  assert.equal(refusal.detail, "may not DELETE /repos/acme/app: no scope allows it");
  const logged = gw.logs.map((line) => JSON.parse(line)).find((l) =>
    l.msg === "request refused by scope"
  );
  assert.deepEqual(
    { client: logged.client, method: logged.method, path: logged.path },
    { client: "reader", method: "DELETE", path: "/repos/acme/app" },
  );
  assert.ok(!gw.logs.join("\n").includes("reader-token"));
  assert.equal(fake.requests.length, 0);
});

Deno.test("a refused 60 000-character method is logged shortened", async () => {
  await using setup = await bypassGateway();
  const { fake, gw } = setup;
  const method = `M${"x".repeat(60_000)}X`;
  const response = await rawRequest(gw.url, {
    method,
    target: "/repos/acme/app",
    headers: { authorization: "token reader-token" },
  });
  assert.equal(response.status, 403);
  const logged = gw.logs.map((line) => JSON.parse(line)).find((l) =>
    l.msg === "request refused by scope"
  );
  assert.equal(logged.method, `M${"X".repeat(15)}…`);
  assert.ok(gw.logs.join("\n").length < 10_000, "no line carries the whole method");
  assert.equal(fake.requests.length, 0);
});

Deno.test("unknown and missing client tokens get 401 and reach nothing", async () => {
  await using setup = await bypassGateway();
  const { fake, gw } = setup;
  const attempts: Record<string, string>[] = [{}, { authorization: "token nope" }, {
    authorization: "Bearer ",
  }];
  for (const headers of attempts) {
    const response = await rawRequest(gw.url, {
      method: "GET",
      target: "/repos/acme/app",
      headers,
    });
    assert.equal(response.status, 401);
    assert.ok(!response.body.includes("nope"));
  }
  assert.equal(fake.requests.length, 0);
});

Deno.test("the path comes from the request target: a Host or authority with /, ?, #, @ or space is 400", async (t) => {
  await using setup = await bypassGateway();
  const { fake, gw } = setup;
  const hostile: [string, string, string][] = [
    // [target, host, what it tried]
    ["/repos/acme/app", "127.0.0.1/orgs/acme?", "prefix the upstream path"],
    ["/repos/acme/app", "h/metrics?", "reach /metrics"],
    ["/repos/acme/app", "h/healthz#", "reach /healthz"],
    ["/repos/acme/app", "h?x", "start the query early"],
    ["/repos/acme/app", "h#x", "a fragment in the host"],
    ["/repos/acme/app", "user@h", "userinfo in the host"],
    ["/repos/acme/app", "h x", "a space in the host"],
    ["/repos/acme/app", "h\tx", "a tab in the host"],
    ["/repos/acme/app", "h\\x", "a backslash in the host"],
    ["http://h#x/repos/acme/app", "h", "a fragment in the absolute-form authority"],
    ["http://user@h/repos/acme/app", "h", "userinfo in the absolute-form authority"],
    ["http://h?/repos/acme/app", "h", "a query in the absolute-form authority"],
  ];
  for (const [target, host, why] of hostile) {
    await t.step(`${why}: Host ${JSON.stringify(host)}, target ${target}`, async () => {
      fake.clearRequests();
      const response = await rawRequest(gw.url, {
        method: "GET",
        target,
        headers: { host, authorization: "token broad-token" },
      });
      assert.equal(response.status, 400, response.body);
      const body = JSON.parse(response.body);
      assert.match(body.message, /host/i);
      assert.equal(typeof body.documentation_url, "string");
      assert.equal(fake.requests.length, 0);
    });
  }
  const { port } = new URL(gw.url);
  const fine: [string, string][] = [
    ["/repos/acme/app", `127.0.0.1:${port}`],
    ["/repos/acme/app", `Gateway.example_1:${port}`],
    ["/repos/acme/app", `[::1]:${port}`],
    [`http://gateway.example:${port}/repos/acme/app`, "other.example"],
  ];
  for (const [target, host] of fine) {
    await t.step(`accepted: Host ${host}, target ${target}`, async () => {
      fake.clearRequests();
      const response = await rawRequest(gw.url, {
        method: "GET",
        target,
        headers: { host, authorization: "token broad-token" },
      });
      assert.equal(response.status, 200, response.body);
      assert.deepEqual(fake.requests.map((r) => r.path), ["/repos/acme/app"]);
    });
  }
});
