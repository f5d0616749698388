/** The cache stage on its own: a Hono app around `cacheLayer`, with a fake transport below. */
import assert from "node:assert/strict";
import { Hono } from "hono";
import type { GatewayEnv } from "../../../src/app.ts";
import { DEFAULT_GUARD, GuardedBackend } from "../../../src/cache/backends/guard.ts";
import { MemoryBackend } from "../../../src/cache/backends/memory.ts";
import { cacheLayer } from "../../../src/cache/layer.ts";
import { Revalidator } from "../../../src/cache/revalidate.ts";
import type { Transport, UpstreamRequest } from "../../../src/http/upstream.ts";
import { requestTarget } from "../../../src/identify/target.ts";
import { silentLogger } from "../../../src/log.ts";
import { LocalStaleMarks } from "../../../src/webhooks/stale_marks.ts";
import { until } from "../../support/until.ts";

const API = "https://api.github.test";
const BODY = '{"name":"widget"}';
const UPLOADS = "https://uploads.github.test";

interface Setup {
  readonly app: Hono<GatewayEnv>;
  /** Requests the transport was given. */
  readonly sent: UpstreamRequest[];
  /** Requests the cache handed on to the forwarder. */
  readonly forwarded: string[];
  /** Resolves the transport's pending calls (held until then when `hold` is set). */
  release(): void;
  /** Callers waiting on upstream calls in flight. */
  waiting(): number;
}

function setup(answer: (request: UpstreamRequest) => Response, hold = false): Setup {
  const sent: UpstreamRequest[] = [];
  const forwarded: string[] = [];
  let release = () => {};
  const gate = hold ? new Promise<void>((resolve) => release = resolve) : Promise.resolve();
  // The five-line fake: records the request, answers after the gate, as credential "A".
  const transport: Transport = async (request) => {
    sent.push(request);
    await gate;
    return { response: answer(request), credential: "A", ms: 1 };
  };
  const backend = new GuardedBackend(new MemoryBackend({ maxEntries: 100, maxBytes: 1 << 20 }), {
    ...DEFAULT_GUARD,
    logger: silentLogger,
  });
  // One fixed clock for both sides, so ages and TTLs do not depend on the wall clock.
  const at = Date.now();
  const now = () => at;
  const revalidator = new Revalidator({
    backend,
    transport,
    ttlSeconds: 60,
    upstreamTimeoutMs: 5000,
    now,
  });
  const app = new Hono<GatewayEnv>();
  app.use("*", async (c, next) => {
    c.set(
      "target",
      requestTarget(c.req.method, {
        path: c.req.path,
        query: "",
        enterprisePrefix: "",
        upload: false,
      }),
    );
    c.set("clientBase", c.req.header("x-test-base") ?? "http://gateway.test");
    c.set("clientUploadsBase", "http://gateway.test/api/uploads");
    c.set("client", {
      name: "tester",
      tokenDigest: new Uint8Array(),
      scopes: null,
      deny: [],
      priority: "normal",
      limits: {},
    });
    c.set("admission", { newCall: () => undefined });
    await next();
  });
  const urls = {
    githubApiUrl: API,
    githubGraphqlUrl: `${API}/graphql`,
    githubUploadsUrl: UPLOADS,
  };
  app.use(
    "*",
    cacheLayer({
      backend,
      revalidator,
      urls,
      rewriteBodies: true,
      ttlSeconds: 60,
      logger: silentLogger,
      staleMarks: new LocalStaleMarks({ ttlMs: 60_000, now }),
      now,
    }),
  );
  app.all("*", (c) => {
    forwarded.push(`${c.req.method} ${c.req.path}`);
    return c.text("forwarded");
  });
  return { app, sent, forwarded, release: () => release(), waiting: () => revalidator.waiting };
}

const ok = () =>
  new Response(BODY, { headers: { etag: '"v1"', "content-type": "application/json" } });

const get = (app: Hono<GatewayEnv>, headers: Record<string, string> = {}, method = "GET") =>
  app.request("http://gateway.test/repos/acme/widget", { method, headers });

Deno.test("a miss is fetched and stored; the next request with max-age is a hit", async () => {
  const { app, sent } = setup(ok);
  const miss = await get(app);
  assert.equal(miss.status, 200);
  assert.equal(await miss.text(), BODY);
  assert.equal(miss.headers.get("cache-status"), "github-proxy; fwd=uri-miss; stored");
  assert.equal(sent[0].url, `${API}/repos/acme/widget`);
  assert.equal(sent[0].revalidate, undefined, "nothing to revalidate yet");

  const hit = await get(app, { "cache-control": "max-age=60" });
  assert.equal(await hit.text(), BODY);
  assert.match(hit.headers.get("cache-status")!, /^github-proxy; hit; ttl=\d+$/);
  assert.equal(sent.length, 1, "a hit asks no one");
});

Deno.test("a stale entry is revalidated with its credential and validators; a 304 serves it", async () => {
  const { app, sent } = setup((request) =>
    request.revalidate ? new Response(null, { status: 304, headers: { etag: '"v1"' } }) : ok()
  );
  await (await get(app)).text();
  const revalidated = await get(app);
  assert.equal(revalidated.status, 200);
  assert.equal(await revalidated.text(), BODY);
  assert.equal(revalidated.headers.get("cache-status"), "github-proxy; fwd=stale; fwd-status=304");
  const conditional = sent[1];
  assert.equal(conditional.preferredCredential, "A", "the credential the entry was stored with");
  assert.equal(conditional.revalidate?.etag, '"v1"');
  assert.equal(new TextDecoder().decode(conditional.revalidate?.body), BODY);
  assert.equal(conditional.headers.get("accept"), "*/*", "the keyed Accept is sent as keyed");
});

Deno.test("uncacheable requests and other methods go on to the forwarder", async () => {
  const { app, sent, forwarded } = setup(ok);
  assert.equal(await (await get(app, { cookie: "session=1" })).text(), "forwarded");
  assert.equal(await (await get(app, {}, "POST")).text(), "forwarded");
  assert.deepEqual(forwarded, ["GET /repos/acme/widget", "POST /repos/acme/widget"]);
  assert.equal(sent.length, 0);
});

Deno.test("HEAD on a cold key goes on to the forwarder; on a stored one it is answered", async () => {
  const { app, sent, forwarded } = setup(ok);
  await (await get(app, {}, "HEAD")).text();
  assert.deepEqual(forwarded, ["HEAD /repos/acme/widget"]);
  await (await get(app)).text();
  const head = await get(app, {}, "HEAD");
  assert.equal(head.status, 200);
  assert.equal(await head.text(), "");
  assert.equal(forwarded.length, 1);
  assert.equal(sent.length, 2);
});

Deno.test("concurrent identical requests share one upstream call", async () => {
  const { app, sent, release, waiting } = setup(ok, true);
  const first = get(app);
  const second = get(app);
  await until(() => waiting() === 2, "both requests waiting on the call");
  release();
  const [a, b] = await Promise.all([first, second]);
  assert.equal(await a.text(), BODY);
  assert.equal(await b.text(), BODY);
  assert.equal(sent.length, 1);
  assert.equal(a.headers.get("cache-status"), "github-proxy; fwd=uri-miss; stored");
  assert.equal(b.headers.get("cache-status"), "github-proxy; fwd=uri-miss; stored; collapsed");
});

Deno.test("each client base gets the stored body rewritten for it, with its own stable tag", async () => {
  const linked = JSON.stringify({
    url: `${API}/repos/acme/widget`,
    upload_url: `${UPLOADS}/repos/acme/widget/releases/1/assets{?name,label}`,
    html_url: "https://github.com/acme/widget",
  });
  const { app, sent } = setup((request) =>
    request.revalidate
      ? new Response(null, { status: 304, headers: { etag: '"v1"' } })
      : new Response(linked, { headers: { etag: '"v1"', "content-type": "application/json" } })
  );
  const base = (name: string) => ({ "x-test-base": name });
  const miss = await get(app, base("http://one.test"));
  const one = await miss.json();
  assert.equal(one.url, "http://one.test/repos/acme/widget");
  assert.equal(
    one.upload_url,
    "http://gateway.test/api/uploads/repos/acme/widget/releases/1/assets{?name,label}",
  );
  assert.equal(one.html_url, "https://github.com/acme/widget");
  const tagOne = miss.headers.get("etag")!;

  const hit = await get(app, { ...base("http://two.test"), "cache-control": "max-age=60" });
  assert.equal(hit.headers.get("cache-status"), "github-proxy; hit; ttl=60");
  assert.equal((await hit.json()).url, "http://two.test/repos/acme/widget");
  const tagTwo = hit.headers.get("etag")!;
  assert.notEqual(tagTwo, tagOne);

  const revalidated = await get(app, base("http://one.test"));
  assert.equal(revalidated.headers.get("cache-status"), "github-proxy; fwd=stale; fwd-status=304");
  assert.equal(revalidated.headers.get("etag"), tagOne, "stable for one base");
  assert.equal((await revalidated.json()).url, "http://one.test/repos/acme/widget");
  assert.equal(
    new TextDecoder().decode(sent.at(-1)?.revalidate?.body),
    linked,
    "the entry keeps GitHub's text",
  );

  const current = await get(app, { ...base("http://two.test"), "if-none-match": tagTwo });
  assert.equal(current.status, 304);
  const otherBase = await get(app, { ...base("http://one.test"), "if-none-match": tagTwo });
  assert.equal(otherBase.status, 200, "another base's tag is not this body's");
  await otherBase.body?.cancel();
});
