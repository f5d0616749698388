import assert from "node:assert/strict";
import type { CredentialSource } from "../../../src/credentials/sources.ts";
import { createPool, NO_CREDENTIAL } from "../../../src/credentials/pool.ts";
import { FakeGitHub } from "../../support/fake_github.ts";

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

const zen = (fake: FakeGitHub) => (authorization: string | null) =>
  fetch(`${fake.url}/zen`, { headers: authorization ? { authorization } : {} });

Deno.test("a revalidation prefers the stored credential while it is healthy", async () => {
  await withFake(async (fake) => {
    const pool = createPool(PATS, { apiUrl: fake.url, paddingMs: 0 });
    fake.setRemaining("pat-a", "core", 10);
    for (let i = 0; i < 3; i++) {
      const answer = await pool.call({ resource: "core", send: zen(fake) });
      await answer.response.body?.cancel();
    }
    const preferred = await pool.call({
      resource: "core",
      preferredCredential: "A",
      send: zen(fake),
    });
    await preferred.response.body?.cancel();
    assert.equal(preferred.credential, "A");
    assert.equal(preferred.authorization, "token pat-a", "exactly the header value sent");
    assert.equal(fake.requests.at(-1)?.headers.get("authorization"), "token pat-a");

    fake.triggerSecondaryLimit("pat-a");
    const moved = await pool.call({ resource: "core", preferredCredential: "A", send: zen(fake) });
    await moved.response.body?.cancel();
    assert.equal(moved.credential, "B");
    assert.equal(moved.authorization, "token pat-b");
    const parked = await pool.call({ resource: "core", preferredCredential: "A", send: zen(fake) });
    await parked.response.body?.cancel();
    assert.equal(parked.credential, "B", "a parked preferred credential is passed over");
  });
});

Deno.test("a request that cannot be replayed is not retried; the client may retry at once", async () => {
  await withFake(async (fake) => {
    const pool = createPool(PATS, { apiUrl: fake.url, paddingMs: 0 });
    fake.triggerSecondaryLimit("pat-a");
    const answer = await pool.call({ resource: "core", replayable: false, send: zen(fake) });
    assert.equal(answer.response.status, 429);
    assert.equal(answer.credential, NO_CREDENTIAL);
    assert.equal(answer.response.headers.get("retry-after"), "1", "B is ready now");
    assert.match((await answer.response.json()).message, /rate limit/);
    assert.equal(fake.requests.length, 1);
  });
});

Deno.test("without credentials the pool forwards anonymously and leaves headers alone", async () => {
  await withFake(async (fake) => {
    const pool = createPool([], { apiUrl: fake.url });
    const answer = await pool.call({ resource: "core", send: zen(fake) });
    await answer.response.body?.cancel();
    assert.equal(answer.credential, "anonymous");
    assert.equal(answer.authorization, null);
    assert.equal(answer.response.headers.get("x-ratelimit-limit"), "60");
  });
});
