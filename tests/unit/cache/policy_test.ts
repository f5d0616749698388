import assert from "node:assert/strict";
import {
  bypassReason,
  type CacheEvent,
  cacheKey,
  cacheStatus,
  clientIsCurrent,
  freshnessLimit,
  isStorable,
  MAX_STORED_BODY_BYTES,
} from "../../../src/cache/policy.ts";
import { keptHeaders, servedHeaders } from "../../../src/cache/serve.ts";
import {
  clientEtag,
  githubEtagHex,
  noneMatchHits,
  revalidationTags,
} from "../../../src/cache/github_etag.ts";
import { githubEtag } from "../../support/fake_github.ts";

const encoder = new TextEncoder();

Deno.test("githubEtagHex matches GitHub's formula for every header combination", async () => {
  const body = encoder.encode('{"name":"widget"}');
  const cases = [
    { accept: "*/*", authorization: "token ghp_a", cookie: null },
    { accept: "*/*", authorization: "Bearer ghp_a", cookie: null },
    { accept: "application/vnd.github+json", authorization: null, cookie: null },
    { accept: null, authorization: null, cookie: null },
    { accept: "*/*", authorization: "token x", cookie: "a=b" },
  ];
  const seen = new Set<string>();
  for (const headers of cases) {
    const hex = githubEtagHex(headers, body);
    assert.equal(hex, await githubEtag(headers, body), JSON.stringify(headers));
    seen.add(hex);
  }
  assert.equal(seen.size, cases.length);
});

Deno.test("revalidationTags: the stored tag plus both quoted forms for this credential", () => {
  const body = encoder.encode("x");
  const hashed = { accept: "*/*", authorization: "token new", cookie: null };
  const hex = githubEtagHex(hashed, body);
  assert.equal(revalidationTags('W/"old"', hashed, body), `W/"${hex}", "${hex}", W/"old"`);
  assert.equal(revalidationTags(undefined, hashed, body), `W/"${hex}", "${hex}"`);
  assert.equal(revalidationTags(`W/"${hex}"`, hashed, body), `W/"${hex}", "${hex}"`);
});

Deno.test("noneMatchHits: weak comparison, lists and *", () => {
  const table: [string, string, boolean][] = [
    ['W/"abc"', 'W/"abc"', true],
    ['"abc"', 'W/"abc"', true],
    ['"x", W/"abc"', 'W/"abc"', true],
    ["*", 'W/"abc"', true],
    ['"abd"', 'W/"abc"', false],
    ["", 'W/"abc"', false],
  ];
  for (const [header, etag, expected] of table) {
    assert.equal(noneMatchHits(header, etag), expected, header);
  }
  assert.equal(clientEtag("00ff"), 'W/"00ff"');
});

Deno.test("clientIsCurrent: If-None-Match decides when present, else If-Modified-Since", () => {
  const etag = 'W/"abc"';
  const modified = "Mon, 01 Jan 2024 00:00:00 GMT";
  const table: [Record<string, string>, string | undefined, boolean][] = [
    [{ "if-none-match": etag }, modified, true],
    [{ "if-none-match": '"other"', "if-modified-since": modified }, modified, false],
    [{ "if-modified-since": modified }, modified, true],
    [{ "if-modified-since": "Sun, 31 Dec 2023 00:00:00 GMT" }, modified, false],
    [{ "if-modified-since": modified }, undefined, false],
    [{ "if-modified-since": "garbage" }, modified, false],
    [{}, modified, false],
  ];
  for (const [headers, lastModified, expected] of table) {
    assert.equal(
      clientIsCurrent(new Headers(headers), etag, lastModified),
      expected,
      JSON.stringify(headers),
    );
  }
});

Deno.test("cacheKey: path, raw query (order and repeats), Accept, API version and host", () => {
  const base = {
    apiUrl: "https://api.github.com",
    path: "/repos/a/b",
    query: "x=1&x=2",
    accept: "*/*",
    apiVersion: null,
  };
  const variants = [
    base,
    { ...base, query: "x=2&x=1" },
    { ...base, query: "x=1" },
    { ...base, query: "" },
    { ...base, path: "/repos/a/c" },
    { ...base, accept: "application/vnd.github.raw+json" },
    { ...base, apiVersion: "2022-11-28" },
    { ...base, apiUrl: "https://ghe.example.com/api/v3" },
  ];
  const keys = new Set(variants.map(cacheKey));
  assert.equal(keys.size, variants.length);
  assert.equal(cacheKey({ ...base }), cacheKey(base));
  assert.match(cacheKey(base), /^[0-9a-f]{64}$/);
});

Deno.test("bypassReason: headers outside the key make a request uncacheable", () => {
  const table: [Record<string, string>, string | undefined][] = [
    [{}, undefined],
    [{ accept: "application/json", "x-github-api-version": "2022-11-28" }, undefined],
    [{ cookie: "session=1" }, "cookie"],
    [{ "x-github-otp": "123456" }, "x-github-otp"],
    [{ range: "bytes=0-10" }, "range"],
    [{ "cache-control": "no-store" }, "no-store"],
    [{ "cache-control": "max-age=60" }, undefined],
  ];
  for (const [headers, expected] of table) {
    assert.equal(bypassReason(new Headers(headers)), expected, JSON.stringify(headers));
  }
});

Deno.test("freshnessLimit: request max-age, then registry max_age; no-cache wins", () => {
  const table: [string | null, number | undefined, number][] = [
    [null, undefined, 0],
    [null, 300, 300],
    ["max-age=60", undefined, 60],
    ["max-age=60", 300, 60],
    ["max-age=0", 300, 0],
    ["no-cache", 300, 0],
    ["no-cache, max-age=60", undefined, 0],
    ['max-age="30"', undefined, 30],
    ["max-age=abc", 10, 10],
    ["MAX-AGE=5", undefined, 5],
  ];
  for (const [header, registry, expected] of table) {
    assert.equal(freshnessLimit(header, registry), expected, `${header} / ${registry}`);
  }
});

Deno.test("isStorable: only a 200 with a validator, no Set-Cookie, no no-store, under the cap", () => {
  const table: [number, Record<string, string>, number, boolean][] = [
    [200, { etag: 'W/"a"' }, 10, true],
    [200, { "last-modified": "Mon, 01 Jan 2024 00:00:00 GMT" }, 10, true],
    [200, {}, 10, false],
    [200, { etag: 'W/"a"', "set-cookie": "a=b" }, 10, false],
    [200, { etag: 'W/"a"' }, MAX_STORED_BODY_BYTES + 1, false],
    [304, { etag: 'W/"a"' }, 0, false],
    [404, { etag: 'W/"a"' }, 10, false],
    [500, { etag: 'W/"a"' }, 10, false],
    [206, { etag: 'W/"a"' }, 10, false],
    [200, { etag: 'W/"a"', "cache-control": "no-store" }, 10, false],
    [200, { etag: 'W/"a"', "cache-control": "private, No-Store" }, 10, false],
    // GitHub's authenticated answers: shared here on purpose, the cache is the point.
    [200, { etag: 'W/"a"', "cache-control": "private, max-age=60, s-maxage=60" }, 10, true],
    [200, { etag: 'W/"a"', "cache-control": "no-cache" }, 10, true],
  ];
  for (const [status, headers, bytes, expected] of table) {
    assert.equal(isStorable(status, new Headers(headers), bytes), expected, `${status}`);
  }
});

Deno.test("cacheStatus renders RFC 9211 as DESIGN §5 shows", () => {
  const forward = {
    kind: "forward",
    reason: "uri-miss",
    status: 200,
    stored: true,
    collapsed: false,
    backendDown: false,
  } as const;
  const table: [CacheEvent, string][] = [
    [{ kind: "hit", ttlSeconds: 12 }, "github-proxy; hit; ttl=12"],
    [{ kind: "hit", ttlSeconds: -1 }, "github-proxy; hit; ttl=0"],
    [forward, "github-proxy; fwd=uri-miss; stored"],
    [{ ...forward, collapsed: true }, "github-proxy; fwd=uri-miss; stored; collapsed"],
    [{ ...forward, status: 404, stored: false }, "github-proxy; fwd=uri-miss; fwd-status=404"],
    [
      { ...forward, reason: "stale", status: 304, stored: false },
      "github-proxy; fwd=stale; fwd-status=304",
    ],
    [{ ...forward, reason: "stale" }, "github-proxy; fwd=stale; fwd-status=200; stored"],
    [
      { ...forward, stored: false, backendDown: true },
      "github-proxy; fwd=uri-miss; detail=backend-unavailable",
    ],
  ];
  for (const [event, expected] of table) assert.equal(cacheStatus(event), expected);
});

Deno.test("keptHeaders keeps the representation; servedHeaders adds the latest per-response ones", () => {
  const upstream = new Headers({
    "content-type": "application/json",
    link: '<https://api.github.com/x?page=2>; rel="next"',
    etag: 'W/"a"',
    "last-modified": "Mon, 01 Jan 2024 00:00:00 GMT",
    date: "Mon, 01 Jan 2024 00:00:00 GMT",
    "x-github-request-id": "ONE",
    "x-ratelimit-remaining": "10",
    "x-oauth-scopes": "repo",
    "set-cookie": "a=b",
    "content-length": "10",
    "content-encoding": "gzip",
    vary: "Accept",
  });
  const kept = keptHeaders(upstream);
  assert.deepEqual(kept.map(([name]) => name).sort(), ["content-type", "link", "vary"]);
  const latest = new Headers({
    etag: 'W/"b"',
    date: "Tue, 02 Jan 2024 00:00:00 GMT",
    "x-github-request-id": "TWO",
    "x-ratelimit-remaining": "9",
    "content-type": "text/plain",
  });
  const served = new Headers(servedHeaders(kept, { headers: latest }));
  assert.equal(served.get("content-type"), "application/json");
  assert.equal(served.get("x-github-request-id"), "TWO");
  assert.equal(served.get("x-ratelimit-remaining"), "9");
  assert.equal(served.get("date"), "Tue, 02 Jan 2024 00:00:00 GMT");
  assert.equal(served.get("etag"), null);
  assert.equal(new Headers(servedHeaders(kept, undefined)).get("x-github-request-id"), null);
  // The pool's totals stand in for the answering credential's, each name once.
  const pooled = servedHeaders(kept, {
    headers: latest,
    rateLimit: [["x-ratelimit-remaining", "4990"], ["x-ratelimit-limit", "10000"]],
  });
  assert.deepEqual(pooled.filter(([name]) => name.startsWith("x-ratelimit-")), [
    ["x-ratelimit-remaining", "4990"],
    ["x-ratelimit-limit", "10000"],
  ]);
});
