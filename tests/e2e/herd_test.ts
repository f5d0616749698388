/**
 * The herd (DESIGN §11 "Done when"): many clients reading the same hot resources while they
 * change now and then spend no more points at GitHub than one client reading them alone —
 * identical concurrent requests share one call, and revalidations of unchanged entries are
 * free 304s. Points are counted by the fake GitHub itself.
 */
import assert from "node:assert/strict";
import { FakeGitHub } from "../support/fake_github.ts";
import { authed, startGateway } from "../support/gateway.ts";

const HOT = ["/repos/o/a", "/repos/o/b", "/repos/o/c", "/repos/o/d", "/repos/o/e"];
const ROUNDS = 6;
const CLIENTS = 12;

function registry(clients: number): string {
  const entries = Array.from(
    { length: clients },
    (_, i) => `  - name: client-${i}\n    token: token-${i}\n`,
  );
  return `version: 1\nclients:\n${entries.join("")}`;
}

/** Points the fake charged while `clients` clients read the hot resources for every round. */
async function pointsFor(clients: number): Promise<{ points: number; upstream: number }> {
  const fake = await FakeGitHub.start({ pats: { "pat-a": {} }, latencyMs: 5 });
  HOT.forEach((path, i) => fake.setResource(path, { version: 0, i }));
  const gw = await startGateway({
    githubApiUrl: fake.url,
    registry: registry(clients),
    env: { GITHUB_PAT_A: "pat-a" },
  });
  try {
    for (let round = 0; round < ROUNDS; round++) {
      // One resource changes each round.
      if (round > 0) fake.mutate(HOT[round % HOT.length], { version: round });
      await Promise.all(
        Array.from({ length: clients }, (_, c) =>
          Promise.all(HOT.map(async (path) => {
            const response = await fetch(`${gw.url}${path}`, authed(`token-${c}`));
            assert.equal(response.status, 200);
            await response.body?.cancel();
          }))),
      );
    }
    return { points: fake.pointsSpent(), upstream: fake.requests.length };
  } finally {
    await gw.close();
    await fake.close();
  }
}

Deno.test("a herd of clients on hot, changing resources spends no more points than one", async () => {
  const one = await pointsFor(1);
  const herd = await pointsFor(CLIENTS);
  // One client: 5 first fills and 5 changes; every other read was a free 304.
  assert.equal(one.points, HOT.length + ROUNDS - 1);
  assert.ok(herd.points <= one.points, `herd spent ${herd.points}, one client ${one.points}`);
  assert.ok(
    herd.upstream < CLIENTS * HOT.length * ROUNDS / 2,
    `identical concurrent reads share calls: ${herd.upstream} upstream`,
  );
});
