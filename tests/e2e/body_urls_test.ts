/**
 * API URLs inside JSON bodies lead back through the gateway (DESIGN §5): forwarded, stored,
 * served fresh and revalidated; uploads at `/api/uploads`, web URLs untouched; a client's
 * `If-None-Match` answered by the gateway; gzip from upstream; `REWRITE_BODY_URLS=false`.
 */
import assert from "node:assert/strict";
import { FakeGitHub, type FakeGitHubOptions } from "../support/fake_github.ts";
import { authed, startGateway, type TestGateway } from "../support/gateway.ts";

const PAT = "ghp_pool_one";
const FRESH = { "cache-control": "max-age=3600" };
/** Web URLs: not API URLs, they stay as GitHub wrote them. */
const WEB_KEYS = new Set(["html_url", "clone_url", "git_url", "ssh_url", "avatar_url"]);

async function withGateway(
  options: { env?: Record<string, string>; fake?: FakeGitHubOptions },
  fn: (gw: TestGateway, fake: FakeGitHub) => Promise<void>,
): Promise<void> {
  const fake = await FakeGitHub.start({ pats: { [PAT]: {} }, ...options.fake });
  const gw = await startGateway({
    githubApiUrl: fake.url,
    env: { GITHUB_PAT_ONE: PAT, ...options.env },
  });
  try {
    await fn(gw, fake);
  } finally {
    await gw.close();
    await fake.close();
  }
}

/** Every `[key, value]` of a string value that is a URL, anywhere in `value`. */
function urlsIn(value: unknown, key = ""): [string, string][] {
  if (typeof value === "string") return /^[a-z]+:\/\//.test(value) ? [[key, value]] : [];
  if (Array.isArray(value)) return value.flatMap((item) => urlsIn(item, key));
  if (value && typeof value === "object") {
    return Object.entries(value).flatMap(([k, v]) => urlsIn(v, k));
  }
  return [];
}

/** Every API URL at `api`, every upload URL at `uploads`, every web URL on github.com. */
function assertAtGateway(body: unknown, api: string, uploads: string): void {
  const urls = urlsIn(body);
  assert.ok(urls.length > 10, "the body carries hypermedia URLs");
  for (const [key, url] of urls) {
    if (WEB_KEYS.has(key)) {
      assert.match(url, /^(https:\/\/github\.com\/|git:|https:\/\/avatars)/, key);
    } else if (key === "upload_url") {
      assert.ok(url.startsWith(`${uploads}/`), `${key}: ${url}`);
    } else {
      assert.ok(url.startsWith(`${api}/`), `${key}: ${url}`);
    }
  }
}

async function get(gw: TestGateway, path: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${gw.url}${path}`, authed(undefined, { headers }));
  return { response, text: await response.text() };
}

for (const layout of ["", "/api/v3"] as const) {
  for (const clientPrefix of ["", "/api/v3"]) {
    Deno.test(`repository body at the gateway base, forwarded, stored, fresh and revalidated (upstream "${layout}", client "${clientPrefix}/")`, async () => {
      await withGateway({ fake: { prefix: layout } }, async (gw) => {
        const path = `${clientPrefix}/repos/acme/app`;
        const api = `${gw.url}${clientPrefix}`;
        const answers = [
          await get(gw, path, { "cache-control": "no-store" }),
          await get(gw, path),
          await get(gw, path, FRESH),
          await get(gw, path),
        ];
        const statuses = answers.map((a) => a.response.headers.get("cache-status") ?? "");
        assert.equal(statuses[0], "github-proxy; fwd=bypass");
        assert.equal(statuses[1], "github-proxy; fwd=uri-miss; stored");
        assert.match(statuses[2], /^github-proxy; hit/);
        assert.equal(statuses[3], "github-proxy; fwd=stale; fwd-status=304");
        for (const { response, text } of answers) {
          assert.equal(response.status, 200);
          assertAtGateway(JSON.parse(text), api, `${gw.url}/api/uploads`);
          assert.equal(Number(response.headers.get("content-length") ?? text.length), text.length);
        }
        assert.equal(JSON.parse(answers[1].text).html_url, "https://github.com/acme/app");
        assert.equal(JSON.parse(answers[1].text).url, `${api}/repos/acme/app`);
        assert.equal(answers[2].text, answers[1].text);
        assert.equal(answers[3].text, answers[1].text);
      });
    });
  }
}

Deno.test("a release's upload_url leads to /api/uploads, never under /api/v3", async () => {
  await withGateway({}, async (gw) => {
    for (const prefix of ["", "/api/v3"]) {
      const { text } = await get(gw, `${prefix}/repos/acme/app/releases/7`);
      const release = JSON.parse(text);
      assert.equal(
        release.upload_url,
        `${gw.url}/api/uploads/repos/acme/app/releases/7/assets{?name,label}`,
      );
      assert.equal(release.assets_url, `${gw.url}${prefix}/repos/acme/app/releases/7/assets`);
      assert.equal(release.html_url, "https://github.com/acme/app/releases/tag/v7");
      assert.match(release.body, /^Notes mention http:\/\/127\.0\.0\.1:\d+\/repos/, "mid-string");
    }
  });
});

Deno.test("a client's If-None-Match gets the gateway's 304; the tag is per base", async () => {
  await withGateway({}, async (gw, fake) => {
    const first = await get(gw, "/repos/acme/app");
    const tag = first.response.headers.get("etag")!;
    const again = await get(gw, "/repos/acme/app", { "if-none-match": tag });
    assert.equal(again.response.status, 304);
    const fresh = await get(gw, "/repos/acme/app", { "if-none-match": tag, ...FRESH });
    assert.equal(fresh.response.status, 304);
    assert.ok(fake.requests.every((seen) => seen.headers.get("if-none-match") !== tag));

    const enterprise = await get(gw, "/api/v3/repos/acme/app", { "if-none-match": tag });
    assert.equal(enterprise.response.status, 200, "another base gets another body and tag");
    assert.notEqual(enterprise.response.headers.get("etag"), tag);
    const again2 = await get(gw, "/api/v3/repos/acme/app");
    assert.equal(again2.response.headers.get("etag"), enterprise.response.headers.get("etag"));
  });
});

Deno.test("created resources (a POST streamed through) carry gateway URLs", async () => {
  await withGateway({}, async (gw) => {
    const response = await fetch(
      `${gw.url}/repos/acme/app/issues`,
      authed(undefined, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ title: "x" }),
      }),
    );
    assert.equal(response.status, 201);
    assert.equal((await response.json()).url, `${gw.url}/repos/acme/app/issues/46`);
  });
});

Deno.test("a gzip answer from upstream is decoded and rewritten", async () => {
  await withGateway({ fake: { gzip: true } }, async (gw, fake) => {
    const direct = await fetch(`${fake.url}/repos/acme/app`, {
      headers: { authorization: `token ${PAT}`, "accept-encoding": "gzip" },
    });
    assert.equal(direct.headers.get("content-encoding"), "gzip", "the fake compresses");
    await direct.body?.cancel();
    fake.clearRequests();
    for (const headers of [{ "cache-control": "no-store" }, {}, FRESH]) {
      const { response, text } = await get(gw, "/repos/acme/app", headers);
      assert.equal(response.headers.get("content-encoding"), null);
      assertAtGateway(JSON.parse(text), gw.url, `${gw.url}/api/uploads`);
    }
    assert.match(fake.requests[0].headers.get("accept-encoding") ?? "", /gzip/);
  });
});

Deno.test("non-JSON bodies are untouched", async () => {
  await withGateway({}, async (gw, fake) => {
    const text = `see "${fake.url}/repos/acme/app"`;
    fake.setResource("/notes", new TextEncoder().encode(text), {
      headers: { "content-type": "text/plain" },
    });
    assert.equal((await get(gw, "/notes")).text, text);
  });
});

Deno.test("REWRITE_BODY_URLS=false leaves bodies as GitHub sent them", async () => {
  await withGateway({ env: { REWRITE_BODY_URLS: "false" } }, async (gw, fake) => {
    const direct = await (await fetch(`${fake.url}/repos/acme/app`, {
      headers: { authorization: `token ${PAT}` },
    })).text();
    for (const headers of [{ "cache-control": "no-store" }, {}, FRESH]) {
      const { text } = await get(gw, "/repos/acme/app", headers);
      assert.equal(text, direct);
    }
    const page = await fetch(`${gw.url}/repos/acme/app/issues?per_page=10`, authed());
    await page.body?.cancel();
    assert.match(page.headers.get("link") ?? "", new RegExp(`<${gw.url}/repos`), "links still");
  });
});
