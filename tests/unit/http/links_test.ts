import assert from "node:assert/strict";
import { rewriteLinks, rewriteUrl } from "../../../src/http/links.ts";

const UPSTREAM = "https://api.github.com";
const CLIENT = "http://gw:8080/github";

/** URL from GitHub → URL the client sees. */
const TABLE: [url: string, expected: string][] = [
  [UPSTREAM, CLIENT],
  [`${UPSTREAM}/`, `${CLIENT}/`],
  [`${UPSTREAM}/repos/acme/app/issues?page=2`, `${CLIENT}/repos/acme/app/issues?page=2`],
  [`${UPSTREAM}?page=2`, `${CLIENT}?page=2`],
  [`${UPSTREAM}.evil.example/x`, `${UPSTREAM}.evil.example/x`],
  [`${UPSTREAM}x/repos`, `${UPSTREAM}x/repos`],
  ["https://github.com/acme/app", "https://github.com/acme/app"],
  ["/relative/path", "/relative/path"],
  ["", ""],
];

for (const [url, expected] of TABLE) {
  Deno.test(`rewriteUrl ${JSON.stringify(url)}`, () => {
    assert.equal(rewriteUrl(url, UPSTREAM, CLIENT), expected);
  });
}

Deno.test("rewriteUrl keeps an Enterprise base and its /api/v3", () => {
  assert.equal(
    rewriteUrl("https://ghe.example/api/v3/repos?page=3", "https://ghe.example/api/v3", CLIENT),
    `${CLIENT}/repos?page=3`,
  );
});

Deno.test("rewriteLinks rewrites every Link URL and the Location, and leaves others alone", () => {
  const headers = new Headers({
    link: `<${UPSTREAM}/x?page=2>; rel="next", <https://other.example/y>; rel="help"`,
    location: `${UPSTREAM}/repos/acme/app/issues/1`,
    etag: `"${UPSTREAM}"`,
  });
  rewriteLinks(headers, UPSTREAM, CLIENT);
  assert.equal(
    headers.get("link"),
    `<${CLIENT}/x?page=2>; rel="next", <https://other.example/y>; rel="help"`,
  );
  assert.equal(headers.get("location"), `${CLIENT}/repos/acme/app/issues/1`);
  assert.equal(headers.get("etag"), `"${UPSTREAM}"`);
  const none = new Headers();
  rewriteLinks(none, UPSTREAM, CLIENT);
  assert.deepEqual([...none], []);
});
