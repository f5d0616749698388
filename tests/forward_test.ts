import assert from "node:assert/strict";
import { FakeGitHub } from "./support/fake_github.ts";
import { authed, startGateway } from "./support/gateway.ts";

Deno.test("forwards a GET with the pool credential and rewrites pagination links", async () => {
  const fake = await FakeGitHub.start({ pats: { "pat-one": {} } });
  const gw = await startGateway({ githubApiUrl: fake.url, env: { GITHUB_PAT_ONE: "pat-one" } });
  try {
    const response = await fetch(`${gw.url}/repos/acme/app/issues?per_page=10&page=1`, authed());
    assert.equal(response.status, 200);
    assert.equal((await response.json()).length, 10);
    assert.match(
      response.headers.get("link") ?? "",
      new RegExp(`<${gw.url}/repos/acme/app/issues\\?`),
    );
    const seen = fake.requests.at(-1)!;
    assert.equal(seen.credential, "pat-one");
    assert.equal(seen.rawQuery, "per_page=10&page=1");
  } finally {
    await gw.close();
    await fake.close();
  }
});
