/**
 * The client's base end to end (DESIGN §5, §4): `Link` headers and body URLs under `PUBLIC_URL`,
 * under a trusted reverse proxy's `X-Forwarded-*` or `Forwarded`, and unchanged by those headers
 * when they are not trusted; a malformed trusted header is logged once.
 */
import assert from "node:assert/strict";
import { FakeGitHub } from "../support/fake_github.ts";
import { authed, startGateway, type TestGateway } from "../support/gateway.ts";

const PAT = "ghp_pool_one";

async function withGateway(
  env: Record<string, string>,
  fn: (gw: TestGateway, fake: FakeGitHub) => Promise<void>,
): Promise<void> {
  const fake = await FakeGitHub.start({ pats: { [PAT]: {} } });
  const gw = await startGateway({ githubApiUrl: fake.url, env: { GITHUB_PAT_ONE: PAT, ...env } });
  try {
    await fn(gw, fake);
  } finally {
    await gw.close();
    await fake.close();
  }
}

/** Page 1 of the fake's issues through the gateway: its `next` link and its first issue's `url`. */
async function firstPage(gw: TestGateway, path: string, headers: Record<string, string> = {}) {
  const response = await fetch(
    `${gw.url}${path}/repos/acme/app/issues?per_page=10`,
    authed(
      undefined,
      { headers },
    ),
  );
  assert.equal(response.status, 200);
  const issues = await response.json();
  const next = /<([^>]*)>; rel="next"/.exec(response.headers.get("link") ?? "")?.[1];
  return { next, url: issues[0].url, comments: issues[0].comments_url };
}

Deno.test("PUBLIC_URL is the base of Link and body URLs, with /api/v3 when the client used it", async () => {
  await withGateway({ PUBLIC_URL: "https://gw.example/gh/" }, async (gw) => {
    for (const prefix of ["", "/api/v3"]) {
      const page = await firstPage(gw, prefix, { "x-forwarded-host": "ignored.example" });
      const base = `https://gw.example/gh${prefix}`;
      assert.equal(page.next, `${base}/repos/acme/app/issues?per_page=10&page=2`);
      assert.equal(page.url, `${base}/repos/acme/app/issues/1`);
      assert.equal(page.comments, `${base}/repos/acme/app/issues/1/comments`);
    }
  });
});

Deno.test("trusted X-Forwarded-Proto, -Host and -Prefix make the base", async () => {
  await withGateway({ TRUST_PROXY_HEADERS: "true" }, async (gw, fake) => {
    const page = await firstPage(gw, "", {
      "x-forwarded-proto": "https",
      "x-forwarded-host": "gw.example",
      "x-forwarded-prefix": "/gh",
    });
    assert.equal(page.next, "https://gw.example/gh/repos/acme/app/issues?per_page=10&page=2");
    assert.equal(page.url, "https://gw.example/gh/repos/acme/app/issues/1");
    const sent = fake.requests[0].headers;
    for (const name of ["x-forwarded-proto", "x-forwarded-host", "x-forwarded-prefix"]) {
      assert.equal(sent.get(name), null, `${name} is not sent to GitHub`);
    }
  });
});

Deno.test("trusted Forwarded makes the base", async () => {
  await withGateway({ TRUST_PROXY_HEADERS: "true" }, async (gw) => {
    const page = await firstPage(gw, "/api/v3", {
      forwarded: 'for=192.0.2.1;proto=https;host="gw.example:8443", proto=http;host=inner',
    });
    assert.equal(
      page.next,
      "https://gw.example:8443/api/v3/repos/acme/app/issues?per_page=10&page=2",
    );
    assert.equal(page.url, "https://gw.example:8443/api/v3/repos/acme/app/issues/1");
  });
});

Deno.test("without TRUST_PROXY_HEADERS a client cannot move its links elsewhere", async () => {
  await withGateway({}, async (gw) => {
    const page = await firstPage(gw, "", {
      forwarded: "proto=https;host=evil.example",
      "x-forwarded-proto": "https",
      "x-forwarded-host": "evil.example",
      "x-forwarded-prefix": "/evil",
    });
    assert.equal(page.next, `${gw.url}/repos/acme/app/issues?per_page=10&page=2`);
    assert.equal(page.url, `${gw.url}/repos/acme/app/issues/1`);
  });
});

Deno.test("a malformed trusted header is ignored and logged once per kind", async () => {
  await withGateway({ TRUST_PROXY_HEADERS: "true" }, async (gw) => {
    for (let i = 0; i < 3; i++) {
      const page = await firstPage(gw, "", {
        "x-forwarded-proto": "https",
        "x-forwarded-host": "evil.example/path",
      });
      assert.equal(page.url, `${gw.url.replace("http:", "https:")}/repos/acme/app/issues/1`);
    }
    await firstPage(gw, "", { "x-forwarded-prefix": "/a/../b" });
    const warned = gw.logs.map((line) => JSON.parse(line))
      .filter((line) => line.msg.startsWith("ignored a malformed proxy header"))
      .map((line) => line.header);
    assert.deepEqual(warned, ["X-Forwarded-Host", "X-Forwarded-Prefix"]);
  });
});
