import assert from "node:assert/strict";
import { BackendAuthError } from "../../../../src/cache/backends/backend.ts";
import { backendRequirements, openBackend } from "../../../../src/cache/backends/mod.ts";
import { parseRedisUrl, redisOptions } from "../../../../src/cache/backends/redis.ts";
import { bodyDigest, type CacheEntry } from "../../../../src/cache/entry.ts";
import { ConfigError } from "../../../../src/config_error.ts";
import { freePort, REDIS_MISSING, redisAvailable, startRedis } from "../../../support/redis.ts";

const hasRedis = await redisAvailable();
if (!hasRedis) console.warn(REDIS_MISSING);

const SECRET = "s3cr/et@pass";

function entry(text: string): CacheEntry {
  const body = new TextEncoder().encode(text);
  return {
    status: 200,
    headers: [["content-type", "application/json"]],
    body,
    digest: bodyDigest(body),
    etag: 'W/"e"',
    credential: "ONE",
    storedAt: 1,
    validatedAt: 2,
  };
}

Deno.test("redis URLs: user, password, database and TLS; problems never quote the URL", () => {
  assert.deepEqual(parseRedisUrl("redis://cache.internal"), {
    host: "cache.internal",
    port: 6379,
    tls: false,
    username: undefined,
    password: undefined,
    db: 0,
  });
  assert.deepEqual(
    parseRedisUrl(`rediss://app:${encodeURIComponent(SECRET)}@cache.internal:6380/2`),
    {
      host: "cache.internal",
      port: 6380,
      tls: true,
      username: "app",
      password: SECRET,
      db: 2,
    },
  );
  assert.equal(parseRedisUrl("redis://:onlypassword@[::1]:7000").password, "onlypassword");
  assert.equal(parseRedisUrl("redis://:onlypassword@[::1]:7000").host, "::1");
  const tls = redisOptions(parseRedisUrl("rediss://cache.internal")).socket;
  assert.equal(tls.tls, true);
  assert.equal(tls.servername, "cache.internal");
  assert.equal(redisOptions(parseRedisUrl("rediss://10.0.0.5")).socket.servername, undefined);
  assert.equal("tls" in redisOptions(parseRedisUrl("redis://cache.internal")).socket, false);
  assert.equal(redisOptions(parseRedisUrl("redis://h")).disableOfflineQueue, true);
  for (const bad of [`redis://u:${SECRET}@h/db`, `redis://u:${SECRET}@h/0?x=1`]) {
    assert.throws(() => parseRedisUrl(bad), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.ok(!error.problems.join("\n").includes("s3cr"), error.problems.join("\n"));
      return true;
    });
  }
});

Deno.test("redis: the launcher allows the server's host and port, with either scheme", () => {
  assert.deepEqual(
    backendRequirements(`redis://u:${encodeURIComponent(SECRET)}@cache.internal:6380/1`, "/state")
      .servers,
    ["http://cache.internal:6380"],
  );
  assert.deepEqual(backendRequirements("rediss://cache.internal", "/state").servers, [
    "https://cache.internal:6379",
  ]);
});

Deno.test({
  name: "redis: an ACL user's password and database in the URL; a wrong password is 'auth failed'",
  ignore: !hasRedis,
  async fn() {
    await using server = await startRedis({
      args: ["--user", "default", "off", "--user", "app", "on", `>${SECRET}`, "~*", "+@all"],
    });
    const url = `redis://app:${encodeURIComponent(SECRET)}@127.0.0.1:${server.port}/5`;
    const backend = await openBackend(url, { stateDirectory: "" });
    try {
      await backend.set("k", entry("{}"), 60);
      assert.equal((await backend.get("k"))?.etag, 'W/"e"');
      await backend.ping();
    } finally {
      await backend.close();
    }
    const other = await openBackend(`redis://127.0.0.1:${server.port}/0`, { stateDirectory: "" });
    try {
      // Database 0 of the same server does not hold database 5's entry; the default user is off.
      await assert.rejects(async () => await other.get("k"));
    } finally {
      await other.close();
    }
    const wrong = await openBackend(`redis://app:wrong@127.0.0.1:${server.port}/5`, {
      stateDirectory: "",
    });
    try {
      await assert.rejects(wrong.ping(), (error: unknown) => {
        assert.ok(error instanceof BackendAuthError, String(error));
        assert.ok(!String(error).includes(SECRET));
        return true;
      });
    } finally {
      await wrong.close();
    }
  },
});

Deno.test({
  name: "redis: calls fail fast while the server is down and work again once it is back",
  ignore: !hasRedis,
  async fn() {
    const port = freePort();
    let server = await startRedis({ port });
    const backend = await openBackend(`redis://127.0.0.1:${port}`, { stateDirectory: "" });
    try {
      await backend.set("k", entry("{}"), 60);
      await server.close();
      const started = performance.now();
      await assert.rejects(async () => await backend.get("k"));
      // No offline queue: a dead server is an error now, not a call that waits for it.
      assert.ok(performance.now() - started < 1500);
      server = await startRedis({ port });
      const deadline = Date.now() + 5000;
      let back = false;
      while (!back && Date.now() < deadline) {
        back = await Promise.resolve(backend.set("k", entry("{}"), 60)).then(
          () => true,
          () => false,
        );
        if (!back) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.ok(back, "the backend reconnected");
      assert.equal((await backend.get("k"))?.status, 200);
    } finally {
      await backend.close();
      await server.close();
    }
  },
});
