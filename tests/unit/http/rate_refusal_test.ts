/** `rateRefusal`: the gateway's rate refusals as GitHub shapes a rate limit. */
import assert from "node:assert/strict";
import { type RateRefusal, rateRefusal } from "../../../src/http/rate_refusal.ts";

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const BASE: RateRefusal = {
  kind: "primary",
  status: 403,
  subject: 'github-proxy client "bot"',
  resource: "core",
  limit: 500,
  retryAtMs: NOW + 754_000,
  nowMs: NOW,
};
const DOCS = "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api";

/** The parts of a refusal that vary → status, headers, body. */
const CASES: [
  label: string,
  refusal: Partial<RateRefusal>,
  status: number,
  headers: Record<string, string>,
  body: Record<string, string>,
][] = [
  ["primary, as GitHub", {}, 403, {
    "retry-after": "754",
    "x-ratelimit-limit": "500",
    "x-ratelimit-remaining": "0",
    "x-ratelimit-used": "500",
    "x-ratelimit-reset": String(NOW / 1000 + 754),
    "x-ratelimit-resource": "core",
  }, {
    message: 'API rate limit exceeded for github-proxy client "bot".',
    documentation_url: `${DOCS}#about-primary-rate-limits`,
  }],
  ["RATE_LIMIT_STATUS=429", { status: 429 }, 429, { "retry-after": "754" }, {
    message: 'API rate limit exceeded for github-proxy client "bot".',
  }],
  ["secondary, GitHub's sentence", { kind: "secondary", resource: "search" }, 403, {
    "x-ratelimit-remaining": "0",
    "x-ratelimit-resource": "search",
  }, {
    message:
      "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
    documentation_url: `${DOCS}#about-secondary-rate-limits`,
  }],
  [
    "the gateway's detail beside GitHub's words",
    { detail: "budget of 500 an hour spent" },
    403,
    {},
    {
      message: 'API rate limit exceeded for github-proxy client "bot".',
      detail: "budget of 500 an hour spent",
    },
  ],
  ["a moment already past waits a second", { retryAtMs: NOW - 5000 }, 403, {
    "retry-after": "1",
    "x-ratelimit-reset": String(NOW / 1000 + 1),
  }, {}],
  ["part seconds round up", { retryAtMs: NOW + 1200 }, 403, {
    "retry-after": "2",
    "x-ratelimit-reset": String(NOW / 1000 + 2),
  }, {}],
];

for (const [label, refusal, status, headers, body] of CASES) {
  Deno.test(`rateRefusal: ${label}`, async () => {
    const response = rateRefusal({ ...BASE, ...refusal });
    assert.equal(response.status, status);
    assert.equal(response.headers.get("content-type"), "application/json; charset=utf-8");
    for (const [name, value] of Object.entries(headers)) {
      assert.equal(response.headers.get(name), value, name);
    }
    const json = await response.json();
    for (const [name, value] of Object.entries(body)) assert.equal(json[name], value, name);
    if (!("detail" in body)) assert.equal("detail" in json, false);
  });
}

Deno.test("rateRefusal: what PyGithub 1.55 and Octokit's throttling plugin test for", async () => {
  // PyGithub: 403 and message.lower() starts "api rate limit exceeded" or ends
  // "please wait a few minutes before you try again."; Octokit: "secondary rate" in the message.
  for (const kind of ["primary", "secondary"] as const) {
    const response = rateRefusal({ ...BASE, kind, detail: "d" });
    const message: string = (await response.json()).message.toLowerCase();
    assert.equal(response.status, 403);
    assert.ok(
      message.startsWith("api rate limit exceeded") ||
        message.endsWith("please wait a few minutes before you try again."),
      message,
    );
    assert.equal(/\bsecondary rate\b/i.test(message), kind === "secondary");
  }
});
