import assert from "node:assert/strict";
import type { CredentialSource } from "../../../src/credentials/sources.ts";
import { createPool } from "../../../src/credentials/pool.ts";
import {
  fetchTransport,
  NO_CREDENTIAL,
  type Transport,
  type UpstreamRequest,
} from "../../../src/http/upstream.ts";
import { FakeGitHub, generateAppKey } from "../../support/fake_github.ts";

const PATS: CredentialSource[] = [
  { kind: "pat", name: "A", token: "pat-a" },
  { kind: "pat", name: "B", token: "pat-b" },
];

async function withFake(run: (fake: FakeGitHub) => Promise<void>): Promise<void> {
  const fake = await FakeGitHub.start({ pats: { "pat-a": {}, "pat-b": {} } });
  try {
    await run(fake);
  } finally {
    await fake.close();
  }
}

/**
 * The bottom transport, remembering the `Authorization` each call went out with (not the
 * pool's own `GET /user` owner lookups).
 */
function recording(): { transport: Transport; sent: (string | null)[] } {
  const sent: (string | null)[] = [];
  const bottom = fetchTransport(5000);
  return {
    sent,
    transport: (request) => {
      if (!request.url.endsWith("/user")) sent.push(request.headers.get("authorization"));
      return bottom(request);
    },
  };
}

/** What reached the fake besides the owner lookups. */
const calls = (fake: FakeGitHub) => fake.requests.filter((request) => request.path !== "/user");

/** A first call: the pool looks its owners up before it. */
async function warmUp(call: Transport, fake: FakeGitHub): Promise<void> {
  await (await call(zen(fake))).response.body?.cancel();
}

const zen = (fake: FakeGitHub, extra: Partial<UpstreamRequest> = {}): UpstreamRequest => ({
  method: "GET",
  url: `${fake.url}/zen`,
  headers: new Headers(),
  body: null,
  resource: "core",
  client: "tester",
  replayable: true,
  ...extra,
});

Deno.test("a revalidation prefers the stored credential while it is healthy", async () => {
  await withFake(async (fake) => {
    const { transport, sent } = recording();
    const call = createPool(PATS, { apiUrl: fake.url, paddingMs: 0 }).transport(transport);
    fake.setRemaining("pat-a", "core", 10);
    for (let i = 0; i < 3; i++) {
      const answer = await call(zen(fake));
      await answer.response.body?.cancel();
    }
    const preferred = await call(zen(fake, { preferredCredential: "A" }));
    await preferred.response.body?.cancel();
    assert.equal(preferred.credential, "A");
    assert.equal(sent.at(-1), "token pat-a", "exactly the header value sent");
    assert.equal(calls(fake).at(-1)?.headers.get("authorization"), "token pat-a");

    fake.triggerSecondaryLimit("pat-a");
    const moved = await call(zen(fake, { preferredCredential: "A" }));
    await moved.response.body?.cancel();
    assert.equal(moved.credential, "B");
    assert.equal(sent.at(-1), "token pat-b");
    const parked = await call(zen(fake, { preferredCredential: "A" }));
    await parked.response.body?.cancel();
    assert.equal(parked.credential, "B", "a parked preferred credential is passed over");
  });
});

Deno.test("each attempt authorises a copy: the caller's headers are left as they were", async () => {
  await withFake(async (fake) => {
    const { transport, sent } = recording();
    const call = createPool(PATS, { apiUrl: fake.url, paddingMs: 0 }).transport(transport);
    await warmUp(call, fake);
    sent.length = 0;
    fake.triggerSecondaryLimit("pat-a");
    const request = zen(fake, { preferredCredential: "A" });
    const answer = await call(request);
    await answer.response.body?.cancel();
    assert.deepEqual(sent, ["token pat-a", "token pat-b"], "retried once, elsewhere");
    assert.equal(request.headers.has("authorization"), false);
  });
});

Deno.test("a request that cannot be replayed is not retried; the client may retry at once", async () => {
  await withFake(async (fake) => {
    const call = createPool(PATS, { apiUrl: fake.url, paddingMs: 0 }).transport(
      fetchTransport(5000),
    );
    await warmUp(call, fake);
    fake.clearRequests();
    fake.triggerSecondaryLimit("pat-a");
    const answer = await call(zen(fake, { replayable: false, preferredCredential: "A" }));
    assert.equal(answer.response.status, 403);
    assert.equal(answer.credential, NO_CREDENTIAL);
    assert.equal(answer.response.headers.get("retry-after"), "1", "B is ready now");
    assert.match((await answer.response.json()).message, /^API rate limit exceeded for /);
    assert.equal(calls(fake).length, 1);
  });
});

Deno.test("without credentials the pool forwards anonymously and leaves headers alone", async () => {
  await withFake(async (fake) => {
    const { transport, sent } = recording();
    const call = createPool([], { apiUrl: fake.url }).transport(transport);
    const answer = await call(zen(fake));
    await answer.response.body?.cancel();
    assert.equal(answer.credential, "anonymous");
    assert.deepEqual(sent, [null]);
    assert.equal(answer.response.headers.get("x-ratelimit-limit"), "60");
  });
});

Deno.test("a refresh asked during a listing gets a listing begun after it: one more for a burst", async () => {
  const { privateKeyPem, publicKeyPem } = await generateAppKey();
  const installations = [{ id: "501", account: "acme" }];
  await using fake = await FakeGitHub.start({
    apps: [{ id: "77", installations, publicKeyPem }],
  });
  // GitHub has answered the first listing, but the answer is still on its way.
  const answered = Promise.withResolvers<void>();
  const delivered = Promise.withResolvers<void>();
  let listings = 0;
  const slowFirstListing: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    if (++listings === 1) {
      answered.resolve();
      await delivered.promise;
    }
    return response;
  };
  const root: CredentialSource = {
    kind: "app",
    name: "BOT",
    appId: "77",
    installationId: undefined,
    privateKey: privateKeyPem,
  };
  const pool = createPool([root], { apiUrl: fake.url, fetch: slowFirstListing });
  const first = pool.refreshInstallations();
  await answered.promise;
  installations.push({ id: "503", account: "newco" });
  const afterChange = [pool.refreshInstallations(), pool.refreshInstallations()];
  delivered.resolve();
  await first;
  assert.deepEqual(pool.installations().map((i) => i.account), ["acme"]);
  await Promise.all(afterChange);
  assert.deepEqual(pool.installations().map((i) => i.account), ["acme", "newco"]);
  assert.equal(listings, 2, "the calls made during the first listing share the second");
});
