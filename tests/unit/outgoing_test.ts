import assert from "node:assert/strict";
import type { OperationType } from "../../src/authorize/scopes.ts";
import { isMutating } from "../../src/outgoing.ts";

const body = (query: string, operationName?: string) =>
  new TextEncoder().encode(JSON.stringify({ query, operationName }));

Deno.test("isMutating: what GitHub's secondary limits count as a write", () => {
  const table: [
    label: string,
    method: string,
    graphql: boolean,
    operation: OperationType | undefined,
    body: BodyInit | null,
    mutating: boolean,
  ][] = [
    ["GET", "GET", false, undefined, null, false],
    ["HEAD", "HEAD", false, undefined, null, false],
    ["OPTIONS", "OPTIONS", false, undefined, null, false],
    ["POST", "POST", false, undefined, null, true],
    ["PATCH", "PATCH", false, undefined, null, true],
    ["PUT", "PUT", false, undefined, null, true],
    ["DELETE", "DELETE", false, undefined, null, true],
    ["GraphQL query, authorize read it", "POST", true, "query", null, false],
    ["GraphQL mutation, authorize read it", "POST", true, "mutation", null, true],
    ["GraphQL query, read here", "POST", true, undefined, body("{ viewer { login } }"), false],
    ["GraphQL mutation, read here", "POST", true, undefined, body("mutation { a }"), true],
    [
      "GraphQL, the named operation decides",
      "POST",
      true,
      undefined,
      body("query A { a } mutation B { b }", "B"),
      true,
    ],
    ["GraphQL, unreadable body", "POST", true, undefined, body("{ unclosed"), true],
    ["GraphQL, streamed body", "POST", true, undefined, new ReadableStream(), true],
  ];
  for (const [label, method, graphql, operation, sent, mutating] of table) {
    assert.equal(isMutating(method, graphql, operation, sent), mutating, label);
  }
});
