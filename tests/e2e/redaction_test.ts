/**
 * A password written into a URL setting (`CACHE_BACKEND_URL=upstash+http://user:secret@host`)
 * never shows: not in the start-up summary, `/readyz`, start-up errors, logs or metrics. And
 * `/readyz`, which needs no token, says what failed in the gateway's words, not the backend's.
 */
import assert from "node:assert/strict";
import { ConfigError } from "../../src/config.ts";
import { redactUserinfo } from "../../src/redact.ts";
import { safeErrorSummary } from "../../src/http/errors.ts";
import { command } from "../../scripts/launch.ts";
import { FakeGitHub } from "../support/fake_github.ts";
import { startGateway } from "../support/gateway.ts";
import { freePort } from "../support/redis.ts";
import { fakeAndGateway } from "../support/fixtures.ts";

const SECRET = "s3cret-pass";

/** A gateway on `backendUrl`, with the backends' secrets configured so they can leak. */
function onBackend(backendUrl: string) {
  return fakeAndGateway({
    env: {
      CACHE_BACKEND_URL: backendUrl,
      UPSTASH_REDIS_REST_TOKEN: "upstash-token",
      DENO_KV_ACCESS_TOKEN: "kv-token",
    },
  });
}

/** An Upstash-REST-shaped server that refuses every call as Upstash does a wrong token. */
function refusingBackend(status: number): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => Response.json({ error: `WRONGPASS ${SECRET} invalid or missing auth token` }, { status }),
  );
}

Deno.test("redactUserinfo hides the userinfo of every URL in a text", () => {
  const table: [string, string][] = [
    ["upstash+http://user:secret@127.0.0.1:1", "upstash+http://***@127.0.0.1:1"],
    ["denokv+https://:secret@kv.example/db", "denokv+https://***@kv.example/db"],
    ["upstash://p@ss@host", "upstash://***@host"],
    ["upstash://u:pa/ss@host", "upstash://***@host"],
    ["memory://", "memory://"],
    ["denokv:///var/lib/cache.kv", "denokv:///var/lib/cache.kv"],
    [
      "error sending request for url (http://u:secret@h/ping): refused",
      "error sending request for url (http://***@h/ping): refused",
    ],
    ["a https://x:y@a and 'http://z@b'", "a https://***@a and 'http://***@b'"],
    ["no url here @ all", "no url here @ all"],
  ];
  for (const [text, redacted] of table) assert.equal(redactUserinfo(text), redacted, text);
  const long = "a://".repeat(50_000);
  assert.equal(redactUserinfo(long), long);
});

Deno.test("ConfigError messages never repeat a URL's password", () => {
  const error = new ConfigError([`CACHE_BACKEND_URL upstash://u:${SECRET}@h names no host`]);
  assert.ok(!error.message.includes(SECRET));
  assert.ok(!error.problems.join("\n").includes(SECRET));
});

Deno.test("backend errors in the log lose a quoted URL's userinfo", () => {
  const error = new TypeError(`error sending request for url (http://u:${SECRET}@h/): refused`);
  assert.equal(
    safeErrorSummary(error),
    "TypeError: error sending request for url (http://***@h/): refused",
  );
});

for (const scheme of ["upstash+http", "upstash", "redis", "rediss"]) {
  Deno.test(`${scheme}://user:password@…: start-up summary, /readyz, logs and metrics keep the password out`, async () => {
    const url = `${scheme}://user:${SECRET}@127.0.0.1:${freePort()}`;
    await using setup = await onBackend(url);
    const { gw } = setup;
    const start = gw.logs.map((l) => JSON.parse(l)).find((l) => l.msg === "github-proxy starting");
    assert.equal(
      start.cache,
      `${scheme}://***@127.0.0.1:${new URL(url.replace(/^[^:]+/, "http")).port}`,
    );
    // Requests are still served without the cache: ready, with the cache reported degraded.
    const ready = await fetch(`${gw.url}/readyz`);
    assert.equal(ready.status, 200);
    const text = await ready.text();
    assert.ok(!text.includes(SECRET));
    const body = JSON.parse(text);
    assert.equal(body.status, "degraded");
    assert.deepEqual(body.cache, {
      backend: scheme.startsWith("redis") ? "redis" : "upstash",
      status: "unreachable",
    });
    assert.equal(body.shared_state.status, "failing");
    const zen = await fetch(`${gw.url}/zen`, { headers: { authorization: "token test-token" } });
    await zen.body?.cancel();
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    for (const text of [gw.logs.join("\n"), metrics]) assert.ok(!text.includes(SECRET));
  });
}

for (const status of [401, 403]) {
  Deno.test(`/readyz says "auth failed" when the backend answers ${status}, without its words`, async () => {
    const backend = refusingBackend(status);
    try {
      await using setup = await onBackend(`upstash+http://127.0.0.1:${backend.addr.port}`);
      const { gw } = setup;
      const ready = await fetch(`${gw.url}/readyz`);
      assert.equal(ready.status, 200);
      const body = await ready.json();
      assert.equal(body.status, "degraded");
      assert.deepEqual(body.cache, { backend: "upstash", status: "auth failed" });
    } finally {
      await backend.shutdown();
    }
  });
}

Deno.test("/readyz repeats none of a failing backend's own error text", async () => {
  const backend = refusingBackend(500);
  try {
    await using setup = await onBackend(`upstash+http://127.0.0.1:${backend.addr.port}`);
    const { gw } = setup;
    const ready = await fetch(`${gw.url}/readyz`);
    assert.equal(ready.status, 200);
    const text = await ready.text();
    assert.ok(!text.includes("WRONGPASS") && !text.includes(SECRET), text);
    const body = JSON.parse(text);
    assert.equal(body.status, "degraded");
    assert.deepEqual(body.cache, { backend: "upstash", status: "unreachable" });
  } finally {
    await backend.shutdown();
  }
});

for (const userinfo of ["", `user:${SECRET}@`]) {
  Deno.test(`a remote Deno KV that refuses the token stops start-up, userinfo "${userinfo}" unshown`, async () => {
    const backend = refusingBackend(401);
    const fake = await FakeGitHub.start();
    // The runtime, not the gateway, reads the token for KV Connect from the process environment.
    Deno.env.set("DENO_KV_ACCESS_TOKEN", "kv-token");
    try {
      const url = `denokv+http://${userinfo}127.0.0.1:${backend.addr.port}/db`;
      const error = await startGateway({
        githubApiUrl: fake.url,
        env: { CACHE_BACKEND_URL: url, DENO_KV_ACCESS_TOKEN: "kv-token" },
      }).then(() => undefined, (e) => e);
      assert.ok(error instanceof ConfigError, String(error));
      assert.match(error.message, /CACHE_BACKEND_URL/);
      // Deno refuses to send a URL's userinfo itself, so that one never reaches the server.
      assert.match(error.message, userinfo ? /\((auth failed|unreachable)\)/ : /\(auth failed\)/);
      assert.ok(!error.message.includes(SECRET), error.message);
      assert.ok(!error.message.includes("WRONGPASS"), error.message);
    } finally {
      Deno.env.delete("DENO_KV_ACCESS_TOKEN");
      await fake.close();
      await backend.shutdown();
    }
  });
}

Deno.test("a CACHE_BACKEND_URL that is not a URL is a start-up error without its value", () => {
  assert.throws(
    () =>
      command("start", {
        CACHE_BACKEND_URL: `upstash://user:${SECRET}@bad host`,
        CLIENT_REGISTRY_FILE_PATH: "/dev/null",
      }),
    (error) =>
      error instanceof ConfigError && /CACHE_BACKEND_URL/.test(error.message) &&
      !error.message.includes(SECRET),
  );
});
