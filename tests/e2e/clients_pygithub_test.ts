/**
 * PyGithub (Debian's `python3-github`, run with /usr/bin/python3), unchanged, with its base URL at
 * the gateway (`http://localhost:<port>/api/v3`) over the fake GitHub at 127.0.0.1. PyGithub
 * asserts that every URL it follows is on its own host, and classifies errors by status and
 * message (`Requester.__createException`).
 *
 * The hypermedia test depends on JSON body URL rewriting (the fake's bodies carry its own URLs);
 * the errors test on the gateway's own messages only.
 */
import assert from "node:assert/strict";
import { FakeGitHub } from "../support/fake_github.ts";
import { startGateway, TEST_TOKEN, type TestGateway } from "../support/gateway.ts";
import { runPyGithub } from "../support/clients.ts";

const PAT = "ghp_pool_pygithub";

async function withGateway(
  run: (fake: FakeGitHub, gw: TestGateway, base: string) => Promise<void>,
): Promise<void> {
  const fake = await FakeGitHub.start({ pats: { [PAT]: {} }, issueCount: 250 });
  const gw = await startGateway({ githubApiUrl: fake.url, env: { GITHUB_PAT_PYGITHUB: PAT } });
  // Another host name than the fake's 127.0.0.1: a URL left pointing at the fake fails
  // PyGithub's host check instead of quietly bypassing the gateway.
  const base = `${gw.url.replace("127.0.0.1", "localhost")}/api/v3`;
  try {
    await run(fake, gw, base);
  } finally {
    await gw.close();
    await fake.close();
  }
}

Deno.test("PyGithub: get_repo, 250 issues, totalCount, get_contents and a lazy attribute", async () => {
  await withGateway(async (fake, _gw, base) => {
    const readme = "# app\n\nServed by the fake GitHub.\n";
    fake.setResource("/repos/acme/app/contents/README.md", {
      type: "file",
      encoding: "base64",
      size: readme.length,
      name: "README.md",
      path: "README.md",
      content: btoa(readme).replace(/(.{60})/g, "$1\n"),
      sha: "3d21ec53a331a6f037a91c368710b99387d012c1",
      url: `${fake.url}/repos/acme/app/contents/README.md?ref=main`,
      git_url: `${fake.url}/repos/acme/app/git/blobs/3d21ec53a331a6f037a91c368710b99387d012c1`,
      html_url: "https://github.com/acme/app/blob/main/README.md",
      download_url: "https://raw.githubusercontent.com/acme/app/main/README.md",
    });
    fake.setResource("/users/acme", {
      login: "acme",
      id: 1,
      type: "Organization",
      name: "Acme Corporation",
      url: `${fake.url}/users/acme`,
      html_url: "https://github.com/acme",
      repos_url: `${fake.url}/users/acme/repos`,
    });

    const seen = await runPyGithub("hypermedia", base, TEST_TOKEN);
    assert.deepEqual(seen, {
      full_name: "acme/app",
      issues: [...Array(250)].map((_, i) => i + 1),
      total_count: 250,
      readme,
      owner_name: "Acme Corporation",
    });
    assert.ok(fake.requests.every((request) => request.credential === PAT), "all via the gateway");
    const paths = fake.requests.map((request) => request.path);
    assert.equal(paths.filter((path) => path === "/repos/acme/app/issues").length, 9 + 1);
    assert.ok(paths.includes("/repos/acme/app/contents/README.md"));
    assert.ok(paths.includes("/users/acme"));
  });
});

Deno.test("PyGithub: BadCredentialsException for an unknown client token, RateLimitExceededException for the pool's refusal", async () => {
  await withGateway(async (fake, _gw, base) => {
    fake.setRemaining(PAT, "core", 0, Math.floor(Date.now() / 1000) + 600);
    const seen = await runPyGithub("errors", base, TEST_TOKEN);
    assert.deepEqual(seen.unknown_token, {
      exception: "BadCredentialsException",
      status: 401,
      message: "Bad credentials",
      detail: "unknown github-proxy client token",
    });
    const limited = seen.rate_limited as Record<string, unknown>;
    assert.equal(limited.exception, "RateLimitExceededException");
    assert.equal(limited.status, 403);
    assert.match(String(limited.message), /^API rate limit exceeded for every credential/);
    assert.match(String(limited.detail), /^the first credential serves core again at /);
    assert.deepEqual(fake.requests.map((request) => [request.credential, request.status]), [
      [PAT, 403],
    ], "the unknown token reached nothing; the dry PAT was asked once");
  });
});
