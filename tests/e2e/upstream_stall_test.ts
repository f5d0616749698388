/**
 * A GitHub that stalls: headers and a few bytes, then nothing. The gateway must answer, forget
 * the stuck call, store nothing, and close the upstream connection once no client waits.
 */
import assert from "node:assert/strict";
import { authed, startGateway, type TestGateway } from "../support/gateway.ts";
import {
  ANSWER,
  type Behaviour,
  FIRST_BYTES,
  type StallingUpstream,
  startStallingUpstream,
  within,
} from "../support/stalling_upstream.ts";
import { until } from "../support/until.ts";

const PATH = "/repos/acme/widget";
/** Generous bound on every wait: far above the 1 s deadline, far below "forever". */
const BOUND_MS = 8000;

/** A gateway whose GitHub is a stalling upstream, with `UPSTREAM_TIMEOUT` in seconds. */
async function stallingGateway(
  behaviours: readonly Behaviour[],
  upstreamTimeoutSeconds: number,
): Promise<{ upstream: StallingUpstream; gw: TestGateway } & AsyncDisposable> {
  const upstream = startStallingUpstream(behaviours);
  const gw = await startGateway({
    githubApiUrl: upstream.url,
    env: { UPSTREAM_TIMEOUT: String(upstreamTimeoutSeconds) },
  });
  return {
    upstream,
    gw,
    async [Symbol.asyncDispose]() {
      // Upstream first: its closing connections release whatever the gateway still waits on.
      await upstream.close();
      await gw.close();
    },
  };
}

function request(gw: TestGateway, headers: Record<string, string> = {}, signal?: AbortSignal) {
  return fetch(`${gw.url}${PATH}`, authed(undefined, { headers, signal }));
}

Deno.test("a cached GET whose body stalls: 504 at the deadline, nothing stored, upstream closed", async () => {
  await using setup = await stallingGateway(["stall", "answer"], 1);
  const { upstream, gw } = setup;
  const first = await within(request(gw), BOUND_MS, "the first client's status line");
  assert.equal(first.status, 504);
  assert.deepEqual(await first.json(), {
    message: "GitHub did not answer in time",
    documentation_url: "https://docs.github.com/rest",
  });
  assert.equal(gw.gateway.cache.inflight, 0);
  await within(
    upstream.connections[0].closed,
    BOUND_MS,
    "the stalled upstream connection closing",
  );

  // Started after the deadline: its own upstream call, not the stuck one, and a miss.
  const second = await within(request(gw), BOUND_MS, "the second client's answer");
  assert.equal(second.status, 200);
  assert.equal(await second.text(), ANSWER);
  assert.equal(second.headers.get("cache-status"), "github-proxy; fwd=uri-miss; stored");
  assert.equal(upstream.connections.length, 2);
});

Deno.test("when every waiting client has gone, the stalled upstream call is cancelled", async () => {
  await using setup = await stallingGateway(["stall", "answer"], 60);
  const { upstream, gw } = setup;
  const leaving = [new AbortController(), new AbortController()];
  const first = request(gw, {}, leaving[0].signal);
  const stalled = await within(upstream.connection(0), BOUND_MS, "the upstream call");
  await stalled.sent;
  const second = request(gw, {}, leaving[1].signal);
  await until(() => gw.gateway.cache.waiting === 2, "the second client joining the call");
  for (const client of leaving) client.abort();
  await assert.rejects(first);
  await assert.rejects(second);
  await within(stalled.closed, BOUND_MS, "the stalled upstream connection closing");
  assert.equal(upstream.connections.length, 1);
  assert.equal(gw.gateway.cache.inflight, 0);

  const later = await within(request(gw), BOUND_MS, "a later client's answer");
  assert.equal(later.status, 200);
  assert.equal(await later.text(), ANSWER);
  assert.equal(later.headers.get("cache-status"), "github-proxy; fwd=uri-miss; stored");
});

Deno.test("a client that leaves at once still cancels the stalled cached call it alone waited for", async () => {
  // The cache asks for a client's signal only once its call has run a while: a client already
  // gone by then must still be seen as gone.
  await using setup = await stallingGateway(["stall", "answer"], 60);
  const { upstream, gw } = setup;
  const leaving = new AbortController();
  const pending = request(gw, {}, leaving.signal);
  const stalled = await within(upstream.connection(0), BOUND_MS, "the upstream call");
  await stalled.sent;
  leaving.abort();
  await assert.rejects(pending);
  await within(stalled.closed, BOUND_MS, "the stalled upstream connection closing");
  assert.equal(gw.gateway.cache.inflight, 0);
});

Deno.test("a client that leaves before GitHub's headers cancels a forwarded call", async () => {
  await using setup = await stallingGateway(["silent"], 60);
  const { upstream, gw } = setup;
  const leaving = new AbortController();
  // A cookie keeps the cache out: the request is forwarded and its answer streamed.
  const pending = request(gw, { cookie: "session=1" }, leaving.signal);
  const silent = await within(upstream.connection(0), BOUND_MS, "the upstream call");
  await silent.sent;
  leaving.abort();
  await assert.rejects(pending);
  await within(silent.closed, BOUND_MS, "the silent upstream connection closing");
});

for (
  const { name, behaviour, headers } of [
    { name: "forwarded", behaviour: "stall", headers: { cookie: "session=1" } },
    { name: "over the cache's size cap", behaviour: "stall-large", headers: {} },
  ] as const
) {
  Deno.test(`a streamed answer (${name}) that goes quiet is cut off after UPSTREAM_TIMEOUT`, async () => {
    await using setup = await stallingGateway([behaviour], 1);
    const { upstream, gw } = setup;
    const response = await within(request(gw, headers), BOUND_MS, "the status line");
    assert.equal(response.status, 200);
    const reader = response.body!.getReader();
    const { value } = await within(reader.read(), BOUND_MS, "the first bytes");
    assert.equal(new TextDecoder().decode(value), FIRST_BYTES);
    await assert.rejects(within(readToEnd(reader), BOUND_MS, "the cut-off"), TypeError);
    await within(upstream.connections[0].closed, BOUND_MS, "the upstream connection closing");
  });

  Deno.test(`a streamed answer (${name}) whose client leaves closes the upstream connection`, async () => {
    await using setup = await stallingGateway([behaviour], 60);
    const { upstream, gw } = setup;
    const leaving = new AbortController();
    const response = await within(
      request(gw, headers, leaving.signal),
      BOUND_MS,
      "the status line",
    );
    const reader = response.body!.getReader();
    await within(reader.read(), BOUND_MS, "the first bytes");
    leaving.abort();
    await assert.rejects(reader.read());
    await within(upstream.connections[0].closed, BOUND_MS, "the upstream connection closing");
  });
}

async function readToEnd(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  while (!(await reader.read()).done);
}
