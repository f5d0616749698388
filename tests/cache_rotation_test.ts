/**
 * Credential rotation against the fake GitHub, whose ETags depend on the Authorization header as
 * sent: a renewed installation token (same credential name, new token) and a switch to another
 * credential must keep earning free 304s from the stored body's recomputed ETag.
 */
import assert from "node:assert/strict";
import { GuardedBackend } from "../src/cache/guard.ts";
import { MemoryBackend } from "../src/cache/memory.ts";
import type { CredentialPool } from "../src/credentials/pool.ts";
import { CacheLayer } from "../src/proxy/cache_layer.ts";
import { createUpstreamFetch } from "../src/proxy/upstream.ts";
import { createLogger } from "../src/telemetry/log.ts";
import { FakeGitHub } from "./support/fake_github.ts";

const WIDGET = "/repos/acme/widget";

/** A pool whose current credential the test sets, as a rotating pool or a token renewal would. */
function scriptedPool(): CredentialPool & { use(name: string, authorization: string): void } {
  let current = { name: "APP", authorization: "" };
  return {
    names: ["APP"],
    use(name, authorization) {
      current = { name, authorization };
    },
    async call(attempt) {
      const { name, authorization } = current;
      return { response: await attempt.send(authorization), credential: name, authorization };
    },
  };
}

async function withLayer(
  fn: (
    fake: FakeGitHub,
    pool: ReturnType<typeof scriptedPool>,
    get: () => Promise<Response>,
  ) => Promise<void>,
): Promise<void> {
  const fake = await FakeGitHub.start({
    pats: { ghs_first: {}, ghs_renewed: {}, ghp_other: {} },
  });
  fake.setResource(WIDGET, { name: "widget" });
  const pool = scriptedPool();
  const logger = createLogger("error", "json", () => {});
  const layer = new CacheLayer({
    backend: new GuardedBackend(new MemoryBackend({ maxEntries: 100, maxBytes: 1 << 20 }), {
      readTimeoutMs: 200,
      writeTimeoutMs: 1000,
      reportIntervalMs: 60_000,
      cooldownMs: 1000,
      logger,
    }),
    pool,
    upstream: createUpstreamFetch(5000),
    apiUrl: fake.url,
    ttlSeconds: 3600,
  });
  const get = async () =>
    (await layer.handle({
      method: "GET",
      url: `${fake.url}${WIDGET}`,
      target: { path: WIDGET, query: "", enterprisePrefix: "" },
      clientHeaders: new Headers(),
      upstreamHeaders: new Headers({ "user-agent": "github-proxy-test" }),
      resource: "core",
      clientBase: "http://gateway.test",
    }))!;
  try {
    await fn(fake, pool, get);
  } finally {
    await layer.drain();
    await fake.close();
  }
}

Deno.test("an installation token renewed mid-way still earns 304s (recomputed ETag)", async () => {
  await withLayer(async (fake, pool, get) => {
    pool.use("APP", "token ghs_first");
    for (let i = 0; i < 5; i++) await (await get()).body?.cancel();
    pool.use("APP", "Bearer ghs_renewed");
    const answers: Response[] = [];
    for (let i = 0; i < 5; i++) answers.push(await get());
    for (const answer of answers) {
      assert.equal(answer.status, 200);
      assert.deepEqual(await answer.json(), { name: "widget" });
      assert.equal(answer.headers.get("cache-status"), "github-proxy; fwd=stale; fwd-status=304");
    }
    assert.equal(fake.remaining("ghs_first"), 4999);
    assert.equal(fake.remaining("ghs_renewed"), 5000);
    const renewed = fake.requests.filter((r) => r.credential === "ghs_renewed");
    assert.deepEqual(renewed.map((r) => r.status), [304, 304, 304, 304, 304]);
  });
});

Deno.test("switching to another credential still earns 304s", async () => {
  await withLayer(async (fake, pool, get) => {
    pool.use("ONE", "token ghs_first");
    await (await get()).body?.cancel();
    pool.use("OTHER", "token ghp_other");
    const answer = await get();
    assert.equal(answer.headers.get("cache-status"), "github-proxy; fwd=stale; fwd-status=304");
    assert.deepEqual(await answer.json(), { name: "widget" });
    assert.equal(fake.remaining("ghp_other"), 5000);
    pool.use("ONE", "token ghs_first");
    await (await get()).body?.cancel();
    assert.equal(fake.requests.at(-1)!.status, 304);
    assert.equal(fake.remaining("ghs_first"), 4999);
  });
});
