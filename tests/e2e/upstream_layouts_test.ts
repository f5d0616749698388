/**
 * Link and Location rewriting, the Enterprise prefix and GraphQL, through Octokit, against both
 * upstream layouts: api.github.com (GraphQL at /graphql) and GitHub Enterprise Server (REST under
 * /api/v3, GraphQL at /api/graphql).
 */
import assert from "node:assert/strict";
import { octokitAt } from "../support/clients.ts";
import { fakeAndGateway } from "../support/fixtures.ts";

const PAT = "ghp_pool_one";

type Layout = "" | "/api/v3";
const LAYOUTS: [string, Layout][] = [["github.com layout", ""], ["GHES layout", "/api/v3"]];
const CLIENT_PREFIXES: Layout[] = ["", "/api/v3"];

/** One PAT, GitHub laid out as api.github.com ("") or GHES ("/api/v3"). */
function laidOut(layout: Layout) {
  return fakeAndGateway({
    fake: { pats: { [PAT]: {} }, prefix: layout },
    env: { GITHUB_PAT_ONE: PAT },
  });
}

for (const [name, layout] of LAYOUTS) {
  for (const clientPrefix of CLIENT_PREFIXES) {
    Deno.test(`octokit.paginate walks all 45 issues via "${clientPrefix}/" (${name})`, async () => {
      await using setup = await laidOut(layout);
      const { fake, gw } = setup;
      const octokit = octokitAt(`${gw.url}${clientPrefix}`);
      const issues = await octokit.paginate(octokit.rest.issues.listForRepo, {
        owner: "acme",
        repo: "app",
        per_page: 10,
        state: "open",
      });
      assert.deepEqual(issues.map((issue) => issue.number), [...Array(45)].map((_, i) => i + 1));
      assert.equal(fake.requests.length, 5);
      for (const seen of fake.requests) {
        assert.equal(seen.path, `${layout}/repos/acme/app/issues`);
        assert.equal(seen.credential, PAT);
      }
      assert.deepEqual(
        fake.requests.map((seen) => new URLSearchParams(seen.rawQuery).get("page")),
        [null, "2", "3", "4", "5"],
      );
    });

    Deno.test(`Location of a created issue leads back via "${clientPrefix}/" (${name})`, async () => {
      await using setup = await laidOut(layout);
      const { gw } = setup;
      const octokit = octokitAt(`${gw.url}${clientPrefix}`);
      const created = await octokit.rest.issues.create({
        owner: "acme",
        repo: "app",
        title: "x",
      });
      assert.equal(created.status, 201);
      assert.equal(
        created.headers.location,
        `${gw.url}${clientPrefix}/repos/acme/app/issues/46`,
      );
    });

    Deno.test(`GraphQL from an Octokit at "${clientPrefix}/" reaches GraphQL (${name})`, async () => {
      await using setup = await laidOut(layout);
      const { fake, gw } = setup;
      const octokit = octokitAt(`${gw.url}${clientPrefix}`);
      const result = await octokit.graphql<{ viewer: { login: string } }>(
        "query($n: Int!) { viewer { login } }",
        { n: 1 },
      );
      assert.equal(result.viewer.login, "fake");
      assert.equal(fake.requests.length, 1);
      const seen = fake.requests[0];
      assert.equal(seen.method, "POST");
      assert.equal(seen.path, layout === "" ? "/graphql" : "/api/graphql");
      assert.equal(seen.credential, PAT);
      assert.deepEqual(JSON.parse(new TextDecoder().decode(seen.body)), {
        query: "query($n: Int!) { viewer { login } }",
        variables: { n: 1 },
      });
    });
  }

  Deno.test(`GraphQL on both gateway paths, /graphql and /api/graphql (${name})`, async () => {
    await using setup = await laidOut(layout);
    const { fake, gw } = setup;
    for (const path of ["/graphql", "/api/graphql"]) {
      fake.clearRequests();
      const response = await fetch(`${gw.url}${path}`, {
        method: "POST",
        headers: { authorization: "bearer test-token", "content-type": "application/json" },
        body: JSON.stringify({ query: "{ viewer { login } }" }),
      });
      assert.equal(response.status, 200, path);
      assert.equal((await response.json()).data.viewer.login, "fake");
      assert.equal(fake.requests[0].path, layout === "" ? "/graphql" : "/api/graphql");
    }
  });
}
