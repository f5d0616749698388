import assert from "node:assert/strict";
import {
  clockOffsetMs,
  isBadCredentials,
  isGraphqlRateLimited,
  type LimitVerdict,
  limitVerdict,
  pointsSpent,
  readRateLimit,
  retryAfterMs,
} from "../../../src/credentials/rate_limit.ts";

const NOW = Date.parse("2026-01-01T12:00:00Z");
const RESET = NOW / 1000 + 600;
const limitHeaders = (remaining: number, extra: Record<string, string> = {}) =>
  new Headers({
    "x-ratelimit-limit": "5000",
    "x-ratelimit-remaining": String(remaining),
    "x-ratelimit-reset": String(RESET),
    "x-ratelimit-resource": "core",
    ...extra,
  });

Deno.test("clockOffsetMs reads GitHub's Date against the gateway's clock", () => {
  const table: [string | null, number][] = [
    [null, 0],
    ["not a date", 0],
    [new Date(NOW).toUTCString(), 0],
    [new Date(NOW + 30_000).toUTCString(), 30_000],
    [new Date(NOW - 5_000).toUTCString(), -5_000],
  ];
  for (const [date, offset] of table) assert.equal(clockOffsetMs(date, NOW), offset, String(date));
});

Deno.test("readRateLimit converts the reset to the gateway's clock", () => {
  assert.deepEqual(readRateLimit(limitHeaders(42), NOW), {
    resource: "core",
    limit: 5000,
    remaining: 42,
    resetAtMs: RESET * 1000,
  });
  // GitHub's clock runs 2 minutes ahead: its reset comes 2 minutes earlier on ours.
  const ahead = limitHeaders(42, { date: new Date(NOW + 120_000).toUTCString() });
  assert.equal(readRateLimit(ahead, NOW)?.resetAtMs, RESET * 1000 - 120_000);
  assert.equal(readRateLimit(new Headers({ "x-ratelimit-limit": "60" }), NOW), undefined);
  assert.equal(readRateLimit(limitHeaders(-1), NOW), undefined);
  const noResource = limitHeaders(1);
  noResource.delete("x-ratelimit-resource");
  assert.equal(readRateLimit(noResource, NOW)?.resource, undefined);
});

Deno.test("retryAfterMs accepts seconds and HTTP dates", () => {
  const table: [Record<string, string>, number | undefined][] = [
    [{}, undefined],
    [{ "retry-after": "30" }, 30_000],
    [{ "retry-after": "0" }, 0],
    [{ "retry-after": "soon" }, undefined],
    [{ "retry-after": new Date(NOW + 90_000).toUTCString() }, 90_000],
    [{ "retry-after": new Date(NOW - 90_000).toUTCString() }, 0],
    [{
      "retry-after": new Date(NOW + 90_000).toUTCString(),
      date: new Date(NOW + 60_000).toUTCString(),
    }, 30_000],
  ];
  for (const [headers, expected] of table) {
    assert.equal(retryAfterMs(new Headers(headers), NOW), expected, JSON.stringify(headers));
  }
});

Deno.test("limitVerdict tells primary, secondary and ordinary answers apart", () => {
  const PADDING = 60_000;
  const secondaryBody = JSON.stringify({
    message: "You have exceeded a secondary rate limit. Please wait.",
  });
  const limitedGraphql = JSON.stringify({ errors: [{ type: "RATE_LIMITED", message: "x" }] });
  const table: [string, number, Headers, string | undefined, LimitVerdict][] = [
    ["200 REST", 200, limitHeaders(10), undefined, { kind: "none" }],
    ["200 REST spent its last call", 200, limitHeaders(0), undefined, { kind: "none" }],
    ["404", 404, limitHeaders(0), '{"message":"Not Found"}', { kind: "none" }],
    ["403 permission", 403, limitHeaders(10), '{"message":"Resource not accessible"}', {
      kind: "none",
    }],
    ["403 primary", 403, limitHeaders(0), '{"message":"API rate limit exceeded"}', {
      kind: "primary",
      untilMs: RESET * 1000 + PADDING,
    }],
    ["429 primary", 429, limitHeaders(0), "", { kind: "primary", untilMs: RESET * 1000 + PADDING }],
    [
      "403 secondary with retry-after",
      403,
      limitHeaders(10, { "retry-after": "30" }),
      secondaryBody,
      {
        kind: "secondary",
        untilMs: NOW + 30_000,
      },
    ],
    ["403 secondary message only", 403, limitHeaders(10), secondaryBody, {
      kind: "secondary",
      untilMs: NOW + 60_000,
    }],
    ["secondary message wins over remaining 0", 403, limitHeaders(0), secondaryBody, {
      kind: "secondary",
      untilMs: NOW + 60_000,
    }],
    ["403 abuse (older wording)", 403, new Headers(), '{"message":"abuse detection mechanism"}', {
      kind: "secondary",
      untilMs: NOW + 60_000,
    }],
    ["403 retry-after only", 403, new Headers({ "retry-after": "5" }), "{}", {
      kind: "secondary",
      untilMs: NOW + 5_000,
    }],
    ["bare 429", 429, new Headers(), undefined, { kind: "secondary", untilMs: NOW + 60_000 }],
    ["GraphQL RATE_LIMITED in 200", 200, limitHeaders(0), limitedGraphql, {
      kind: "primary",
      untilMs: RESET * 1000 + PADDING,
    }],
    ["GraphQL RATE_LIMITED without headers", 200, new Headers(), limitedGraphql, {
      kind: "primary",
      untilMs: NOW + 60_000 + PADDING,
    }],
    ["GraphQL other error", 200, limitHeaders(5), '{"errors":[{"type":"NOT_FOUND"}]}', {
      kind: "none",
    }],
    [
      "GraphQL data mentioning RATE_LIMITED",
      200,
      limitHeaders(5),
      '{"data":{"x":"RATE_LIMITED"}}',
      {
        kind: "none",
      },
    ],
  ];
  for (const [label, status, headers, body, expected] of table) {
    assert.deepEqual(
      limitVerdict({ status, headers, body, receivedAtMs: NOW }, PADDING),
      expected,
      label,
    );
  }
});

Deno.test("isGraphqlRateLimited and isBadCredentials read small bodies", () => {
  assert.equal(isGraphqlRateLimited(undefined), false);
  assert.equal(isGraphqlRateLimited("not json RATE_LIMITED"), false);
  assert.equal(isGraphqlRateLimited('{"errors":[{"type":"RATE_LIMITED"}]}'), true);
  assert.equal(isBadCredentials(401, '{"message":"Bad credentials"}'), true);
  assert.equal(isBadCredentials(401, '{"message":"A JSON web token could not be decoded"}'), false);
  assert.equal(isBadCredentials(403, '{"message":"Bad credentials"}'), false);
  assert.equal(isBadCredentials(401, undefined), false);
});

Deno.test("GraphQL rate limits under both of GitHub's spellings, and nothing else", () => {
  const table: [label: string, body: string, limited: boolean][] = [
    [
      "RATE_LIMITED",
      '{"errors":[{"type":"RATE_LIMITED","message":"API rate limit exceeded"}]}',
      true,
    ],
    ["RATE_LIMIT", '{"errors":[{"type":"RATE_LIMIT","message":"API rate limit exceeded"}]}', true],
    ["code only", '{"errors":[{"code":"graphql_rate_limit","message":"API rate limit"}]}', true],
    [
      "among other errors",
      '{"data":null,"errors":[{"type":"NOT_FOUND"},{"type":"RATE_LIMIT","code":"graphql_rate_limit"}]}',
      true,
    ],
    ["other error", '{"errors":[{"type":"NOT_FOUND","message":"RATE_LIMIT in text"}]}', false],
    ["data naming it", '{"data":{"viewer":{"login":"RATE_LIMITED"}}}', false],
    ["last query, remaining 0", '{"data":{"viewer":{"login":"octocat"}}}', false],
    ["null error", '{"errors":[null]}', false],
  ];
  for (const [label, body, limited] of table) {
    assert.equal(isGraphqlRateLimited(body), limited, label);
  }
});

Deno.test("a GraphQL 200 rate limit parks even with points left; a last success does not", () => {
  const headers = (remaining: number) =>
    new Headers({
      "x-ratelimit-limit": "5000",
      "x-ratelimit-remaining": String(remaining),
      "x-ratelimit-reset": "2000",
      date: new Date(1_000_000).toUTCString(),
    });
  const limited = limitVerdict({
    status: 200,
    headers: headers(3),
    body: '{"errors":[{"type":"RATE_LIMIT","code":"graphql_rate_limit"}]}',
    receivedAtMs: 1_000_000,
  }, 0);
  assert.deepEqual(limited, { kind: "primary", untilMs: 2_000_000 });
  const last = limitVerdict({
    status: 200,
    headers: headers(0),
    body: '{"data":{"viewer":{"login":"octocat"}}}',
    receivedAtMs: 1_000_000,
  }, 0);
  assert.deepEqual(last, { kind: "none" });
});

Deno.test("points spent: REST 1 but a 304 or a refusal; GraphQL what x-ratelimit-used moved by", () => {
  const reading = (remaining: number, resetAtMs = 3_600_000) => ({
    limit: 5000,
    remaining,
    resetAtMs,
  });
  const table: [
    label: string,
    status: number,
    graphql: boolean,
    before: ReturnType<typeof reading> | undefined,
    after: ReturnType<typeof reading> | undefined,
    refused: boolean,
    points: number,
  ][] = [
    ["REST 200", 200, false, reading(100), reading(99), false, 1],
    ["REST 404", 404, false, undefined, reading(99), false, 1],
    ["REST 201", 201, false, reading(100), reading(99), false, 1],
    ["REST 304", 304, false, reading(100), reading(100), false, 0],
    ["REST refused 403", 403, false, reading(1), reading(0), true, 0],
    ["REST 401", 401, false, undefined, reading(0), true, 0],
    ["no rate-limit headers", 200, false, undefined, undefined, false, 0],
    ["GraphQL costing 5", 200, true, reading(100), reading(95), false, 5],
    ["GraphQL costing 1", 200, true, reading(100), reading(99), false, 1],
    ["GraphQL, someone else spent between", 200, true, reading(100), reading(90), false, 10],
    ["GraphQL answered out of order", 200, true, reading(95), reading(97), false, 1],
    ["GraphQL, first seen", 200, true, undefined, reading(4000), false, 1],
    ["GraphQL, new window", 200, true, reading(10, 0), reading(4995), false, 5],
    [
      "GraphQL, reset read a second apart",
      200,
      true,
      reading(100, 3_599_000),
      reading(97),
      false,
      3,
    ],
    ["GraphQL rate limited", 200, true, reading(3), reading(3), true, 0],
  ];
  for (const [label, status, graphql, before, after, refused, points] of table) {
    assert.equal(pointsSpent(status, graphql, before, after, refused), points, label);
  }
});
