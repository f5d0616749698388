import assert from "node:assert/strict";
import { classifyGraphqlRequest } from "../../../src/authorize/graphql_operation.ts";
import type { OperationType } from "../../../src/authorize/scopes.ts";

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
