/**
 * Release-asset uploads (DESIGN §5): `/api/uploads/<path>` reaches GitHub's uploads root with a
 * pool credential, authorised as the REST path `<path>`, the body streamed with its
 * `Content-Length`, GitHub's 201 streamed back.
 */
import assert from "node:assert/strict";
import { FakeGitHub } from "../support/fake_github.ts";
import { startGateway, type TestGateway } from "../support/gateway.ts";

const PAT = "ghp_uploads_pool";
const REGISTRY = `version: 1
clients:
  - name: releaser
    token: releaser-token
    scopes:
      - method: POST
        path: /repos/acme/app/releases/.*
  - name: reader
    token: reader-token
    scopes:
      - method: GET
        path: /repos/acme/.*
`;

/** A few hundred KB that are not all alike: byte i is (i * 7) % 256. */
const ASSET = new Uint8Array(300_000).map((_, i) => (i * 7) % 256);

/** Runs `fn` with a gateway started by `start`, then closes it and `fakes`. */
async function using(
  fakes: readonly FakeGitHub[],
  start: () => Promise<TestGateway>,
  fn: (gw: TestGateway) => Promise<void>,
): Promise<void> {
  try {
    const gw = await start();
    try {
      await fn(gw);
    } finally {
      await gw.close();
    }
  } finally {
    for (const fake of fakes) await fake.close();
  }
}

function upload(base: string, token: string, path: string, body: Uint8Array<ArrayBuffer> = ASSET) {
  return fetch(`${base}/api/uploads${path}`, {
    method: "POST",
    headers: {
      authorization: `token ${token}`,
      "content-type": "application/octet-stream",
      "content-length": String(body.length),
    },
    body,
  });
}

Deno.test("an asset upload reaches the uploads root intact, with its length and a pool credential", async () => {
  // As on github.com the uploads API is another host: a second fake, named by GITHUB_UPLOADS_URL.
  const api = await FakeGitHub.start({ pats: { [PAT]: {} } });
  const uploads = await FakeGitHub.start({ pats: { [PAT]: {} } });
  const release = uploads.addRelease("acme", "app", "v1.0.0");
  const start = () =>
    startGateway({
      githubApiUrl: api.url,
      registry: REGISTRY,
      env: { GITHUB_PAT_UPLOADS: PAT, GITHUB_UPLOADS_URL: uploads.uploadsUrl },
    });
  await using([api, uploads], start, async (gw) => {
    const path = `/repos/acme/app/releases/${release}/assets?name=app.tar.gz&label=App`;
    const response = await upload(gw.url, "releaser-token", path);
    assert.equal(response.status, 201);
    const asset = await response.json();
    assert.equal(asset.name, "app.tar.gz");
    assert.equal(asset.label, "App");
    assert.equal(asset.size, ASSET.length);
    assert.match(response.headers.get("cache-status") ?? "", /fwd=bypass/);

    assert.equal(api.requests.length, 0, "nothing went to the REST host");
    assert.equal(uploads.requests.length, 1);
    const [sent] = uploads.requests;
    assert.equal(sent.method, "POST");
    assert.equal(sent.path, `/api/uploads/repos/acme/app/releases/${release}/assets`);
    assert.equal(sent.rawQuery, "name=app.tar.gz&label=App");
    assert.equal(sent.credential, PAT, "the pool credential");
    assert.equal(sent.headers.get("content-length"), String(ASSET.length));
    assert.equal(sent.headers.get("transfer-encoding"), null, "not re-chunked");
    assert.equal(sent.headers.get("content-type"), "application/octet-stream");
    for (const [name, value] of sent.headers) {
      assert.ok(!value.includes("releaser-token"), `client token in ${name}`);
    }
    const [stored] = uploads.assets(release);
    assert.deepEqual(stored.bytes, ASSET, "arrived intact");
  });
});

Deno.test("uploads are authorised as their REST path: scope on the releases covers them", async () => {
  const fake = await FakeGitHub.start({ pats: { [PAT]: {} } });
  const app = fake.addRelease("acme", "app", "v1");
  const other = fake.addRelease("acme", "other", "v1");
  const start = () =>
    startGateway({ githubApiUrl: fake.url, registry: REGISTRY, env: { GITHUB_PAT_UPLOADS: PAT } });
  await using([fake], start, async (gw) => {
    const small = new Uint8Array(1024);
    const refused: [token: string, path: string][] = [
      ["reader-token", `/repos/acme/app/releases/${app}/assets?name=a`],
      ["releaser-token", `/repos/acme/other/releases/${other}/assets?name=a`],
    ];
    for (const [token, path] of refused) {
      const response = await upload(gw.url, token, path, small);
      assert.equal(response.status, 403, path);
      const refusal = await response.json();
      assert.match(refusal.message, /^Resource not accessible by github-proxy client "/);
      assert.match(refusal.detail, /^may not POST \/repos\/acme\//);
    }
    assert.equal(fake.requests.length, 0, "nothing reached GitHub");

    const allowed = await upload(
      gw.url,
      "releaser-token",
      `/repos/acme/app/releases/${app}/assets?name=a`,
      small,
    );
    assert.equal(allowed.status, 201);
    await allowed.body?.cancel();
    assert.equal(fake.assets(app).length, 1);
  });
});

Deno.test("GitHub Enterprise Server: uploads go to <host>/api/uploads/, derived from GITHUB_API_URL", async () => {
  const fake = await FakeGitHub.start({ pats: { [PAT]: {} }, prefix: "/api/v3" });
  const release = fake.addRelease("acme", "app", "v2");
  const start = () =>
    startGateway({ githubApiUrl: fake.url, registry: REGISTRY, env: { GITHUB_PAT_UPLOADS: PAT } });
  await using([fake], start, async (gw) => {
    const response = await upload(
      gw.url,
      "releaser-token",
      `/repos/acme/app/releases/${release}/assets?name=x.zip`,
    );
    assert.equal(response.status, 201);
    assert.equal((await response.json()).size, ASSET.length);
    assert.deepEqual(
      fake.requests.map((r) => `${r.method} ${r.path}`),
      [`POST /api/uploads/repos/acme/app/releases/${release}/assets`],
    );
    assert.deepEqual(fake.assets(release)[0].bytes, ASSET);

    // Not under /api/v3: that would be a REST path no scope was written for.
    fake.clearRequests();
    const nested = await fetch(
      `${gw.url}/api/v3/api/uploads/repos/acme/app/releases/${release}/assets?name=y`,
      { method: "POST", headers: { authorization: "token releaser-token" }, body: "y" },
    );
    assert.equal(nested.status, 400);
    await nested.body?.cancel();
    assert.equal(fake.requests.length, 0);
  });
});

Deno.test("GitHub's refusal of an upload comes back as GitHub worded it", async () => {
  const fake = await FakeGitHub.start({ pats: { [PAT]: {} } });
  const release = fake.addRelease("acme", "app", "v1");
  const start = () => startGateway({ githubApiUrl: fake.url, env: { GITHUB_PAT_UPLOADS: PAT } });
  await using([fake], start, async (gw) => {
    const first = await upload(
      gw.url,
      "test-token",
      `/repos/acme/app/releases/${release}/assets?name=dup`,
    );
    await first.body?.cancel();
    const again = await upload(
      gw.url,
      "test-token",
      `/repos/acme/app/releases/${release}/assets?name=dup`,
    );
    assert.equal(again.status, 422);
    const body = await again.json();
    assert.equal(body.message, "Validation Failed");
    assert.equal(body.errors[0].code, "already_exists");
    assert.equal(fake.requests.length, 2, "sent once each: an upload is never retried");
  });
});
