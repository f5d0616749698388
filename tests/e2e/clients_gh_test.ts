/**
 * `gh` (Debian's `gh`), unchanged, against the gateway behind a TLS-terminating reverse proxy as
 * a GitHub Enterprise Server host: `GH_HOST=127.0.0.1:<port>`, `GH_ENTERPRISE_TOKEN=<client
 * token>`, the test CA trusted through `SSL_CERT_FILE`. gh then calls `https://<host>/api/v3/…`
 * and `https://<host>/api/graphql`.
 *
 * `--paginate` depends on the client base (`TRUST_PROXY_HEADERS`, `X-Forwarded-*`): gh follows
 * the `Link` header as written, and a `Link` to the gateway's own `http://` address (which, in a
 * deployment, is port 80 of the public host) leaves the proxy.
 */
import assert from "node:assert/strict";
import { FakeGitHub } from "../support/fake_github.ts";
import { startGateway, TEST_TOKEN } from "../support/gateway.ts";
import { startTlsProxy, type TlsProxy } from "../support/tls_proxy.ts";
import { runGh } from "../support/clients.ts";

const PAT = "ghp_pool_gh";

async function withGhHost(
  run: (
    fake: FakeGitHub,
    gh: (...args: string[]) => Promise<string>,
    proxy: TlsProxy,
  ) => Promise<void>,
): Promise<void> {
  const fake = await FakeGitHub.start({ pats: { [PAT]: {} }, issueCount: 250 });
  const gw = await startGateway({
    githubApiUrl: fake.url,
    env: { GITHUB_PAT_GH: PAT, TRUST_PROXY_HEADERS: "true" },
  });
  let proxy: TlsProxy | undefined;
  try {
    proxy = await startTlsProxy(gw.url);
    const host = `127.0.0.1:${proxy.port}`;
    const caFile = proxy.ca.caFile;
    await run(fake, (...args) => runGh(args, { host, token: TEST_TOKEN, caFile }), proxy);
  } finally {
    await proxy?.close();
    await gw.close();
    await fake.close();
  }
}

Deno.test("gh api as a GHES host behind TLS: a repository", async () => {
  await withGhHost(async (fake, gh) => {
    assert.equal(await gh("api", "repos/acme/app", "--jq", ".full_name"), "acme/app\n");
    assert.deepEqual(fake.requests.map((seen) => [seen.method, seen.path, seen.credential]), [
      ["GET", "/repos/acme/app", PAT],
    ]);
  });
});

Deno.test("gh api --paginate as a GHES host behind TLS: 250 issues, every page", async () => {
  await withGhHost(async (fake, gh, proxy) => {
    const numbers = (await gh("api", "--paginate", "repos/acme/app/issues", "--jq", ".[].number"))
      .trim().split("\n").map(Number);
    assert.deepEqual(numbers, [...Array(250)].map((_, i) => i + 1));
    const pages = fake.requests.map((seen) => new URLSearchParams(seen.rawQuery).get("page"));
    assert.equal(pages[0], null);
    assert.deepEqual(pages.slice(1), [...Array(pages.length - 1)].map((_, i) => String(i + 2)));
    assert.ok(fake.requests.every((seen) => seen.credential === PAT));
    assert.equal(proxy.forwarded.length, fake.requests.length, "every page through the proxy");
    for (const line of proxy.forwarded) {
      assert.match(line, /^GET \/api\/v3\/repos\/acme\/app\/issues/);
    }
  });
});

Deno.test("gh api graphql as a GHES host behind TLS reaches GraphQL", async () => {
  await withGhHost(async (fake, gh) => {
    const login = await gh(
      "api",
      "graphql",
      "-f",
      "query=query Who { viewer { login } }",
      "--jq",
      ".data.viewer.login",
    );
    assert.equal(login, "fake\n");
    assert.deepEqual(fake.requests.map((seen) => [seen.method, seen.path, seen.credential]), [
      ["POST", "/graphql", PAT],
    ]);
  });
});
