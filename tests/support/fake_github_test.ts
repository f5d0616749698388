import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createSign } from "node:crypto";
import { ManualClock } from "./clock.ts";
import { FakeGitHub, generateAppKey, githubEtag } from "./fake_github.ts";

const PAT = "ghp_test";
const OTHER_PAT = "ghp_other";

async function get(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ res: Response; body: string }> {
  const res = await fetch(url, { headers });
  return { res, body: await res.text() };
}

function signJwt(privateKeyPem: string, claims: Record<string, unknown>): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const signingInput = `${encode({ alg: "RS256", typ: "JWT" })}.${encode(claims)}`;
  const signature = createSign("RSA-SHA256").update(signingInput).sign(privateKeyPem, "base64url");
  return `${signingInput}.${signature}`;
}

Deno.test("ETag follows DESIGN §7 and a matching If-None-Match is a free 304", async () => {
  await using gh = await FakeGitHub.start({ pats: { [PAT]: {} } });
  gh.setResource("/repos/acme/widget", { name: "widget" });
  const headers = { accept: "application/vnd.github+json", authorization: `token ${PAT}` };
  const first = await get(`${gh.url}/repos/acme/widget`, headers);
  assert.equal(first.res.status, 200);
  assert.deepEqual(JSON.parse(first.body), { name: "widget" });
  const hex = await githubEtag(headers, new TextEncoder().encode(first.body));
  assert.equal(first.res.headers.get("etag"), `W/"${hex}"`);
  assert.equal(first.res.headers.get("x-ratelimit-remaining"), "4999");
  assert.equal(first.res.headers.get("x-ratelimit-resource"), "core");
  assert.ok(first.res.headers.get("x-github-request-id"));
  assert.equal(gh.remaining(PAT), 4999);

  for (const tag of [`W/"${hex}"`, `"${hex}"`, `"nope", "${hex}"`, "*"]) {
    const again = await get(`${gh.url}/repos/acme/widget`, { ...headers, "if-none-match": tag });
    assert.equal(again.res.status, 304, tag);
    assert.equal(again.body, "");
    assert.equal(again.res.headers.get("etag"), `W/"${hex}"`);
    assert.equal(again.res.headers.get("x-ratelimit-remaining"), "4999");
  }
  assert.equal(gh.remaining(PAT), 4999);

  gh.mutate("/repos/acme/widget", { name: "widget", stars: 1 });
  const changed = await get(`${gh.url}/repos/acme/widget`, {
    ...headers,
    "if-none-match": `W/"${hex}"`,
  });
  assert.equal(changed.res.status, 200);
  assert.notEqual(changed.res.headers.get("etag"), `W/"${hex}"`);
  assert.equal(gh.remaining(PAT), 4998);
  assert.equal(gh.requests.length, 6);
  assert.equal(gh.requests[0].credential, PAT);
});

Deno.test("ETag depends on the Authorization header as sent", async () => {
  await using gh = await FakeGitHub.start({ pats: { [PAT]: {}, [OTHER_PAT]: {} } });
  const etags = new Set<string | null>();
  for (const authorization of [`token ${PAT}`, `Bearer ${PAT}`, `token ${OTHER_PAT}`]) {
    const { res } = await get(`${gh.url}/repos/acme/widget`, { authorization });
    assert.equal(res.status, 200);
    etags.add(res.headers.get("etag"));
  }
  assert.equal(etags.size, 3);
});

Deno.test("If-Modified-Since earns a 304 when the resource has Last-Modified", async () => {
  await using gh = await FakeGitHub.start({});
  const lastModified = "Mon, 01 Jan 2024 00:00:00 GMT";
  gh.setResource("/repos/acme/widget", { name: "widget" }, { lastModified });
  const { res } = await get(`${gh.url}/repos/acme/widget`, { "if-modified-since": lastModified });
  assert.equal(res.status, 304);
  assert.equal(res.headers.get("last-modified"), lastModified);
  assert.equal(gh.remaining(null), 60);
});

Deno.test("issues are paginated with GitHub's Link header", async () => {
  await using gh = await FakeGitHub.start({ prefix: "/api/v3" });
  const base = `${gh.url}/repos/o/r/issues`;
  const first = await get(`${base}?per_page=10&state=all`);
  assert.equal(JSON.parse(first.body).length, 10);
  assert.equal(
    first.res.headers.get("link"),
    `<${base}?per_page=10&state=all&page=2>; rel="next", ` +
      `<${base}?per_page=10&state=all&page=5>; rel="last"`,
  );
  const middle = await get(`${base}?per_page=10&page=3`);
  assert.equal(
    middle.res.headers.get("link"),
    `<${base}?per_page=10&page=2>; rel="prev", <${base}?per_page=10&page=4>; rel="next", ` +
      `<${base}?per_page=10&page=5>; rel="last", <${base}?per_page=10&page=1>; rel="first"`,
  );
  const last = await get(`${base}?page=2`);
  assert.equal(JSON.parse(last.body).length, 15);
  assert.equal(
    last.res.headers.get("link"),
    `<${base}?page=1>; rel="prev", <${base}?page=1>; rel="first"`,
  );
});

Deno.test("issueCount sets how many issues a repository pages through", async () => {
  await using gh = await FakeGitHub.start({ issueCount: 250 });
  const base = `${gh.url}/repos/o/r/issues`;
  const last = await get(`${base}?per_page=100&page=3`);
  assert.deepEqual(
    JSON.parse(last.body).map((issue: { number: number }) => issue.number),
    [
      ...Array(50),
    ].map((_, i) => 201 + i),
  );
  const first = await get(`${base}?per_page=1`);
  assert.match(first.res.headers.get("link") ?? "", /[?&]page=250>; rel="last"/);
});

Deno.test("release assets upload at /api/uploads/ with a Content-Length and a name", async () => {
  await using gh = await FakeGitHub.start({ pats: { [PAT]: {} }, prefix: "/api/v3" });
  const release = gh.addRelease("o", "r", "v1");
  const uploads = `${gh.origin}/api/uploads/repos/o/r/releases/${release}/assets`;
  const auth = { authorization: `token ${PAT}`, "content-type": "application/zip" };
  const bytes = new Uint8Array([1, 2, 3, 4, 5]);
  const created = await fetch(`${uploads}?name=a.zip`, {
    method: "POST",
    headers: auth,
    body: bytes,
  });
  assert.equal(created.status, 201);
  const asset = await created.json();
  assert.deepEqual([asset.name, asset.size, asset.content_type], ["a.zip", 5, "application/zip"]);
  assert.equal(asset.url, `${gh.url}/repos/o/r/releases/assets/1`);
  assert.deepEqual(gh.requests.at(-1)?.body, bytes);

  const chunked = await fetch(`${uploads}?name=b.zip`, {
    method: "POST",
    headers: auth,
    body: ReadableStream.from([bytes]),
  });
  assert.equal(chunked.status, 411);
  await chunked.body?.cancel();
  const unnamed = await fetch(uploads, { method: "POST", headers: auth, body: bytes });
  assert.equal(unnamed.status, 422);
  await unnamed.body?.cancel();
  const anonymous = await fetch(`${uploads}?name=c.zip`, {
    method: "POST",
    headers: { authorization: "token nope" },
    body: bytes,
  });
  assert.equal(anonymous.status, 401);
  await anonymous.body?.cancel();
});

Deno.test("App JWT mints installation tokens; bad JWTs are refused", async () => {
  const { privateKeyPem, publicKeyPem } = await generateAppKey("pkcs8");
  const app = { id: "123", installationId: "456", publicKeyPem };
  await using gh = await FakeGitHub.start({ apps: [app] });
  const now = Math.floor(Date.now() / 1000);
  const mint = (jwt: string, installation = "456") =>
    fetch(`${gh.url}/app/installations/${installation}/access_tokens`, {
      method: "POST",
      headers: { authorization: `Bearer ${jwt}` },
    });

  const valid = signJwt(privateKeyPem, { iss: 123, iat: now - 30, exp: now + 570 });
  const res = await mint(valid);
  assert.equal(res.status, 201);
  const { token, expires_at } = await res.json();
  assert.match(token, /^ghs_/);
  assert.ok(Date.parse(expires_at) > Date.now() + 3500_000);
  assert.equal(gh.mints("123"), 1);
  assert.equal(gh.issuedTokens()[0].installationId, "456");

  const used = await get(`${gh.url}/repos/o/r`, { authorization: `token ${token}` });
  assert.equal(used.res.status, 200);
  assert.equal(JSON.parse(used.body).full_name, "o/r");
  assert.equal(gh.remaining(token), 4999);

  const expired = signJwt(privateKeyPem, { iss: "123", iat: now - 700, exp: now - 100 });
  const tooLong = signJwt(privateKeyPem, { iss: "123", iat: now, exp: now + 3600 });
  const other = await generateAppKey();
  const forged = signJwt(other.privateKeyPem, { iss: "123", iat: now, exp: now + 600 });
  for (const jwt of [expired, tooLong, forged]) {
    const refused = await mint(jwt);
    assert.equal(refused.status, 401);
    await refused.body?.cancel();
  }
  const wrongInstallation = await mint(valid, "789");
  assert.equal(wrongInstallation.status, 401);
  await wrongInstallation.body?.cancel();
  assert.equal(gh.mints(), 1);
});

Deno.test("secondary limit answers 403 with retry-after, then recovers", async () => {
  await using gh = await FakeGitHub.start({ pats: { [PAT]: {} } });
  gh.triggerSecondaryLimit(PAT, { retryAfterSeconds: 30, count: 1 });
  const limited = await get(`${gh.url}/zen`, { authorization: `token ${PAT}` });
  assert.equal(limited.res.status, 403);
  assert.equal(limited.res.headers.get("retry-after"), "30");
  assert.match(JSON.parse(limited.body).message, /secondary rate limit/);
  const ok = await get(`${gh.url}/zen`, { authorization: `token ${PAT}` });
  assert.equal(ok.res.status, 200);
  assert.equal(ok.body, "Keep it logically awesome.");
  assert.deepEqual(gh.requests.map((r) => r.status), [403, 200]);
});

Deno.test("primary limits: REST 403, GraphQL RATE_LIMITED in a 200", async () => {
  await using gh = await FakeGitHub.start({ pats: { [PAT]: { limit: 2 } } });
  const reset = Math.floor(Date.now() / 1000) + 600;
  gh.setRemaining(PAT, "graphql", 0, reset);
  const graphql = await fetch(`${gh.origin}/graphql`, {
    method: "POST",
    headers: { authorization: `bearer ${PAT}` },
    body: JSON.stringify({ query: "{ viewer { login } }" }),
  });
  assert.equal(graphql.status, 200);
  assert.equal((await graphql.json()).errors[0].type, "RATE_LIMITED");
  assert.equal(graphql.headers.get("x-ratelimit-remaining"), "0");
  assert.equal(graphql.headers.get("x-ratelimit-reset"), String(reset));
  assert.equal(graphql.headers.get("x-ratelimit-resource"), "graphql");

  for (const expected of [200, 200, 403]) {
    const { res } = await get(`${gh.url}/repos/o/r`, { authorization: `token ${PAT}` });
    assert.equal(res.status, expected);
  }
  gh.setRemaining(PAT, "core", 0, Math.floor(Date.now() / 1000) - 1);
  assert.equal(gh.remaining(PAT), 2, "quota refills once reset has passed");
});

Deno.test("an injected clock drives resets, Date, and the expiry of minted tokens and JWTs", async () => {
  const { privateKeyPem, publicKeyPem } = await generateAppKey("pkcs8");
  const clock = new ManualClock(Date.parse("2030-01-01T00:00:00Z"));
  await using gh = await FakeGitHub.start({
    pats: { [PAT]: {} },
    apps: [{ id: "123", installationId: "456", publicKeyPem }],
    installationTokenLifetimeSeconds: 60,
    now: clock.now,
  });
  const first = await get(`${gh.url}/zen`, { authorization: `token ${PAT}` });
  assert.equal(first.res.headers.get("date"), "Tue, 01 Jan 2030 00:00:00 GMT");
  assert.equal(first.res.headers.get("x-ratelimit-reset"), String(clock.seconds() + 3600));
  gh.setRemaining(PAT, "core", 0, clock.seconds() + 10);
  clock.advance(9_999);
  assert.equal(gh.remaining(PAT), 0, "no refill before the clock reaches the reset");
  clock.advance(1);
  assert.equal(gh.remaining(PAT), 5000);

  // A JWT signed for the fake's clock, not the machine's, is accepted.
  const now = clock.seconds();
  const jwt = signJwt(privateKeyPem, { iss: "123", iat: now - 30, exp: now + 570 });
  const minted = await fetch(`${gh.url}/app/installations/456/access_tokens`, {
    method: "POST",
    headers: { authorization: `Bearer ${jwt}` },
  });
  assert.equal(minted.status, 201);
  const { token, expires_at } = await minted.json();
  assert.equal(expires_at, "2030-01-01T00:01:10Z");
  clock.set(Date.parse(expires_at) - 1);
  const valid = await get(`${gh.url}/zen`, { authorization: `token ${token}` });
  assert.equal(valid.res.status, 200);
  clock.advance(1);
  const expired = await get(`${gh.url}/zen`, { authorization: `token ${token}` });
  assert.equal(expired.res.status, 401);
});

Deno.test("GraphQL echoes the request at the GHES path", async () => {
  await using gh = await FakeGitHub.start({ pats: { [PAT]: {} }, prefix: "/api/v3" });
  const request = { query: "{ viewer { login } }", variables: { a: 1 } };
  const res = await fetch(`${gh.origin}/api/graphql`, {
    method: "POST",
    headers: { authorization: `token ${PAT}` },
    body: JSON.stringify(request),
  });
  assert.deepEqual(await res.json(), { data: { viewer: { login: "fake" }, echo: request } });
  assert.equal(gh.remaining(PAT, "graphql"), 4999);
});

Deno.test("revoked and unknown tokens get 401 Bad credentials", async () => {
  await using gh = await FakeGitHub.start({ pats: { [PAT]: {} } });
  assert.equal((await get(`${gh.url}/zen`, { authorization: `token ${PAT}` })).res.status, 200);
  gh.revokeToken(PAT);
  for (const token of [PAT, "ghp_unknown"]) {
    const { res, body } = await get(`${gh.url}/zen`, { authorization: `token ${token}` });
    assert.equal(res.status, 401);
    assert.equal(JSON.parse(body).message, "Bad credentials");
  }
  assert.equal(gh.requests.length, 3);
});

Deno.test("echo, status, 404 and hang", async () => {
  await using gh = await FakeGitHub.start({});
  const res = await fetch(`${gh.url}/echo/x?a=1&a=2`, {
    method: "PUT",
    headers: { "content-type": "text/plain" },
    body: "hi",
  });
  const echoed = await res.json();
  assert.equal(echoed.method, "PUT");
  assert.equal(echoed.path, "/echo/x");
  assert.equal(echoed.rawQuery, "a=1&a=2");
  assert.equal(atob(echoed.bodyBase64), "hi");
  assert.equal(echoed.contentType, "text/plain");

  const binary = new Uint8Array(
    await (await fetch(`${gh.url}/echo/binary?size=300`)).arrayBuffer(),
  );
  assert.equal(binary.length, 300);
  assert.equal(binary[299], 299 % 251);

  const redirect = await fetch(`${gh.url}/status/302`, { redirect: "manual" });
  assert.equal(redirect.headers.get("location"), `${gh.url}/zen`);
  await redirect.body?.cancel();
  const missing = await get(`${gh.url}/nope`);
  assert.equal(missing.res.status, 404);
  assert.equal(JSON.parse(missing.body).message, "Not Found");

  gh.hang("/slow");
  const controller = new AbortController();
  const pending = fetch(`${gh.url}/slow`, { signal: controller.signal });
  while (gh.requests.length < 5) await new Promise((resolve) => setTimeout(resolve, 5));
  controller.abort();
  await assert.rejects(pending);
});

Deno.test("PATs of one user share one budget; GET /user names the user, a 304 is free", async () => {
  await using gh = await FakeGitHub.start({
    pats: { [PAT]: { login: "octocat" }, [OTHER_PAT]: { login: "octocat" }, ghp_third: {} },
  });
  const user = await get(`${gh.url}/user`, { authorization: `token ${PAT}` });
  assert.equal(user.res.status, 200);
  assert.equal(JSON.parse(user.body).login, "octocat");
  const other = await get(`${gh.url}/user`, { authorization: `token ${OTHER_PAT}` });
  assert.equal(JSON.parse(other.body).login, "octocat");
  assert.equal(JSON.parse(other.body).id, JSON.parse(user.body).id);
  assert.equal(other.res.headers.get("x-ratelimit-remaining"), "4998", "one budget of two");
  assert.equal(gh.remaining(PAT), 4998);
  const third = await get(`${gh.url}/user`, { authorization: `token ghp_third` });
  assert.notEqual(JSON.parse(third.body).login, "octocat");
  assert.equal(gh.remaining("ghp_third"), 4999, "another user, another budget");
  const again = await get(`${gh.url}/user`, {
    authorization: `token ${PAT}`,
    "if-none-match": user.res.headers.get("etag")!,
  });
  assert.equal(again.res.status, 304);
  assert.equal(gh.remaining(PAT), 4998);
  assert.equal(gh.pointsSpent(PAT), 2);
  assert.equal(gh.pointsSpent(), 3);
});

Deno.test("secondary limits: concurrency cap; a request during the cooldown extends it", async () => {
  await using gh = await FakeGitHub.start({
    pats: { [PAT]: { login: "octocat" }, [OTHER_PAT]: { login: "octocat" } },
    secondary: { concurrency: 2, cooldownSeconds: 1 },
    latencyMs: 100,
  });
  const burst = await Promise.all(
    [PAT, OTHER_PAT, PAT].map((token) => get(`${gh.url}/zen`, { authorization: `token ${token}` })),
  );
  const statuses = burst.map(({ res }) => res.status).sort();
  assert.deepEqual(statuses, [200, 200, 403], "three in flight for one user, cap two");
  const limited = burst.find(({ res }) => res.status === 403)!;
  assert.equal(limited.res.headers.get("retry-after"), "1");
  assert.match(JSON.parse(limited.body).message, /^You have exceeded a secondary rate limit/);
  assert.equal(gh.secondaryLimitAnswers, 1);
  assert.equal(gh.cooldownExtensions, 0);
  assert.equal(gh.peakInFlight, 3);
  const during = await get(`${gh.url}/zen`, { authorization: `token ${OTHER_PAT}` });
  assert.equal(during.res.status, 403, "the whole account cools down");
  assert.equal(gh.cooldownExtensions, 1);
  await new Promise((resolve) => setTimeout(resolve, 1100));
  assert.equal((await get(`${gh.url}/zen`, { authorization: `token ${PAT}` })).res.status, 200);
});

Deno.test("secondary limits: writes too close together or too many a minute", async () => {
  await using gh = await FakeGitHub.start({
    pats: { [PAT]: {}, [OTHER_PAT]: {} },
    secondary: { minWriteIntervalMs: 500, writesPerMinute: 2, cooldownSeconds: 0 },
  });
  const post = (token: string, path: string, body: unknown) =>
    fetch(`${gh.url}${path}`, {
      method: "POST",
      headers: { authorization: `token ${token}` },
      body: JSON.stringify(body),
    }).then(async (res) => (await res.body?.cancel(), res.status));
  assert.equal(await post(PAT, "/repos/o/r/issues", { title: "a" }), 201);
  assert.equal(await post(PAT, "/repos/o/r/issues", { title: "b" }), 403, "too soon");
  assert.equal(await post(OTHER_PAT, "/repos/o/r/issues", { title: "c" }), 201, "other user");
  assert.equal(await post(PAT, "/graphql", { query: "{ viewer { login } }" }), 200, "a read");
  await new Promise((resolve) => setTimeout(resolve, 550));
  assert.equal(await post(PAT, "/graphql", { query: "mutation { a }" }), 200);
  await new Promise((resolve) => setTimeout(resolve, 550));
  assert.equal(await post(PAT, "/repos/o/r/issues", { title: "d" }), 403, "third this minute");
  assert.equal(gh.secondaryLimitAnswers, 2);
});

Deno.test("GraphQL queries cost their points; both rate-limit spellings in a 200", async () => {
  for (const spelling of ["RATE_LIMITED", "RATE_LIMIT"] as const) {
    await using gh = await FakeGitHub.start({
      pats: { [PAT]: { limit: 12 } },
      graphqlCost: 5,
      graphqlRateLimitSpelling: spelling,
    });
    const query = () =>
      fetch(`${gh.url}/graphql`, {
        method: "POST",
        headers: { authorization: `token ${PAT}` },
        body: JSON.stringify({ query: "{ viewer { login } }" }),
      });
    const first = await query();
    assert.ok((await first.json()).data);
    assert.equal(first.headers.get("x-ratelimit-used"), "5");
    assert.equal((await (await query()).json()).data.viewer.login, "fake");
    const limited = await query();
    assert.equal(limited.status, 200);
    assert.equal(limited.headers.get("x-ratelimit-remaining"), "2", "2 left, 5 needed");
    const error = (await limited.json()).errors[0];
    assert.equal(error.type, spelling);
    if (spelling === "RATE_LIMIT") assert.equal(error.code, "graphql_rate_limit");
    assert.equal(gh.pointsSpent(PAT), 10);
    gh.setGraphqlCost(2);
    assert.equal((await query()).headers.get("x-ratelimit-remaining"), "0");
  }
});
