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

Deno.test("points spent: every rate-limited answer but a 304 or a refusal", () => {
  const table: [status: number, rateLimited: boolean, refused: boolean, points: number][] = [
    [200, true, false, 1],
    [404, true, false, 1],
    [201, true, false, 1],
    [304, true, false, 0],
    [403, true, true, 0],
    [401, true, true, 0],
    [200, false, false, 0],
  ];
  for (const [status, rateLimited, refused, points] of table) {
    assert.equal(pointsSpent(status, rateLimited, refused), points, `${status} ${refused}`);
  }
});
