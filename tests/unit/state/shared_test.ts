import assert from "node:assert/strict";
import type { AppSource } from "../../../src/credentials/sources.ts";
import { createAppTokens } from "../../../src/credentials/app_tokens.ts";
import {
  markRefused,
  markTriedAgain,
  newerQuota,
  Standing,
} from "../../../src/credentials/standing.ts";
import { createLogger } from "../../../src/log.ts";
import type { Client } from "../../../src/registry/model.ts";
import { AdmitState } from "../../../src/admit/state.ts";
import { SharedTokens } from "../../../src/state/app_tokens.ts";
import { SharedBudgets } from "../../../src/state/budgets.ts";
import { GuardedStore } from "../../../src/state/guarded.ts";
import { LocalStore } from "../../../src/state/local.ts";
import { syncStanding } from "../../../src/state/pool_sync.ts";
import { RedisStore } from "../../../src/state/redis.ts";
import type { StateStore } from "../../../src/state/store.ts";
import { FakeGitHub, generateAppKey } from "../../support/fake_github.ts";
import { freePort } from "../../support/redis.ts";
import { connectRedis } from "../../../src/cache/backends/redis.ts";

function guarded(store: StateStore, logs: string[] = []): GuardedStore {
  return new GuardedStore(store, {
    readTimeoutMs: 200,
    writeTimeoutMs: 1000,
    logger: createLogger("debug", "json", (line) => logs.push(line)),
  });
}

/** A shared store: one `LocalStore` behind several replicas' guards, as one Redis would be. */
const sharedLocal = () => new LocalStore();

/** Remembers every value written, to check what the store would hold. */
class RecordingStore extends LocalStore {
  readonly written: string[] = [];

  override set(key: string, value: string, ttlMs: number): Promise<void> {
    this.written.push(value);
    return super.set(key, value, ttlMs);
  }
}

const pat = (name: string, token = `t-${name}`) => ({ kind: "pat" as const, name, token });
const standing = (now: () => number = Date.now, tokenA?: string) =>
  new Standing([pat("A", tokenA), pat("B")], 60_000, now, 403, {
    concurrency: 5,
    maxQueued: 20,
    maxWaitMs: 1000,
  });

Deno.test("newerQuota: the later window wins; within one window, fewer calls left", () => {
  const at = 1_000_000;
  const view = (remaining: number, resetAtMs: number) => ({ limit: 5000, remaining, resetAtMs });
  assert.deepEqual(newerQuota(undefined, view(10, at)), view(10, at));
  assert.deepEqual(newerQuota(view(10, at), undefined), view(10, at));
  assert.deepEqual(newerQuota(view(10, at), view(20, at + 500)), view(10, at));
  assert.deepEqual(newerQuota(view(20, at), view(10, at + 500)), view(10, at + 500));
  assert.deepEqual(newerQuota(view(0, at), view(4999, at + 3_600_000)), view(4999, at + 3_600_000));
  assert.deepEqual(newerQuota(view(4999, at + 3_600_000), view(0, at)), view(4999, at + 3_600_000));
});

Deno.test("pool sync: a park, a cooldown and a refused PAT on one replica reach the other", async () => {
  const store = sharedLocal();
  const [one, two] = [standing(), standing()];
  const syncOne = syncStanding(one, guarded(store), { replica: "one", intervalMs: 10_000 });
  const syncTwo = syncStanding(two, guarded(store), { replica: "two", intervalMs: 10_000 });
  try {
    const until = Date.now() + 120_000;
    const [a, b] = one.owners;
    one.quotaOf(a, "core").parkedUntilMs = until;
    one.quotaOf(a, "core").view = { limit: 5000, remaining: 0, resetAtMs: until - 60_000 };
    b.frozenUntilMs = until;
    markRefused(one.credentials[1], Date.now());
    assert.ok(two.ready(two.owners[0], "core"));
    await syncOne.flush();
    await syncTwo.flush();
    assert.equal(two.quotaOf(two.owners[0], "core").parkedUntilMs, until);
    assert.equal(two.ready(two.owners[0], "core"), false);
    assert.equal(two.owners[1].frozenUntilMs, until);
    assert.equal(two.credentials[1].bad, true);
    assert.equal(two.pick("core", undefined, new Set()), undefined);
    // Merging is idempotent: what two sends back changes nothing on one.
    const before = JSON.stringify(one.learnt());
    await syncTwo.flush();
    await syncOne.flush();
    assert.equal(JSON.stringify(one.learnt()), before);
  } finally {
    await syncOne.stop();
    await syncTwo.stop();
  }
});

Deno.test("pool sync: each replica counts the replicas whose heartbeat is recent", async () => {
  const store = sharedLocal();
  let now = 1_000_000;
  const clock = () => now;
  const syncs = ["one", "two", "three"].map((replica) =>
    syncStanding(standing(), guarded(store), { replica, intervalMs: 3_600_000, now: clock })
  );
  try {
    for (const sync of syncs) await sync.flush();
    assert.deepEqual(syncs[0].view(), { replicas: 3, lastSyncAt: now });
    // Two stop writing; after three missed heartbeats only the one still running is counted.
    await syncs[1].stop();
    await syncs[2].stop();
    now += 30_000;
    await syncs[0].flush();
    assert.deepEqual(syncs[0].view(), { replicas: 1, lastSyncAt: now });
  } finally {
    await syncs[0].stop();
  }
});

Deno.test("pool sync: a field without a recent heartbeat is not merged, and is removed a few at a time", async () => {
  const store = sharedLocal();
  let now = 1_000_000;
  const clock = () => now;
  const live = standing(clock);
  const liveSync = syncStanding(live, guarded(store), {
    replica: "live",
    intervalMs: 3_600_000,
    now: clock,
  });
  try {
    await liveSync.flush();
    // Twenty replicas refused PAT A after the live one loaded it, then stopped.
    for (let i = 0; i < 20; i++) {
      const dead = standing(clock);
      now += 1;
      markRefused(dead.credentials[0], now);
      const sync = syncStanding(dead, guarded(store), {
        replica: `dead-${i}`,
        intervalMs: 3_600_000,
        now: clock,
      });
      await sync.stop();
    }
    const fields = async () => Object.keys(await store.mapGetAll("github-proxy:state:pool")).length;
    assert.equal(await fields(), 21);
    now += 30_000;
    await liveSync.flush();
    assert.equal(live.credentials[0].bad, false, "a stopped replica's refusal is not merged");
    assert.equal(liveSync.view().replicas, 1);
    assert.equal(await fields(), 21 - 16, "sixteen removed by one exchange");
    await liveSync.flush();
    assert.equal(await fields(), 1, "only the live replica's own field is left");
  } finally {
    await liveSync.stop();
  }
});

Deno.test("pool sync: a refusal from before a reload does not come back; the reload tries the PAT again on peers with its secret", async () => {
  const store = sharedLocal();
  let now = 1_000_000;
  const clock = () => now;
  const [one, two] = [standing(clock), standing(clock)];
  // A third replica still holds the old token under the same name.
  const old = standing(clock, "t-A-old");
  const options = (replica: string) => ({ replica, intervalMs: 3_600_000, now: clock });
  const syncs = [
    syncStanding(one, guarded(store), options("one")),
    syncStanding(two, guarded(store), options("two")),
    syncStanding(old, guarded(store), options("old")),
  ];
  /** Two rounds: every replica reads what every other wrote after the change. */
  const exchange = async () => {
    for (let round = 0; round < 2; round++) for (const sync of syncs) await sync.flush();
  };
  const bad = () => [one, two, old].map((s) => s.credentials[0].bad);
  try {
    now += 1000;
    markRefused(two.credentials[0], now);
    await exchange();
    assert.deepEqual(
      bad(),
      [true, true, false],
      "the refusal reaches the replica with that secret",
    );
    now += 1000;
    markRefused(old.credentials[0], now);
    // One replica is reloaded (SIGHUP): the PAT is tried again there and on the peer with its
    // secret; the peer still holding the old secret keeps its own refusal.
    now += 1000;
    markTriedAgain(one.credentials[0], now);
    for (let i = 0; i < 3; i++) {
      now += 250;
      await exchange();
    }
    assert.deepEqual(bad(), [false, false, true]);
    // GitHub refusing it after the reload is a new verdict, shared again.
    now += 1000;
    markRefused(one.credentials[0], now);
    await exchange();
    assert.deepEqual(bad(), [true, true, true]);
  } finally {
    for (const sync of syncs) await sync.stop();
  }
});

const budgeted: Client = {
  name: "ci",
  limits: { pointsPerHour: 30 },
} as unknown as Client;

Deno.test("budgets: three replicas on one ledger spend one budget; each alone would spend three", async () => {
  const spendThrough = async (ledgers: (SharedBudgets | undefined)[]) => {
    const replicas = ledgers.map((ledger) => new AdmitState({ ledger }));
    let spent = 0;
    for (let i = 0; i < 120; i++) {
      const replica = replicas[i % replicas.length];
      if (replica.startCall(budgeted)) continue;
      replica.charge(budgeted.name, 1);
      replica.settle(budgeted, 1);
      spent++;
      await Promise.all(ledgers.map((ledger) => ledger?.settled()));
    }
    return spent;
  };
  const store = sharedLocal();
  const shared = [0, 1, 2].map(() => new SharedBudgets(guarded(store)));
  // A replica's first call for a client goes before it has heard the shared level: one point
  // over per other replica at most.
  const together = await spendThrough(shared);
  assert.ok(together >= 30 && together <= 32, `spent ${together}`);
  assert.equal(await spendThrough([undefined, undefined, undefined]), 90);
});

Deno.test("budgets: while the store fails, admit decides on the replica's own bucket", async () => {
  const failing = guarded(new RedisStore(await openDeadRedis()));
  const ledger = new SharedBudgets(failing);
  const state = new AdmitState({ ledger });
  let spent = 0;
  for (let i = 0; i < 50; i++) {
    if (state.startCall(budgeted)) continue;
    state.charge(budgeted.name, 1);
    state.settle(budgeted, 1);
    spent++;
    await ledger.settled();
  }
  assert.equal(spent, 30);
  assert.equal(failing.health.healthy, false);
  assert.ok(failing.health.failures > 0);
  await failing.close();
});

async function openDeadRedis() {
  const { client, connected } = connectRedis(`redis://127.0.0.1:${freePort()}`);
  await connected(200);
  return client;
}

Deno.test("guarded store: a failure is logged once until the store is back, and counted", async () => {
  const logs: string[] = [];
  let failing = true;
  const store = new LocalStore();
  const flaky: StateStore = {
    ...Object.fromEntries(
      ([
        "get",
        "set",
        "setIfAbsent",
        "delete",
        "mapSet",
        "mapGetAll",
        "mapDelete",
        "spend",
        "ping",
      ] as const)
        .map((
          name,
        ) => [
          name,
          (...args: never[]) =>
            failing
              ? Promise.reject(new Error("ECONNREFUSED"))
              : (store[name] as (...a: never[]) => Promise<unknown>)(...args),
        ]),
    ),
    kind: "redis",
    close: () => store.close(),
  } as StateStore;
  const guard = guarded(flaky, logs);
  for (let i = 0; i < 5; i++) assert.equal(await guard.read((s) => s.get("k")), undefined);
  assert.equal(guard.health.failures, 5);
  failing = false;
  await guard.write((s) => s.set("k", "v", 1000));
  assert.equal(await guard.read((s) => s.get("k")), "v");
  const messages = logs.map((line) => JSON.parse(line).msg);
  assert.deepEqual(messages, [
    "shared state failing: each replica goes on with its own view",
    "shared state reachable again: replicas share it",
  ]);
  assert.equal(guard.health.healthy, true);
});

Deno.test("App tokens: three replicas mint once per renewal, and the store never holds the token in clear", async () => {
  const { privateKeyPem, publicKeyPem } = await generateAppKey();
  await using fake = await FakeGitHub.start({
    apps: [{ id: "1", installationId: "2", publicKeyPem }],
    installationTokenLifetimeSeconds: 3600,
  });
  const source: AppSource = {
    kind: "app",
    name: "BOT",
    appId: "1",
    installationId: "2",
    privateKey: privateKeyPem,
  };
  const store = new RecordingStore();
  let now = Date.now();
  const replicas = [0, 1, 2].map((i) =>
    createAppTokens({
      apiUrl: fake.url,
      maxSize: 10,
      now: () => now,
      shared: new SharedTokens(guarded(store), { replica: `r${i}`, now: () => now }),
    })
  );
  const first = await Promise.all(replicas.map((tokens) => tokens.token(source)));
  assert.equal(new Set(first).size, 1);
  assert.equal(fake.mints(), 1);
  assert.ok(store.written.length > 0);
  assert.ok(store.written.every((value) => !value.includes(first[0])));
  // Past the renewal point (80 % of the hour), the three renew with one mint again.
  now += 0.85 * 3_600_000;
  const renewed = await Promise.all(replicas.map((tokens) => tokens.token(source)));
  assert.equal(new Set(renewed).size, 1);
  assert.notEqual(renewed[0], first[0]);
  assert.equal(fake.mints(), 2);
  // A token GitHub refused is not handed out again by the store.
  replicas[0].reject(source, renewed[0]);
  const after = await replicas[0].token(source);
  assert.notEqual(after, renewed[0]);
  assert.equal(fake.mints(), 3);
});
