/**
 * Credential rotation through the real pool against the fake GitHub, whose ETags depend on the
 * Authorization header as sent: a renewed installation token (same credential, new token) and a
 * switch to another PAT must keep earning free 304s from the stored body's recomputed ETag.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../support/clock.ts";
import { type FakeGitHub, generateAppKey } from "../support/fake_github.ts";
import { fakeAndGateway } from "../support/fixtures.ts";
import { authed, type TestGateway } from "../support/gateway.ts";

const WIDGET = "/repos/acme/widget";

async function get(gw: TestGateway): Promise<Response> {
  const response = await fetch(`${gw.url}${WIDGET}`, authed());
  assert.deepEqual(await response.json(), { name: "widget" });
  return response;
}

function lastUpstream(fake: FakeGitHub) {
  return fake.requests.filter((r) => r.path === WIDGET).at(-1)!;
}

Deno.test("an App token renewal keeps earning 304s: the ETag is recomputed for the new token", async () => {
  const { privateKeyPem, publicKeyPem } = await generateAppKey("pkcs8");
  // GitHub and the pool share a clock: the 2 s token's renewal comes when the test says.
  const clock = new ManualClock();
  await using setup = await fakeAndGateway({
    fake: {
      apps: [{ id: "41", installationId: "941", publicKeyPem }],
      installationTokenLifetimeSeconds: 2,
    },
    resources: { [WIDGET]: { name: "widget" } },
    env: {
      GITHUB_APP_BOT_ID: "41",
      GITHUB_APP_BOT_INSTALLATION_ID: "941",
      GITHUB_APP_BOT_PEM: privateKeyPem,
    },
    now: clock.now,
  });
  const { fake, gw } = setup;
  assert.match((await get(gw)).headers.get("cache-status")!, /fwd=uri-miss; stored/);
  const first = lastUpstream(fake).credential;
  clock.advance(1800);
  // The installation's budget, whichever of its tokens spends it.
  const before = fake.remaining(first, "core");
  const revalidated = await get(gw);
  assert.match(revalidated.headers.get("cache-status")!, /fwd=stale; fwd-status=304/);
  const renewed = lastUpstream(fake);
  assert.notEqual(renewed.credential, first, "the renewed token was used");
  assert.equal(renewed.status, 304);
  assert.equal(fake.mints("41"), 2);
  assert.equal(fake.remaining(renewed.credential, "core"), before, "the 304 cost nothing");
});

Deno.test("a switch to another PAT keeps earning 304s", async () => {
  await using setup = await fakeAndGateway({
    fake: { pats: { "pat-a": {}, "pat-b": {} } },
    resources: { [WIDGET]: { name: "widget" } },
    env: { GITHUB_PAT_A: "pat-a", GITHUB_PAT_B: "pat-b" },
  });
  const { fake, gw } = setup;
  await get(gw);
  const storedWith = lastUpstream(fake).credential!;
  const other = storedWith === "pat-a" ? "pat-b" : "pat-a";
  fake.setRemaining(storedWith, "core", 0);
  const before = fake.remaining(other, "core");
  const revalidated = await get(gw);
  assert.equal(revalidated.status, 200);
  assert.match(revalidated.headers.get("cache-status")!, /fwd-status=304/);
  const last = lastUpstream(fake);
  assert.equal(last.credential, other);
  assert.equal(last.status, 304);
  assert.equal(fake.remaining(other, "core"), before, "the 304 cost nothing");
});
