/**
 * Several replicas behave as one (DESIGN §13): three gateway processes, started as in
 * production with the launcher's least-privilege flags, share one Redis (or one Upstash REST
 * endpoint over it) in front of one fake GitHub. Measured in one run: the points a herd of
 * CI-like readers spends through three replicas against the same herd through one; how soon a
 * PAT one replica found drained is skipped by the others; how closely a client budget holds
 * across the three; how many App tokens the three mint; and that the store dying takes no
 * replica out of service. Webhooks too: a delivery redelivered to another replica is worked
 * once, and an event taken by one replica makes the others revalidate what it changed.
 */
import assert from "node:assert/strict";
import { FakeGitHub, generateAppKey } from "../support/fake_github.ts";
import { startGatewayProcess } from "../support/process.ts";
import {
  freePort,
  REDIS_MISSING,
  redisAvailable,
  type RedisProcess,
  startRedis,
} from "../support/redis.ts";
import { UpstashServer } from "../support/upstash_server.ts";
import { sendDelivery } from "../support/webhook_sender.ts";

const hasRedis = await redisAvailable();
if (!hasRedis) console.warn(REDIS_MISSING);

const PAT_A = "ghp_replicas_drained";
const PAT_B = "ghp_replicas_spare";
const APP_ID = "4242";
const INSTALLATION = "77";
const CI_TOKEN = "ci-token";
const BUDGETED_TOKEN = "budgeted-token";
const BUDGET = 60;
const UPSTASH_TOKEN = "upstash-replicas-token";

const REGISTRY = `version: 1
clients:
  - name: ci
    token: ${CI_TOKEN}
  - name: budgeted
    token: ${BUDGETED_TOKEN}
    limits: { points_per_hour: ${BUDGET} }
`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The store the replicas share, which the test can stop and bring back on the same address. */
interface Store {
  readonly url: string;
  readonly env: Record<string, string>;
  kill(): Promise<void>;
  revive(): Promise<void>;
  close(): Promise<void>;
}

async function redisStore(): Promise<Store> {
  const port = freePort();
  let redis: RedisProcess | undefined = await startRedis({ port });
  return {
    url: `redis://127.0.0.1:${port}/0`,
    env: {},
    async kill() {
      await redis?.close();
      redis = undefined;
    },
    async revive() {
      redis = await startRedis({ port });
    },
    close: async () => await redis?.close(),
  };
}

async function upstashStore(): Promise<Store> {
  const redis = await startRedis();
  const port = freePort();
  let server: UpstashServer | undefined = await UpstashServer.start(
    redis.port,
    UPSTASH_TOKEN,
    port,
  );
  return {
    url: `upstash+http://127.0.0.1:${port}`,
    env: { UPSTASH_REDIS_REST_TOKEN: UPSTASH_TOKEN },
    async kill() {
      await server?.close();
      server = undefined;
    },
    async revive() {
      server = await UpstashServer.start(redis.port, UPSTASH_TOKEN, port);
    },
    async close() {
      await server?.close();
      await redis.close();
    },
  };
}

async function get(base: string, path: string, token = CI_TOKEN): Promise<number> {
  const response = await fetch(`${base}${path}`, { headers: { authorization: `token ${token}` } });
  await response.body?.cancel();
  return response.status;
}

/**
 * CI-like readers: `readers` at once, each reading every path `rounds` times (starting at its
 * own offset, as jobs of one pipeline do), each request to the next replica round-robin.
 */
async function herd(
  replicas: readonly string[],
  paths: readonly string[],
  options: { readers: number; rounds: number; token?: string },
): Promise<Map<number, number>> {
  const statuses = new Map<number, number>();
  let next = 0;
  await Promise.all(Array.from({ length: options.readers }, async (_, reader) => {
    for (let round = 0; round < options.rounds; round++) {
      for (let i = 0; i < paths.length; i++) {
        const path = paths[(i + reader) % paths.length];
        const status = await get(replicas[next++ % replicas.length], path, options.token);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    }
  }));
  return statuses;
}

async function metric(base: string, pattern: RegExp): Promise<number | undefined> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split("\n").find((l) => pattern.test(l));
  return line === undefined ? undefined : Number(line.split(" ").at(-1));
}

async function readyz(base: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${base}/readyz`);
  return { status: response.status, body: await response.json() };
}

async function waitFor(what: string, ms: number, check: () => Promise<boolean>): Promise<number> {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > ms) throw new Error(`${what} not within ${ms} ms`);
    await sleep(20);
  }
  return performance.now() - started;
}

for (const [name, open] of [["redis://", redisStore], ["upstash+http://", upstashStore]] as const) {
  Deno.test({
    name:
      `${name}: three replicas spend as one, share parks, budgets and App tokens, and outlive the store`,
    ignore: !hasRedis,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const { privateKeyPem, publicKeyPem } = await generateAppKey();
      await using fake = await FakeGitHub.start({
        // PAT A has the most quota (so replica one goes to it first), then the App (so every
        // replica ends up using its token once A is parked), then PAT B.
        pats: { [PAT_A]: { login: "drained", limit: 20_000 }, [PAT_B]: { login: "spare" } },
        apps: [{ id: APP_ID, installationId: INSTALLATION, publicKeyPem, limit: 15_000 }],
        latencyMs: 5,
      });
      const store = await open();
      const env = {
        CACHE_BACKEND_URL: store.url,
        ...store.env,
        GITHUB_PAT_A: PAT_A,
        GITHUB_PAT_B: PAT_B,
        GITHUB_APP_BOT_ID: APP_ID,
        GITHUB_APP_BOT_INSTALLATION_ID: INSTALLATION,
        GITHUB_APP_BOT_PEM: privateKeyPem,
        LOG_LEVEL: "info",
      };
      const processes = await Promise.all(
        [0, 1, 2].map(() => startGatewayProcess(fake.url, env, { registry: REGISTRY })),
      );
      const [one, two, three] = processes.map((p) => p.server.url);
      const figures: Record<string, number> = {};
      try {
        // Every replica has looked its PATs' owners up (GET /user, once per PAT at start).
        for (const base of [one, two, three]) assert.equal(await get(base, "/repos/warm/up"), 200);
        // A PAT drained at GitHub mid-run: replica one finds out, the others must skip it.
        fake.setRemaining(PAT_A, "core", 0, Math.floor(Date.now() / 1000) + 3600);
        const usedA = () => fake.requests.filter((r) => r.credential === PAT_A).length;
        const warm = usedA();
        for (let i = 0; usedA() === warm; i++) {
          assert.ok(i < 10, "replica one never tried the drained PAT");
          assert.equal(await get(one, `/repos/park/r${i}`), 200);
        }
        const parkedOn = (base: string) => async () =>
          (await metric(
            base,
            /^github_proxy_credential_parked\{credential="A",resource="core"\}/,
          )) ===
            1;
        figures.parkPropagationMs = Math.max(
          await waitFor("park seen by replica two", 1000, parkedOn(two)),
          await waitFor("park seen by replica three", 1000, parkedOn(three)),
        );
        const triedA = usedA();
        for (let i = 0; i < 10; i++) {
          assert.equal(await get(i % 2 ? two : three, `/repos/park/others${i}`), 200);
        }
        assert.equal(usedA(), triedA, "replicas two and three sent on the drained PAT");

        // The same herd through one replica, then through three (paths of their own each time).
        const paths = (prefix: string) =>
          Array.from({ length: 12 }, (_, i) => `/repos/${prefix}/r${i}`);
        const workload = { readers: 9, rounds: 4 };
        const before1 = fake.pointsSpent();
        const alone = await herd([one], paths("alone"), workload);
        figures.pointsOneReplica = fake.pointsSpent() - before1;
        const before3 = fake.pointsSpent();
        const fleet = await herd([one, two, three], paths("fleet"), workload);
        figures.pointsThreeReplicas = fake.pointsSpent() - before3;
        assert.deepEqual([...alone.keys()], [200]);
        assert.deepEqual([...fleet.keys()], [200]);
        assert.ok(
          figures.pointsThreeReplicas <= 1.1 * figures.pointsOneReplica,
          `three replicas spent ${figures.pointsThreeReplicas}, one ${figures.pointsOneReplica}`,
        );

        // One App token for the three: each replica asked for it, GitHub minted it once.
        for (const base of [one, two, three]) {
          const asked = await metric(
            base,
            /^github_proxy_token_cache_events_total\{event="miss"\}/,
          );
          assert.ok((asked ?? 0) >= 1, `replica ${base} never used the App`);
        }
        figures.mints = fake.mints(APP_ID);
        assert.equal(figures.mints, 1);

        // A budget of 60 points an hour, spent through three replicas on 120 uncached paths.
        const beforeBudget = fake.pointsSpent();
        const budgetStatuses = new Map<number, number>();
        let turn = 0;
        await Promise.all(Array.from({ length: 6 }, async (_, reader) => {
          for (let i = reader; i < 120; i += 6) {
            const base = [one, two, three][turn++ % 3];
            const status = await get(base, `/repos/budget/r${i}`, BUDGETED_TOKEN);
            budgetStatuses.set(status, (budgetStatuses.get(status) ?? 0) + 1);
          }
        }));
        const spent = fake.pointsSpent() - beforeBudget;
        figures.budgetError = (spent - BUDGET) / BUDGET;
        assert.ok(Math.abs(figures.budgetError) <= 0.1, `budget ${BUDGET}, spent ${spent}`);
        assert.deepEqual([...budgetStatuses.keys()].sort(), [200, 403]);

        // The store dies: every replica keeps answering, says so, and recovers when it is back.
        await store.kill();
        const during = await herd([one, two, three], paths("outage"), { readers: 6, rounds: 2 });
        assert.deepEqual([...during.keys()], [200]);
        for (const base of [one, two, three]) {
          const { status, body } = await readyz(base);
          assert.equal(status, 200);
          assert.equal(body.status, "degraded");
        }
        await store.revive();
        figures.recoveryMs = await waitFor("every replica ready again", 10_000, async () => {
          for (const base of [one, two, three]) {
            await get(base, "/repos/recovery/r0");
            const { body } = await readyz(base);
            if (body.status !== "ready") return false;
          }
          return true;
        });
        for (const base of [one, two, three]) {
          assert.equal(await metric(base, /^github_proxy_shared_state_up\{/), 1);
        }
        console.log(`${name} replica figures: ${JSON.stringify(figures)}`);
      } finally {
        await Promise.all(processes.map((p) => p.stop()));
        await store.close();
      }
    },
  });
}

const HOOK_SECRET = "replicas-hook-secret";
const FRESH_TOKEN = "fresh-token";
const OPERATOR_TOKEN = "operator-token";
const HOOK_REGISTRY = `version: 1
clients:
  - name: fresh
    token: ${FRESH_TOKEN}
    cache:
      max_age: 600
  - name: operator
    token: ${OPERATOR_TOKEN}
    scopes:
      - { method: GET, path: /status }
webhooks:
  - on: repository.created
    dispatch:
      repository: acme/github-cop
      workflow: configure.yml
      ref: main
`;

/** `/status`'s shared-state section, as its JSON shows it. */
async function sharedStateShown(base: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${base}/status`, {
    headers: { authorization: `token ${OPERATOR_TOKEN}`, accept: "application/json" },
  });
  assert.equal(response.status, 200);
  return (await response.json()).sharedState;
}

async function read(base: string, path: string): Promise<unknown> {
  const response = await fetch(`${base}${path}`, {
    headers: { authorization: `token ${FRESH_TOKEN}` },
  });
  assert.equal(response.status, 200);
  return await response.json();
}

Deno.test({
  name:
    "redis://: a delivery redelivered to another replica is worked once; an event taken by one makes the other revalidate; /status shows the store",
  ignore: !hasRedis,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using fake = await FakeGitHub.start({ pats: { [PAT_B]: {} } });
    fake.dispatches.addWorkflow("acme/github-cop", "configure.yml");
    const store = await redisStore();
    const env = {
      CACHE_BACKEND_URL: store.url,
      GITHUB_PAT_B: PAT_B,
      GITHUB_WEBHOOK_SECRET: HOOK_SECRET,
    };
    const processes = await Promise.all(
      [0, 1].map(() => startGatewayProcess(fake.url, env, { registry: HOOK_REGISTRY })),
    );
    const [a, b] = processes.map((p) => p.server.url);
    try {
      // GitHub redelivers with the same id, here to the other replica.
      const created = {
        action: "created",
        repository: { name: "new-app", full_name: "acme/new-app", owner: { login: "acme" } },
      };
      const { id, response } = await sendDelivery(a, {
        event: "repository",
        payload: created,
        secret: HOOK_SECRET,
      });
      assert.equal(response.status, 202);
      await response.body?.cancel();
      const again = await sendDelivery(b, {
        event: "repository",
        payload: created,
        secret: HOOK_SECRET,
        id,
      });
      assert.deepEqual(await again.response.json(), { message: "already received" });
      await waitFor("the dispatch", 5000, () => Promise.resolve(fake.dispatches.calls.length > 0));
      const duplicates =
        /^github_proxy_webhook_deliveries_total\{event="repository",outcome="duplicate"\}/;
      assert.equal(await metric(b, duplicates), 1);
      assert.equal(await metric(a, duplicates), undefined);
      assert.equal(fake.dispatches.calls.length, 1);

      // A push taken by A: a freshness client reading through B sees the change.
      const path = "/repos/acme/app/commits";
      fake.setResource(path, [{ sha: "old" }]);
      assert.deepEqual(await read(b, path), [{ sha: "old" }]);
      fake.mutate(path, [{ sha: "new" }]);
      assert.deepEqual(await read(b, path), [{ sha: "old" }], "max_age 600 serves what it has");
      const push = await sendDelivery(a, {
        event: "push",
        payload: { ref: "refs/heads/main", repository: { full_name: "acme/app" } },
        secret: HOOK_SECRET,
      });
      assert.equal(push.response.status, 202);
      await push.response.body?.cancel();
      const seenMs = await waitFor("B serving the pushed change", 1000, async () => {
        const body = await read(b, path);
        return JSON.stringify(body) === JSON.stringify([{ sha: "new" }]);
      });
      console.log(`stale mark from A honoured by B after ${Math.round(seenMs)} ms`);

      // /status shows the store, how many replicas share it, and when it fails.
      const shown = await sharedStateShown(a);
      assert.equal(shown.backend, "redis");
      assert.equal(shown.healthy, true);
      assert.equal(shown.replicas, 2);
      assert.ok(Number(shown.lastSyncSecondsAgo) <= 1);
      await store.kill();
      const failing = await sharedStateShown(a);
      assert.equal(failing.backend, "redis");
      assert.equal(failing.healthy, false);
      assert.match(String(failing.problem), /own view/);
      assert.equal((await readyz(a)).status, 200);
    } finally {
      await Promise.all(processes.map((p) => p.stop()));
      await store.close();
    }
  },
});

Deno.test({
  name:
    "redis://: a PAT refused on both replicas is used again after each is reloaded with a fixed token file, and stays usable",
  ignore: !hasRedis,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using fake = await FakeGitHub.start({
      pats: { "ghp-revoked": { login: "fixed" }, "ghp-fixed": { login: "fixed" }, [PAT_B]: {} },
    });
    fake.revokeToken("ghp-revoked");
    const store = await redisStore();
    const creds = await Deno.makeTempDir({ prefix: "github-proxy-replica-creds-" });
    await Deno.writeTextFile(`${creds}/GITHUB_PAT_A`, "ghp-revoked\n");
    await Deno.writeTextFile(`${creds}/GITHUB_PAT_B`, PAT_B);
    const env = { CACHE_BACKEND_URL: store.url, GITHUB_CREDENTIALS_DIR: creds, LOG_LEVEL: "info" };
    const processes = await Promise.all(
      [0, 1].map(() => startGatewayProcess(fake.url, env, { registry: REGISTRY })),
    );
    const replicas = processes.map((p) => p.server.url);
    const bad = /^github_proxy_credential_bad\{credential="A"\}/;
    let paths = 0;
    /** Which tokens GitHub served six requests through `base` with. */
    const tokensThrough = async (base: string) => {
      const since = fake.requests.length;
      // Paths not read before: nothing cached ties a request to the credential that fetched it.
      for (let i = 0; i < 6; i++) assert.equal(await get(base, `/repos/o/r${paths++}/issues`), 200);
      const served = fake.requests.slice(since).filter((r) => r.path.startsWith("/repos/"));
      return new Set(served.map((r) => r.credential));
    };
    try {
      // The first request looks the PATs' owners up: GitHub refuses A.
      for (const base of replicas) {
        assert.ok(!(await tokensThrough(base)).has("ghp-revoked"));
        await waitFor("A refused", 5000, async () => await metric(base, bad) === 1);
      }
      await Deno.writeTextFile(`${creds}/GITHUB_PAT_A`, "ghp-fixed\n");
      // One after the other, as a rolling reload does: the second still holds the refusal of
      // the old token while the first reads the new one, for several sync intervals.
      for (const { server } of processes) {
        const reloaded = server.waitForLog(/"msg":"credentials reloaded"/);
        server.child.kill("SIGHUP");
        await reloaded;
        await sleep(1000);
      }
      for (const base of replicas) {
        assert.equal(await metric(base, bad), 0, `A usable again through ${base}`);
        assert.ok((await tokensThrough(base)).has("ghp-fixed"), "the fixed token is used");
      }
      await sleep(1000);
      for (const base of replicas) assert.equal(await metric(base, bad), 0, "and stays usable");
    } finally {
      await Promise.all(processes.map((p) => p.stop()));
      await store.close();
      await Deno.remove(creds, { recursive: true });
    }
  },
});
