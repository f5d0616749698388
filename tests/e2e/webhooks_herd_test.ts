/**
 * The closing measurement of DESIGN §12: a herd-like workload (many clients reading the same hot
 * resources, a few changes at the fake GitHub, one freshness client with `cache.max_age: 600`)
 * run without events for the changes, with them, and with them while the whole herd opts into
 * the same freshness. Upstream calls, points and stale reads (a body older than the fake's
 * current one) are counted at the fake and printed; with events no read is stale.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../support/clock.ts";
import { fakeAndGateway } from "../support/fixtures.ts";
import { authed } from "../support/gateway.ts";
import { sendDelivery } from "../support/webhook_sender.ts";

const SECRET = "herd-secret";
const HERD = 16;
const ROUNDS = 12;
const REPO = "/repos/acme/app";
/** Hot resources, and the event GitHub sends when each one changes. */
const HOT: Record<string, { event: string; payload: Record<string, unknown> }> = {
  [`${REPO}/commits`]: { event: "push", payload: { ref: "refs/heads/main" } },
  [`${REPO}/pulls`]: { event: "pull_request", payload: { action: "opened", number: 8 } },
  [`${REPO}/releases`]: { event: "release", payload: { action: "published" } },
  [`${REPO}/branches`]: { event: "create", payload: { ref: "feature" } },
  [`${REPO}/contents/README.md`]: { event: "push", payload: { ref: "refs/heads/main" } },
};
/** Round → resource changed at the fake at the start of that round. */
const CHANGES: Record<number, string> = {
  3: `${REPO}/commits`,
  6: `${REPO}/pulls`,
  9: `${REPO}/releases`,
};

interface Result {
  readonly upstreamCalls: number;
  readonly points: number;
  readonly staleReads: number;
  readonly freshnessStaleReads: number;
}

function registry(herdMaxAge: number | undefined): string {
  const herd = Array.from(
    { length: HERD },
    (_, i) =>
      `  - name: herd-${i}\n    token: herd-${i}\n` +
      (herdMaxAge === undefined ? "" : `    cache:\n      max_age: ${herdMaxAge}\n`),
  );
  return `version: 1\nclients:\n${
    herd.join("")
  }  - name: fresh\n    token: fresh\n    cache:\n      max_age: 600\n`;
}

async function run(events: boolean, herdMaxAge?: number): Promise<Result> {
  const clock = new ManualClock();
  await using fx = await fakeAndGateway({
    fake: { pats: { "pat-a": {} } },
    env: { GITHUB_PAT_A: "pat-a", GITHUB_WEBHOOK_SECRET: SECRET },
    now: clock.now,
    gateway: { registry: registry(herdMaxAge) },
  });
  const version = new Map<string, number>();
  for (const path of Object.keys(HOT)) {
    version.set(path, 1);
    fx.fake.setResource(path.slice(fx.fake.url.length - fx.fake.origin.length), {
      path,
      version: 1,
    });
  }
  const tokens = [...Array.from({ length: HERD }, (_, i) => `herd-${i}`), "fresh"];
  let staleReads = 0;
  let freshnessStaleReads = 0;
  for (let round = 1; round <= ROUNDS; round++) {
    clock.advance(5000);
    const changed = CHANGES[round];
    if (changed) {
      const next = version.get(changed)! + 1;
      version.set(changed, next);
      fx.fake.mutate(changed, { path: changed, version: next });
      if (events) {
        const { event, payload } = HOT[changed];
        const { response } = await sendDelivery(fx.gw.url, {
          event,
          payload: { ...payload, repository: { full_name: "acme/app" } },
          secret: SECRET,
        });
        assert.equal(response.status, 202);
        await fx.gw.gateway.webhooks.settled();
      }
    }
    await Promise.all(tokens.flatMap((token) =>
      Object.keys(HOT).map(async (path) => {
        const response = await fetch(`${fx.gw.url}${path}`, authed(token));
        const body = await response.json();
        if (body.version !== version.get(path)) {
          staleReads++;
          if (token === "fresh") freshnessStaleReads++;
        }
      })
    ));
  }
  const hot = new Set(Object.keys(HOT));
  return {
    upstreamCalls: fx.fake.requests.filter((r) => r.method === "GET" && hot.has(r.path)).length,
    points: fx.fake.pointsSpent(),
    staleReads,
    freshnessStaleReads,
  };
}

Deno.test("herd: with events for the changes the freshness client reads nothing stale", async () => {
  const without = await run(false);
  const withEvents = await run(true);
  const herdFresh = await run(true, 600);
  const reads = (HERD + 1) * Object.keys(HOT).length * ROUNDS;
  console.log(
    `herd: ${HERD} clients + 1 with max_age 600, ${Object.keys(HOT).length} hot resources, ` +
      `${ROUNDS} rounds (${reads} reads), ${Object.keys(CHANGES).length} changes`,
  );
  console.table({
    "no events": without,
    "events": withEvents,
    "events, herd max_age 600": herdFresh,
  });
  assert.ok(without.freshnessStaleReads > 0, "without events the freshness client reads old data");
  assert.equal(withEvents.freshnessStaleReads, 0);
  assert.equal(withEvents.staleReads, 0);
  assert.equal(herdFresh.staleReads, 0);
  assert.ok(herdFresh.upstreamCalls < withEvents.upstreamCalls);
});
