import assert from "node:assert/strict";
import { normalisePath, requestTarget, splitRawUrl } from "../../../src/identify/target.ts";

/** Raw path → normalised path (and enterprise prefix), or the reason it is refused. */
const TABLE: [raw: string, expected: string | { refused: RegExp }][] = [
  ["/", "/"],
  ["/repos/acme/app", "/repos/acme/app"],
  ["/repos/acme/app/", "/repos/acme/app"],
  ["/repos/%61cme/%41pp", "/repos/acme/App"],
  ["/repos/acme/app%2dx%5F%7e", "/repos/acme/app-x_~"],
  ["/repos/acme/a%3ab%3A", "/repos/acme/a%3Ab%3A"],
  ["/repos/acme/100%25", "/repos/acme/100%25"],
  ["/repos/acme/%252e%252e", "/repos/acme/%252e%252e"],
  ["/api/v3", "/"],
  ["/api/v3/", "/"],
  ["/api/v3/repos/acme/app", "/repos/acme/app"],
  ["/api/v3x/repos", "/api/v3x/repos"],
  ["/graphql", "/graphql"],
  ["/api/graphql", "/api/graphql"],
  ["/repos/acme/../admin", { refused: /dot segment/ }],
  ["/repos/acme/./app", { refused: /dot segment/ }],
  ["/repos/acme/..", { refused: /dot segment/ }],
  ["/..", { refused: /dot segment/ }],
  ["/repos/acme/%2e%2e/admin", { refused: /dot segment/ }],
  ["/repos/acme/%2E%2E/admin", { refused: /dot segment/ }],
  ["/repos/acme/.%2e/admin", { refused: /dot segment/ }],
  ["/repos/acme/%2e./admin", { refused: /dot segment/ }],
  ["/repos/acme/%2e/admin", { refused: /dot segment/ }],
  ["/repos/acme%2f..%2fadmin", { refused: /encoded \/ or \\/ }],
  ["/repos/acme%2F..%2Fadmin", { refused: /encoded \/ or \\/ }],
  ["/repos/acme%5c..%5cadmin", { refused: /encoded \/ or \\/ }],
  ["/repos/acme\\..\\admin", { refused: /backslash/ }],
  ["//repos/acme/app", { refused: /empty path segment/ }],
  ["/repos//acme/app", { refused: /empty path segment/ }],
  ["/repos/acme/app//", { refused: /empty path segment/ }],
  ["/repos/acme/app%00", { refused: /control character/ }],
  ["/repos/acme/app%0a", { refused: /control character/ }],
  ["/repos/acme/app%7F", { refused: /control character/ }],
  ["/repos/acme/app\t", { refused: /control character/ }],
  ["/repos/acme/app%zz", { refused: /malformed percent-encoding/ }],
  ["/repos/acme/app%2", { refused: /malformed percent-encoding/ }],
  ["/api/v3/api/v3/repos/acme/app", { refused: /\/api\/v3 prefix/ }],
  ["/API/V3/repos/acme/app", { refused: /\/api\/v3 prefix/ }],
  ["/api/v3/Api/V3", { refused: /\/api\/v3 prefix/ }],
  ["/api/%76%33/repos/acme/app", "/repos/acme/app"],
  ["/api/v3/%2e%2e/admin", { refused: /dot segment/ }],
  ["repos/acme/app", { refused: /must start with \// }],
  [`/${"a".repeat(8 * 1024)}`, { refused: /longer than 8 KiB/ }],
  ["/api/uploads/repos/acme/app/releases/1/assets", "/repos/acme/app/releases/1/assets"],
  ["/api/%75ploads/repos/acme/app/releases/1/assets", "/repos/acme/app/releases/1/assets"],
  ["/api/uploadsx/repos", "/api/uploadsx/repos"],
  ["/api/uploads", { refused: /uploads are at \/api\/uploads\/<path> only/ }],
  ["/api/uploads/", { refused: /uploads are at \/api\/uploads\/<path> only/ }],
  ["/API/Uploads/repos/acme/app", { refused: /uploads are at \/api\/uploads\/<path> only/ }],
  ["/api/uploads/api/uploads/repos/acme/app", { refused: /uploads are at/ }],
  ["/api/v3/api/uploads/repos/acme/app", { refused: /uploads are at/ }],
  ["/api/uploads/api/v3/repos/acme/app", { refused: /\/api\/v3 prefix/ }],
  ["/api/uploads/repos/acme/%2e%2e/admin", { refused: /dot segment/ }],
];

for (const [raw, expected] of TABLE) {
  Deno.test(`normalisePath ${JSON.stringify(raw.slice(0, 60))}`, () => {
    const result = normalisePath(raw);
    if (typeof expected === "string") {
      assert.ok(result.ok, result.ok ? "" : result.reason);
      assert.equal(result.target.path, expected);
      assert.equal(
        result.target.enterprisePrefix,
        /^\/api\/(v|%76)(3|%33)(\/|$)/.test(raw) ? "/api/v3" : "",
      );
      assert.equal(result.target.upload, /^\/api\/(u|%75)ploads\//.test(raw));
    } else {
      assert.ok(!result.ok, `expected refusal, got ${result.ok && result.target.path}`);
      assert.match(result.reason, expected.refused);
    }
  });
}

Deno.test("splitRawUrl: a request relayed over the listener's unix socket keeps an http origin", () => {
  assert.deepEqual(splitRawUrl("http+unix://127.0.0.1:8080/repos/o/r?page=2"), {
    origin: "http://127.0.0.1:8080",
    path: "/repos/o/r",
    query: "page=2",
  });
});

Deno.test("splitRawUrl keeps dot segments, escapes and the raw query", () => {
  assert.deepEqual(splitRawUrl("http://h:1/a/../b?x=1&x=2#f"), {
    origin: "http://h:1",
    path: "/a/../b",
    query: "x=1&x=2",
  });
});

/** Method and normalised path → the target later stages read. */
const TARGETS: [method: string, path: string, expected: { method: string; graphql: unknown }][] = [
  ["get", "/repos/acme/app", { method: "GET", graphql: false }],
  ["Post", "/graphql", { method: "POST", graphql: "endpoint" }],
  ["POST", "/api/graphql", { method: "POST", graphql: "endpoint" }],
  ["POST", "/GraphQL", { method: "POST", graphql: "mis-cased" }],
  ["POST", "/API/GRAPHQL", { method: "POST", graphql: "mis-cased" }],
  ["POST", "/graphql/x", { method: "POST", graphql: false }],
  ["POST", "/x/graphql", { method: "POST", graphql: false }],
];

for (const [method, path, expected] of TARGETS) {
  Deno.test(`requestTarget ${method} ${path}`, () => {
    const target = requestTarget(method, {
      path,
      query: "q=1",
      enterprisePrefix: "",
      upload: false,
    });
    assert.deepEqual(target, {
      path,
      query: "q=1",
      enterprisePrefix: "",
      upload: false,
      ...expected,
    });
  });
}

Deno.test("requestTarget: an upload is a REST path on the uploads host, never GraphQL", () => {
  const parsed = normalisePath("/api/uploads/graphql");
  assert.ok(parsed.ok);
  const target = requestTarget("POST", parsed.target);
  assert.deepEqual([target.path, target.upload, target.graphql], ["/graphql", true, false]);
});

Deno.test("requestTarget: the Enterprise prefix is removed before GraphQL is recognised", () => {
  const parsed = normalisePath("/api/v3/graphql");
  assert.ok(parsed.ok);
  const target = requestTarget("POST", parsed.target);
  assert.equal(target.graphql, "endpoint");
  assert.equal(target.enterprisePrefix, "/api/v3");
});
