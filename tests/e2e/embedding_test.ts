/** `mod.ts` as a library: the gateway mounted under a prefix inside another Hono app. */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { createGateway, parseConfig } from "../../mod.ts";
import { FakeGitHub } from "../support/fake_github.ts";
import { FULL_ACCESS_REGISTRY, TEST_TOKEN } from "../support/gateway.ts";
import { octokitAt } from "../support/clients.ts";
import { silentLogger } from "../../src/log.ts";

const PAT = "ghp_pool_one";

Deno.test("mounted with app.route('/github', gateway.app) inside a parent Hono app", async () => {
  const fake = await FakeGitHub.start({ pats: { [PAT]: {} } });
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/registry.yaml`, FULL_ACCESS_REGISTRY);
  const gateway = await createGateway(
    parseConfig({
      GITHUB_API_URL: fake.url,
      CLIENT_REGISTRY_FILE_PATH: `${dir}/registry.yaml`,
      CACHE_BACKEND_URL: "memory://",
      GITHUB_PAT_ONE: PAT,
    }),
    { logger: silentLogger },
  );
  const parent = new Hono();
  parent.get("/", (c) => c.text("parent home"));
  parent.route("/github", gateway.app);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, parent.fetch);
  const base = `http://127.0.0.1:${server.addr.port}`;
  try {
    assert.equal(await (await fetch(`${base}/`)).text(), "parent home");
    assert.equal((await fetch(`${base}/github/healthz`)).status, 200);

    const zen = await fetch(`${base}/github/zen`, {
      headers: { authorization: `token ${TEST_TOKEN}` },
    });
    assert.equal(await zen.text(), "Keep it logically awesome.");
    assert.equal(fake.requests[0].path, "/zen");

    const page = await fetch(`${base}/github/repos/acme/app/issues?per_page=20`, {
      headers: { authorization: `token ${TEST_TOKEN}` },
    });
    assert.match(
      page.headers.get("link") ?? "",
      new RegExp(`^<${base}/github/repos/acme/app/issues\\?per_page=20&page=2>; rel="next"`),
    );
    await page.body?.cancel();

    for (const prefix of ["/github", "/github/api/v3"]) {
      fake.clearRequests();
      const octokit = octokitAt(`${base}${prefix}`);
      const issues = await octokit.paginate(octokit.rest.issues.listForRepo, {
        owner: "acme",
        repo: "app",
        per_page: 20,
      });
      assert.equal(issues.length, 45);
      assert.equal(fake.requests.length, 3);
      const created = await octokit.rest.issues.create({ owner: "acme", repo: "app", title: "t" });
      assert.equal(created.headers.location, `${base}${prefix}/repos/acme/app/issues/46`);
    }

    const unknown = await fetch(`${base}/github/zen`, { headers: { authorization: "token x" } });
    assert.equal(unknown.status, 401);
    await unknown.body?.cancel();
    const malformed = await fetch(`${base}/github/repos//x`, {
      headers: { authorization: `token ${TEST_TOKEN}` },
    });
    assert.equal(malformed.status, 400);
    await malformed.body?.cancel();
  } finally {
    await server.shutdown();
    await gateway.close();
    await fake.close();
    await Deno.remove(dir, { recursive: true });
  }
});
