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
