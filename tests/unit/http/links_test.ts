import assert from "node:assert/strict";
import { rewriteLinks, rewriteUrl, urlMap } from "../../../src/http/links.ts";

const UPSTREAM = "https://api.github.com";
const CLIENT = "http://gw:8080/github";
const MAP = urlMap(
  { api: UPSTREAM, uploads: "https://uploads.github.com" },
  { api: CLIENT, uploads: "http://gw:8080/github/api/uploads" },
);

/** URL from GitHub → URL the client sees. */
const TABLE: [url: string, expected: string][] = [
  [UPSTREAM, CLIENT],
  [`${UPSTREAM}/`, `${CLIENT}/`],
  [`${UPSTREAM}/repos/acme/app/issues?page=2`, `${CLIENT}/repos/acme/app/issues?page=2`],
  [`${UPSTREAM}?page=2`, `${CLIENT}?page=2`],
  [`${UPSTREAM}{/owner}`, `${CLIENT}{/owner}`],
  [
    "https://uploads.github.com/repos/o/r/releases/1/assets{?name,label}",
    "http://gw:8080/github/api/uploads/repos/o/r/releases/1/assets{?name,label}",
  ],
  [`${UPSTREAM}.evil.example/x`, `${UPSTREAM}.evil.example/x`],
  [`${UPSTREAM}x/repos`, `${UPSTREAM}x/repos`],
  ["https://github.com/acme/app", "https://github.com/acme/app"],
  ["/relative/path", "/relative/path"],
  ["", ""],
];

for (const [url, expected] of TABLE) {
  Deno.test(`rewriteUrl ${JSON.stringify(url)}`, () => {
    assert.equal(rewriteUrl(url, MAP), expected);
  });
}

Deno.test("rewriteUrl keeps an Enterprise base and its /api/v3", () => {
  assert.equal(
    rewriteUrl(
      "https://ghe.example/api/v3/repos?page=3",
      urlMap(
        { api: "https://ghe.example/api/v3", uploads: "https://ghe.example/api/uploads" },
        { api: CLIENT, uploads: `${CLIENT}/api/uploads` },
      ),
    ),
    `${CLIENT}/repos?page=3`,
  );
});

Deno.test("rewriteLinks rewrites every Link URL and the Location, and leaves others alone", () => {
  const headers: [string, string][] = [
    ["link", `<${UPSTREAM}/x?page=2>; rel="next", <https://other.example/y>; rel="help"`],
    ["location", `${UPSTREAM}/repos/acme/app/issues/1`],
    ["etag", `"${UPSTREAM}"`],
  ];
  rewriteLinks(headers, MAP);
  assert.deepEqual(headers, [
    ["link", `<${CLIENT}/x?page=2>; rel="next", <https://other.example/y>; rel="help"`],
    ["location", `${CLIENT}/repos/acme/app/issues/1`],
    ["etag", `"${UPSTREAM}"`],
  ]);
  const none: [string, string][] = [];
  rewriteLinks(none, MAP);
  assert.deepEqual(none, []);
});
