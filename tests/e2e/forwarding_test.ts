/**
 * End to end through real clients: what a request looks like when it reaches GitHub and what the
 * answer looks like when it reaches the client.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { authed, startGateway, TEST_TOKEN } from "../support/gateway.ts";
import { curl, octokitAt } from "../support/clients.ts";
import { USER_AGENT } from "../../src/http/headers.ts";
import { fakeAndGateway } from "../support/fixtures.ts";

const PAT = "ghp_pool_one";

/** One PAT; `env` adds configuration. */
function forwarding(env: Record<string, string> = {}) {
  return fakeAndGateway({ fake: { pats: { [PAT]: {} } }, env: { GITHUB_PAT_ONE: PAT, ...env } });
}

interface Echo {
  method: string;
  path: string;
  rawQuery: string;
  headers: Record<string, string>;
  bodyBase64: string;
  contentType: string | null;
}

const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

Deno.test("every method reaches GitHub as sent, with the pool credential (fetch)", async () => {
  await using setup = await forwarding();
  const { fake, gw } = setup;
  for (const method of METHODS) {
    fake.clearRequests();
    const hasBody = !["GET", "HEAD", "OPTIONS"].includes(method);
    const response = await fetch(
      `${gw.url}/echo/${method.toLowerCase()}`,
      authed(TEST_TOKEN, {
        method,
        body: hasBody ? `{"method":"${method}"}` : undefined,
        headers: hasBody ? { "content-type": "application/json" } : {},
      }),
    );
    assert.equal(response.status, 200, method);
    const text = await response.text();
    assert.equal(fake.requests.length, 1, method);
    const seen = fake.requests[0];
    assert.equal(seen.method, method);
    assert.equal(seen.path, `/echo/${method.toLowerCase()}`);
    assert.equal(seen.credential, PAT);
    if (method === "HEAD") {
      assert.equal(text, "");
      continue;
    }
    const echo: Echo = JSON.parse(text);
    assert.equal(echo.method, method);
    assert.equal(
      Buffer.from(echo.bodyBase64, "base64").toString(),
      hasBody ? `{"method":"${method}"}` : "",
    );
  }
});

Deno.test("every method through Octokit's request()", async () => {
  await using setup = await forwarding();
  const { fake, gw } = setup;
  const octokit = octokitAt(gw.url);
  for (const method of METHODS) {
    fake.clearRequests();
    const response = await octokit.request(`${method} /echo/{name}`, { name: "octo" });
    assert.equal(response.status, 200, method);
    assert.equal(fake.requests.length, 1, method);
    assert.equal(fake.requests[0].method, method);
    assert.equal(fake.requests[0].path, "/echo/octo");
    assert.equal(fake.requests[0].credential, PAT);
  }
});

Deno.test("query strings reach GitHub byte for byte: repeated, encoded, empty, odd", async () => {
  const queries = [
    "a=1&a=2&a=1",
    "q=repo%3Aacme%2Fapp+is%3Aopen&sort=created",
    "labels=bug,help%20wanted&labels=%E2%9C%93",
    "empty=&flag&=novalue&&trailing=",
    "mixed=%7e%7E~&plus=a+b%2Bc",
    "page=2&per_page=100&page=3",
  ];
  await using setup = await forwarding();
  const { fake, gw } = setup;
  for (const query of queries) {
    fake.clearRequests();
    const response = await fetch(`${gw.url}/echo?${query}`, authed());
    assert.equal(response.status, 200);
    assert.equal((await response.json()).rawQuery, query);
    assert.equal(fake.requests[0].rawQuery, query);
  }
});

Deno.test("Octokit's parameters arrive exactly as Octokit sends them directly", async () => {
  await using setup = await forwarding();
  const { fake, gw } = setup;
  const parameters = {
    labels: "bug,help wanted",
    q: "repo:acme/app is:open ✓",
    per_page: 100,
    since: "2024-01-01T00:00:00Z",
  };
  const direct = await octokitAt(fake.url, PAT).request("GET /echo", parameters);
  const through = await octokitAt(gw.url).request("GET /echo", parameters);
  assert.ok((direct.data as Echo).rawQuery.includes("%E2%9C%93"));
  assert.equal((through.data as Echo).rawQuery, (direct.data as Echo).rawQuery);
});

Deno.test("JSON bodies both ways: Octokit creates an issue", async () => {
  await using setup = await forwarding();
  const { fake, gw } = setup;
  const octokit = octokitAt(gw.url);
  const created = await octokit.rest.issues.create({
    owner: "acme",
    repo: "app",
    title: "Grüße from the gateway",
    labels: ["bug"],
  });
  assert.equal(created.status, 201);
  assert.equal(created.data.title, "Grüße from the gateway");
  const seen = fake.requests.at(-1)!;
  assert.equal(seen.headers.get("content-type"), "application/json; charset=utf-8");
  assert.deepEqual(JSON.parse(new TextDecoder().decode(seen.body)), {
    title: "Grüße from the gateway",
    labels: ["bug"],
  });
});

Deno.test("form-encoded bodies both ways, intact", async () => {
  await using setup = await forwarding();
  const { fake, gw } = setup;
  const form = new URLSearchParams([["a", "1"], ["a", "2"], ["text", "x y&z=é"]]);
  const response = await fetch(
    `${gw.url}/echo/form`,
    authed(TEST_TOKEN, {
      method: "POST",
      body: form,
    }),
  );
  const echo: Echo = await response.json();
  assert.equal(echo.contentType, "application/x-www-form-urlencoded;charset=UTF-8");
  assert.equal(Buffer.from(echo.bodyBase64, "base64").toString(), form.toString());
  assert.equal(new TextDecoder().decode(fake.requests[0].body), "a=1&a=2&text=x+y%26z%3D%C3%A9");

  const answer = "access_token=gho_x&scope=repo%2Cgist&token_type=bearer";
  fake.setResource("/login/oauth/form", new TextEncoder().encode(answer), {
    headers: { "content-type": "application/x-www-form-urlencoded; charset=utf-8" },
  });
  const download = await fetch(`${gw.url}/login/oauth/form`, authed());
  assert.equal(
    download.headers.get("content-type"),
    "application/x-www-form-urlencoded; charset=utf-8",
  );
  assert.equal(await download.text(), answer);
});

Deno.test("binary uploads and downloads pass unchanged (fetch and Octokit)", async () => {
  await using setup = await forwarding();
  const { fake, gw } = setup;
  const upload = crypto.getRandomValues(new Uint8Array(65536));
  const big = new Uint8Array(3 * 1024 * 1024);
  for (let i = 0; i < big.length; i += 65536) big.set(upload, i);
  const response = await fetch(
    `${gw.url}/echo/upload`,
    authed(TEST_TOKEN, {
      method: "POST",
      body: big,
      headers: { "content-type": "application/octet-stream" },
    }),
  );
  const echo: Echo = await response.json();
  assert.equal(echo.contentType, "application/octet-stream");
  assert.ok(Buffer.from(echo.bodyBase64, "base64").equals(Buffer.from(big)));
  assert.ok(Buffer.from(fake.requests[0].body).equals(Buffer.from(big)));

  const size = 2_000_003;
  const download = await fetch(`${gw.url}/echo/binary?size=${size}`, authed());
  assert.equal(download.headers.get("content-type"), "application/octet-stream");
  const bytes = new Uint8Array(await download.arrayBuffer());
  assert.equal(bytes.length, size);
  assert.ok(bytes.every((b, i) => b === i % 251));

  const octokit = octokitAt(gw.url);
  const viaOctokit = await octokit.request("GET /echo/binary", {
    size: 1000,
    request: { parseSuccessResponseBody: false },
  });
  const streamed = new Uint8Array(
    await new Response(viaOctokit.data as unknown as ReadableStream).arrayBuffer(),
  );
  assert.deepEqual(streamed, new Uint8Array(1000).map((_, i) => i % 251));
});

Deno.test("client identity headers stay home; content headers go upstream", async () => {
  await using setup = await forwarding();
  const { fake, gw } = setup;
  const response = await fetch(`${gw.url}/echo/headers`, {
    method: "POST",
    body: "{}",
    headers: {
      authorization: `Bearer ${TEST_TOKEN}`,
      cookie: "session=secret",
      "x-http-method-override": "DELETE",
      "user-agent": "my-script/1.0",
      accept: "application/vnd.github.raw+json",
      "content-type": "application/json",
      "x-github-api-version": "2022-11-28",
      "x-custom-end-to-end": "kept",
    },
  });
  assert.equal(response.status, 200);
  const seen = fake.requests[0];
  assert.equal(seen.method, "POST");
  assert.equal(seen.headers.get("authorization"), `token ${PAT}`);
  assert.equal(seen.headers.get("cookie"), null);
  assert.equal(seen.headers.get("x-http-method-override"), null);
  assert.equal(seen.headers.get("user-agent"), USER_AGENT);
  assert.match(USER_AGENT, /^github-proxy\/\d+\.\d+\.\d+$/);
  assert.equal(seen.headers.get("accept"), "application/vnd.github.raw+json");
  assert.equal(seen.headers.get("content-type"), "application/json");
  assert.equal(seen.headers.get("x-github-api-version"), "2022-11-28");
  assert.equal(seen.headers.get("x-custom-end-to-end"), "kept");
});

Deno.test("upstream Set-Cookie is never passed to clients; GitHub's own headers are", async () => {
  await using setup = await forwarding();
  const { fake, gw } = setup;
  fake.setResource("/repos/acme/cookie", { name: "cookie" }, {
    headers: { "set-cookie": "logged_in=no; Path=/", "x-oauth-scopes": "repo" },
  });
  const response = await fetch(`${gw.url}/repos/acme/cookie`, authed());
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { name: "cookie" });
  assert.equal(response.headers.get("set-cookie"), null);
  assert.deepEqual(response.headers.getSetCookie(), []);
  assert.equal(response.headers.get("x-oauth-scopes"), "repo");
  assert.ok(response.headers.get("x-github-request-id"));
  assert.equal(response.headers.get("x-ratelimit-resource"), "core");
  assert.match(response.headers.get("etag") ?? "", /^W\/"[0-9a-f]{64}"$/);
});

Deno.test("redirects are passed to the client, not followed, with Location rewritten", async () => {
  await using setup = await forwarding();
  const { fake, gw } = setup;
  for (const code of [301, 302, 303, 307, 308]) {
    fake.clearRequests();
    const response = await fetch(
      `${gw.url}/status/${code}`,
      authed(TEST_TOKEN, {
        redirect: "manual",
      }),
    );
    await response.body?.cancel();
    assert.equal(response.status, code);
    assert.equal(response.headers.get("location"), `${gw.url}/zen`);
    assert.equal(fake.requests.length, 1, "the gateway did not follow the redirect");
  }
});

Deno.test("status codes without a body pass through", async () => {
  await using setup = await forwarding();
  const { gw } = setup;
  for (const code of [204, 205, 304]) {
    const response = await fetch(`${gw.url}/status/${code}`, authed());
    assert.equal(response.status, code);
    assert.equal(await response.text(), "");
  }
});

Deno.test("401 for a missing or unknown client token; nothing reaches GitHub", async () => {
  await using setup = await forwarding();
  const { fake, gw } = setup;
  // GitHub's exact words (PyGithub matches "Bad credentials" exactly); the gateway's beside.
  const unknown = ["Bad credentials", /^unknown github-proxy client token$/] as const;
  const missing = ["Requires authentication", /^send a github-proxy client token/] as const;
  const cases: [string, HeadersInit, readonly [string, RegExp]][] = [
    ["missing", {}, missing],
    ["unknown", { authorization: "token not-a-client" }, unknown],
    ["bearer unknown", { authorization: "Bearer not-a-client" }, unknown],
    ["the pool's own PAT", { authorization: `token ${PAT}` }, unknown],
    ["empty scheme", { authorization: "token" }, missing],
  ];
  for (const [label, headers, [message, detail]] of cases) {
    const response = await fetch(`${gw.url}/zen`, { headers });
    assert.equal(response.status, 401, label);
    assert.match(response.headers.get("content-type") ?? "", /^application\/json/);
    const body = await response.json();
    assert.equal(body.message, message, label);
    assert.match(body.detail, detail, label);
    assert.equal(typeof body.documentation_url, "string");
  }
  await assert.rejects(octokitAt(gw.url, "wrong").rest.meta.getZen(), { status: 401 });
  assert.equal(fake.requests.length, 0);
});

Deno.test("400 for malformed paths; nothing reaches GitHub (curl --path-as-is)", async () => {
  await using setup = await forwarding();
  const { fake, gw } = setup;
  const paths = [
    "/repos/acme/app/../secret",
    "/repos/acme/./app",
    "/repos/acme/%2e%2e/secret",
    "/repos/acme%2Fother/app",
    "/repos/acme%5cother/app",
    "/repos//app",
    "/repos/acme/app%00",
    "/repos/acme/app%zz",
    "/api/v3/repos/../../zen",
  ];
  for (const path of paths) {
    const answer = await curl(`${gw.url}${path}`, ["-H", `Authorization: token ${TEST_TOKEN}`]);
    assert.equal(answer.status, 400, path);
    assert.match(JSON.parse(answer.body).message, /^Malformed request path/, path);
  }
  assert.equal(fake.requests.length, 0);
});

Deno.test("unreserved escapes are decoded and the same path goes upstream", async () => {
  await using setup = await forwarding();
  const { fake, gw } = setup;
  const response = await fetch(`${gw.url}/echo/%7Euser%41/caf%C3%A9`, authed());
  assert.equal(response.status, 200);
  assert.equal(fake.requests[0].path, "/echo/~userA/caf%C3%A9");
});

Deno.test("502 when GitHub cannot be reached, naming the refused connection", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closedPort = listener.addr.port;
  listener.close();
  await using gw = await startGateway({ githubApiUrl: `http://127.0.0.1:${closedPort}` });
  const response = await fetch(`${gw.url}/zen`, authed());
  assert.equal(response.status, 502);
  assert.deepEqual(await response.json(), {
    message: `GitHub could not be reached: connection refused by 127.0.0.1:${closedPort}`,
    documentation_url: "https://docs.github.com/rest",
  });
  const logged = gw.logs.map((line) => JSON.parse(line))
    .find((line) => line.msg === "upstream call failed");
  assert.equal(logged?.reason, `connection refused by 127.0.0.1:${closedPort}`);
});

Deno.test("504 when GitHub does not answer in time; other requests meanwhile succeed", async () => {
  await using setup = await forwarding({ UPSTREAM_TIMEOUT: "1" });
  const { fake, gw } = setup;
  fake.hang("/slow");
  const slow = fetch(`${gw.url}/slow`, authed());
  for (let i = 0; i < 3; i++) {
    const zen = await fetch(`${gw.url}/zen`, authed());
    assert.equal(zen.status, 200);
    assert.equal(await zen.text(), "Keep it logically awesome.");
  }
  const response = await slow;
  assert.equal(response.status, 504);
  assert.equal((await response.json()).message, "GitHub did not answer in time");
});

Deno.test("healthz and readyz answer without a token", async () => {
  await using setup = await forwarding();
  const { fake, gw } = setup;
  const health = await fetch(`${gw.url}/healthz`);
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { status: "ok" });
  const ready = await fetch(`${gw.url}/readyz`);
  assert.equal(ready.status, 200);
  assert.equal((await ready.json()).status, "ready");
  assert.equal(fake.requests.length, 0);
});

Deno.test("hop-by-hop, Host, Cookie and method overrides are dropped; keyed headers are not (curl)", async () => {
  await using setup = await forwarding();
  const { fake, gw } = setup;
  const answer = await curl(`${gw.url}/echo/curl?a=1&a=2&b=%2F`, [
    "-X",
    "PUT",
    "--data-binary",
    "payload",
    "-H",
    `Authorization: token ${TEST_TOKEN}`,
    "-H",
    // A Connection listing may not strip the end-to-end headers GitHub's answer depends on.
    "Connection: keep-alive, X-Hop-Listed, X-GitHub-Api-Version, Accept, Content-Type",
    "-H",
    "X-Hop-Listed: secret",
    "-H",
    "Keep-Alive: timeout=5",
    "-H",
    "TE: trailers",
    "-H",
    "Trailer: X-Checksum",
    "-H",
    "Proxy-Authorization: Basic cHJveHk6cHJveHk=",
    "-H",
    "Proxy-Connection: keep-alive",
    "-H",
    "X-HTTP-Method-Override: DELETE",
    "-H",
    "X-Forwarded-For: 10.0.0.1",
    "-H",
    "Content-Type: text/plain",
    "-H",
    "Accept: application/vnd.github.v3.diff",
    "-H",
    "X-GitHub-Api-Version: 2022-11-28",
    "-b",
    "user_session=stolen",
    "-A",
    "curl/8",
  ]);
  assert.equal(answer.status, 200);
  assert.equal(answer.headers.get("set-cookie"), null);
  const seen = fake.requests[0];
  assert.equal(seen.method, "PUT");
  assert.equal(seen.rawQuery, "a=1&a=2&b=%2F");
  assert.equal(new TextDecoder().decode(seen.body), "payload");
  assert.equal(seen.headers.get("host"), new URL(fake.origin).host);
  for (
    const dropped of [
      "x-hop-listed",
      "keep-alive",
      "te",
      "trailer",
      "proxy-authorization",
      "proxy-connection",
      "x-http-method-override",
      "x-forwarded-for",
      "cookie",
    ]
  ) {
    assert.equal(seen.headers.get(dropped), null, dropped);
  }
  assert.equal(seen.headers.get("authorization"), `token ${PAT}`);
  assert.equal(seen.headers.get("user-agent"), USER_AGENT);
  assert.equal(seen.headers.get("content-type"), "text/plain");
  assert.equal(seen.headers.get("accept"), "application/vnd.github.v3.diff");
  assert.equal(seen.headers.get("x-github-api-version"), "2022-11-28");
});

Deno.test("Expect: 100-continue is answered by the gateway, not forwarded (curl upload)", async () => {
  await using setup = await forwarding();
  const { fake, gw } = setup;
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/upload.bin`;
    const bytes = new Uint8Array(2 * 1024 * 1024).map((_, i) => (i * 7) % 256);
    await Deno.writeFile(file, bytes);
    const answer = await curl(`${gw.url}/echo/upload`, [
      "--data-binary",
      `@${file}`,
      "-H",
      "Content-Type: application/octet-stream",
      "-H",
      "Expect: 100-continue",
      "-H",
      `Authorization: token ${TEST_TOKEN}`,
    ]);
    assert.equal(answer.status, 200);
    const seen = fake.requests[0];
    assert.equal(seen.headers.get("expect"), null);
    assert.ok(Buffer.from(seen.body).equals(Buffer.from(bytes)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** An upstream that writes one raw HTTP/1.1 answer per connection, headers exactly as given. */
function rawUpstream(head: string, body: string) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = (async () => {
    for await (const conn of listener) {
      const buffer = new Uint8Array(65536);
      await conn.read(buffer);
      const bytes = new TextEncoder().encode(body);
      await conn.write(
        new TextEncoder().encode(
          `${
            head.trim().replaceAll("\n", "\r\n")
          }\r\nContent-Length: ${bytes.length}\r\n\r\n${body}`,
        ),
      );
      conn.close();
    }
  })();
  return {
    url: `http://127.0.0.1:${listener.addr.port}`,
    async close() {
      listener.close();
      await serving.catch(() => {});
    },
  };
}

Deno.test("upstream hop-by-hop headers and every Set-Cookie stay out of the client's answer", async () => {
  const upstream = rawUpstream(
    `HTTP/1.1 200 OK
Connection: close, X-Hop-Listed
X-Hop-Listed: secret
Keep-Alive: timeout=5
Proxy-Authenticate: Basic realm="upstream"
Set-Cookie: _gh_sess=abc; Path=/; HttpOnly
Set-Cookie: logged_in=no; Path=/
Content-Type: text/plain
X-GitHub-Request-Id: ABCD:1234
X-RateLimit-Remaining: 4999`,
    "ok",
  );
  const gw = await startGateway({ githubApiUrl: upstream.url });
  try {
    const response = await fetch(`${gw.url}/zen`, authed());
    assert.equal(response.status, 200);
    assert.equal(await response.text(), "ok");
    for (const dropped of ["x-hop-listed", "keep-alive", "proxy-authenticate", "set-cookie"]) {
      assert.equal(response.headers.get(dropped), null, dropped);
    }
    assert.equal(response.headers.get("content-type"), "text/plain");
    assert.equal(response.headers.get("x-github-request-id"), "ABCD:1234");
    assert.equal(response.headers.get("x-ratelimit-remaining"), "4999");
  } finally {
    await gw.close();
    await upstream.close();
  }
});
