/**
 * `@octokit/rest`, unchanged, against the gateway behind a TLS-terminating reverse proxy, as a
 * GitHub Enterprise Server base (`https://<proxy>/api/v3`), over the fake GitHub in the GHES
 * layout: every URL Octokit follows (pagination `Link`, `upload_url`) must stay on the proxy.
 *
 * Depends on the client base (`TRUST_PROXY_HEADERS`, `X-Forwarded-*`) for `Link`, on JSON body
 * URL rewriting for `upload_url`, and on uploads routing at `/api/uploads/`.
 */
import assert from "node:assert/strict";
import { Octokit } from "@octokit/rest";
import { FakeGitHub } from "../support/fake_github.ts";
import { startGateway, TEST_TOKEN, type TestGateway } from "../support/gateway.ts";
import { startTlsProxy, type TlsProxy } from "../support/tls_proxy.ts";

const PAT = "ghp_pool_octokit";
const QUIET = { debug() {}, info() {}, warn() {}, error() {} };

interface Setup {
  fake: FakeGitHub;
  gw: TestGateway;
  proxy: TlsProxy;
  octokit: Octokit;
  /** Every URL Octokit fetched. */
  fetched: string[];
}

async function withOctokitBehindTls(run: (setup: Setup) => Promise<void>): Promise<void> {
  const fake = await FakeGitHub.start({ pats: { [PAT]: {} }, prefix: "/api/v3", issueCount: 250 });
  const gw = await startGateway({
    githubApiUrl: fake.url,
    env: { GITHUB_PAT_OCTOKIT: PAT, TRUST_PROXY_HEADERS: "true" },
  });
  const proxy = await startTlsProxy(gw.url);
  const fetched: string[] = [];
  const octokit = new Octokit({
    baseUrl: `${proxy.url}/api/v3`,
    auth: TEST_TOKEN,
    log: QUIET,
    request: {
      fetch: (url: string | URL, init?: RequestInit) => {
        fetched.push(String(url));
        return fetch(url, { ...init, client: proxy.httpClient });
      },
    },
  });
  try {
    await run({ fake, gw, proxy, octokit, fetched });
  } finally {
    await proxy.close();
    await gw.close();
    await fake.close();
  }
}

Deno.test("Octokit behind TLS: paginate walks 250 issues, every page through the proxy", async () => {
  await withOctokitBehindTls(async ({ fake, proxy, octokit, fetched }) => {
    const issues = await octokit.paginate(octokit.rest.issues.listForRepo, {
      owner: "acme",
      repo: "app",
      per_page: 100,
    });
    assert.deepEqual(issues.map((issue) => issue.number), [...Array(250)].map((_, i) => i + 1));
    assert.equal(fetched.length, 3);
    for (const url of fetched) {
      assert.ok(url.startsWith(`${proxy.url}/api/v3/repos/acme/app/issues`), url);
    }
    assert.deepEqual(
      fake.requests.map((seen) => [seen.path, new URLSearchParams(seen.rawQuery).get("page")]),
      [
        ["/api/v3/repos/acme/app/issues", null],
        ["/api/v3/repos/acme/app/issues", "2"],
        ["/api/v3/repos/acme/app/issues", "3"],
      ],
    );
    assert.ok(fake.requests.every((seen) => seen.credential === PAT));
    // The issues' own API URLs are the client's too.
    assert.equal(issues[0].url, `${proxy.url}/api/v3/repos/acme/app/issues/1`);
  });
});

Deno.test("Octokit behind TLS: graphql reaches GHES's /api/graphql", async () => {
  await withOctokitBehindTls(async ({ fake, proxy, octokit, fetched }) => {
    const result = await octokit.graphql<{ viewer: { login: string } }>(
      "query Who { viewer { login } }",
    );
    assert.equal(result.viewer.login, "fake");
    assert.deepEqual(fetched, [`${proxy.url}/api/graphql`]);
    assert.deepEqual(fake.requests.map((seen) => [seen.method, seen.path, seen.credential]), [
      ["POST", "/api/graphql", PAT],
    ]);
  });
});

Deno.test("Octokit behind TLS: a release asset uploads to the release's upload_url via the gateway", async () => {
  await withOctokitBehindTls(async ({ fake, proxy, octokit, fetched }) => {
    const id = fake.addRelease("acme", "app", "v1");
    const { data: release } = await octokit.rest.repos.getRelease({
      owner: "acme",
      repo: "app",
      release_id: id,
    });
    assert.equal(release.html_url, "https://github.com/acme/app/releases/tag/v1", "web URL kept");
    assert.equal(
      release.upload_url,
      `${proxy.url}/api/uploads/repos/acme/app/releases/${id}/assets{?name,label}`,
    );

    const bytes = new Uint8Array(70_000).map((_, i) => (i * 7) % 256);
    const { status, data: asset } = await octokit.rest.repos.uploadReleaseAsset({
      owner: "acme",
      repo: "app",
      release_id: id,
      url: release.upload_url,
      name: "app-linux.tar.gz",
      // Octokit's types want a string; at run time it sends any body fetch takes, as is.
      data: bytes as unknown as string,
      headers: { "content-type": "application/gzip" },
    });
    assert.equal(status, 201);
    assert.equal(asset.name, "app-linux.tar.gz");
    assert.equal(asset.size, bytes.length);
    // An API URL on the gateway (whether with /api/v3 after an upload is the client base's call).
    assert.match(
      asset.url,
      new RegExp(`^${proxy.url}(/api/v3)?/repos/acme/app/releases/assets/1$`),
    );
    assert.ok(
      fetched.at(-1)?.startsWith(
        `${proxy.url}/api/uploads/repos/acme/app/releases/${id}/assets?name=app-linux.tar.gz`,
      ),
      fetched.at(-1),
    );
    const upload = fake.requests.at(-1)!;
    assert.deepEqual([upload.method, upload.path, upload.credential], [
      "POST",
      `/api/uploads/repos/acme/app/releases/${id}/assets`,
      PAT,
    ]);
    assert.equal(new URLSearchParams(upload.rawQuery).get("name"), "app-linux.tar.gz");
    assert.equal(upload.headers.get("content-length"), String(bytes.length));
    assert.equal(upload.headers.get("content-type"), "application/gzip");
    assert.deepEqual(upload.body, bytes);
  });
});
