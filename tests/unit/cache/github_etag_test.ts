import assert from "node:assert/strict";
import { githubEtagHex, withRevalidationTags } from "../../../src/cache/github_etag.ts";
import type { Revalidation, UpstreamRequest } from "../../../src/http/upstream.ts";

const BODY = new TextEncoder().encode('{"id":1}');

Deno.test("withRevalidationTags: conditional headers from the entry and the Authorization sent", async () => {
  const stored: Revalidation = { etag: '"stored"', lastModified: undefined, body: BODY };
  const table: {
    name: string;
    authorization?: string;
    revalidate?: Revalidation;
    noneMatch: string | null;
    modifiedSince: string | null;
  }[] = [
    { name: "not a revalidation", authorization: "token a", noneMatch: null, modifiedSince: null },
    {
      name: "the pool's credential",
      authorization: "token a",
      revalidate: stored,
      noneMatch: tags("token a", '"stored"'),
      modifiedSince: null,
    },
    {
      name: "another credential, another tag",
      authorization: "token b",
      revalidate: stored,
      noneMatch: tags("token b", '"stored"'),
      modifiedSince: null,
    },
    {
      name: "anonymous, no stored tag, Last-Modified",
      revalidate: { etag: undefined, lastModified: "Tue, 01 Dec 2026 00:00:00 GMT", body: BODY },
      noneMatch: tags(null),
      modifiedSince: "Tue, 01 Dec 2026 00:00:00 GMT",
    },
  ];
  for (const row of table) {
    let seen: Headers | undefined;
    const transport = withRevalidationTags((request) => {
      seen = request.headers;
      return Promise.resolve({ response: new Response(null), credential: "A", ms: 0 });
    });
    const headers = new Headers({ accept: "*/*" });
    if (row.authorization) headers.set("authorization", row.authorization);
    await transport(request(headers, row.revalidate));
    assert.equal(seen?.get("if-none-match"), row.noneMatch, row.name);
    assert.equal(seen?.get("if-modified-since"), row.modifiedSince, row.name);
    assert.equal(headers.has("if-none-match"), false, `${row.name}: the caller's headers stay`);
  }
});

function tags(authorization: string | null, stored?: string): string {
  const hex = githubEtagHex({ accept: "*/*", authorization, cookie: null }, BODY);
  return [`W/"${hex}"`, `"${hex}"`, ...(stored ? [stored] : [])].join(", ");
}

function request(headers: Headers, revalidate: Revalidation | undefined): UpstreamRequest {
  return {
    method: "GET",
    url: "https://api.github.test/repos/acme/widget",
    headers,
    body: null,
    resource: "core",
    client: "tester",
    replayable: true,
    revalidate,
  };
}

Deno.test("withRevalidationTags: remembered tags stay right for each credential, however many take turns", async () => {
  const stored: Revalidation = { etag: '"stored"', lastModified: undefined, body: BODY };
  const seen: (string | null)[] = [];
  const transport = withRevalidationTags((request) => {
    seen.push(request.headers.get("if-none-match"));
    return Promise.resolve({ response: new Response(null), credential: "A", ms: 0 });
  });
  const credentials = Array.from({ length: 12 }, (_, n) => `token t${n}`);
  // Twice round more credentials than are remembered per body: every tag recomputed or recalled.
  for (const authorization of [...credentials, ...credentials, "token t0"]) {
    await transport(request(new Headers({ accept: "*/*", authorization }), stored));
  }
  const expected = [...credentials, ...credentials, "token t0"].map((a) => tags(a, '"stored"'));
  assert.deepEqual(seen, expected);
  // Another body (another entry) with the same credential gets its own tags.
  const other = new TextEncoder().encode('{"id":2}');
  await transport(
    request(new Headers({ accept: "*/*", authorization: "token t0" }), { ...stored, body: other }),
  );
  const hex = githubEtagHex({ accept: "*/*", authorization: "token t0", cookie: null }, other);
  assert.equal(seen.at(-1), `W/"${hex}", "${hex}", "stored"`);
});

Deno.test("withRevalidationTags: headers copied for the call alone are changed in place", async () => {
  let seen: Headers | undefined;
  const transport = withRevalidationTags((request) => {
    seen = request.headers;
    return Promise.resolve({ response: new Response(null), credential: "A", ms: 0 });
  });
  const headers = new Headers({ accept: "*/*", authorization: "token a" });
  const revalidate = { etag: undefined, lastModified: undefined, body: BODY };
  await transport({ ...request(headers, revalidate), ownHeaders: true });
  assert.equal(seen, headers);
  assert.equal(headers.get("if-none-match"), tags("token a"));
});
