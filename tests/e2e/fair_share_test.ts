/**
 * Fair share end to end (DESIGN §11): budgets, requests per minute, concurrency, the reserve by
 * priority, and a runaway client among well-behaved ones, against the fake GitHub.
 */
import assert from "node:assert/strict";
import { Octokit } from "@octokit/rest";
import { throttling } from "@octokit/plugin-throttling";
import { createLogger } from "../../src/log.ts";
import { FakeGitHub } from "../support/fake_github.ts";
import { authed, startGateway, type TestGateway } from "../support/gateway.ts";
import { parseExposition } from "../support/prometheus_text.ts";
import { until } from "../support/until.ts";

const PAT = "pat-fair-share";

async function withFairShare(
  registry: string,
  run: (gw: TestGateway, fake: FakeGitHub) => Promise<void>,
  options: { limit?: number; admitQueueWaitMs?: number; env?: Record<string, string> } = {},
): Promise<void> {
  const fake = await FakeGitHub.start({ pats: { [PAT]: { limit: options.limit } } });
  const gw = await startGateway({
    githubApiUrl: fake.url,
    registry,
    env: { GITHUB_PAT_MAIN: PAT, GITHUB_CREDS_CACHE_TTL_PADDING: "0", ...options.env },
    admitQueueWaitMs: options.admitQueueWaitMs,
  });
  try {
    await run(gw, fake);
  } finally {
    await gw.close();
    await fake.close();
  }
}

async function get(gw: TestGateway, path: string, token: string, headers: HeadersInit = {}) {
  const response = await fetch(`${gw.url}${path}`, authed(token, { headers }));
  const text = await response.text();
  return { response, status: response.status, body: text ? JSON.parse(text) : undefined };
}

const nowSeconds = () => Math.floor(Date.now() / 1000);
const reached = (fake: FakeGitHub, prefix: string) =>
  fake.requests.filter((r) => r.path.startsWith(prefix)).length;

const BUDGETED = `version: 1
clients:
  - name: cop
    token: t-cop
    limits: { points_per_hour: 3 }
  - name: other
    token: t-other
`;

Deno.test("an empty budget: GitHub's rate refusal with the client's own budget, nothing sent", async () => {
  await withFairShare(BUDGETED, async (gw, fake) => {
    for (let i = 1; i <= 3; i++) {
      assert.equal((await get(gw, `/repos/acme/a${i}`, "t-cop")).status, 200);
    }
    const before = nowSeconds();
    const refused = await get(gw, "/repos/acme/a4", "t-cop");
    assert.equal(refused.status, 403);
    assert.match(refused.body.message, /^API rate limit exceeded for github-proxy client "cop"/);
    assert.match(refused.body.detail, /^limits\.points_per_hour: /);
    assert.match(refused.body.documentation_url, /rate-limits/);
    const headers = refused.response.headers;
    const retryAfter = Number(headers.get("retry-after"));
    // One point of 3 an hour is back 20 minutes after the first was spent.
    assert.ok(retryAfter > 1190 && retryAfter <= 1200, `retry-after ${retryAfter}`);
    assert.equal(headers.get("x-ratelimit-limit"), "3");
    assert.equal(headers.get("x-ratelimit-remaining"), "0");
    assert.equal(headers.get("x-ratelimit-resource"), "core");
    const reset = Number(headers.get("x-ratelimit-reset"));
    assert.ok(Math.abs(reset - (before + retryAfter)) <= 2, `reset ${reset}`);
    const post = await fetch(
      `${gw.url}/repos/acme/a1/issues`,
      authed("t-cop", {
        method: "POST",
        body: JSON.stringify({ title: "x" }),
      }),
    );
    await post.body?.cancel();
    assert.equal(post.status, 403, "a non-GET is a new upstream call too");
    assert.equal(reached(fake, "/repos/acme/a4"), 0);
    assert.equal(fake.requests.filter((r) => r.method === "POST").length, 0);
    assert.equal((await get(gw, "/repos/acme/a4", "t-other")).status, 200, "others unaffected");

    const metrics = parseExposition(await (await fetch(`${gw.url}/metrics`)).text());
    const refusals = "github_proxy_client_refusals_total";
    assert.equal(metrics.value(refusals, { client: "cop", reason: "budget" }), 2);
    assert.equal(metrics.value(refusals, { client: "other", reason: "reserve" }), 0);
    assert.equal(metrics.value(refusals, { client: "cop", reason: "concurrency" }), 0);
    assert.equal(metrics.value("github_proxy_client_budget_remaining", { client: "cop" }), 0);
    const spent = "github_proxy_client_points_spent_total";
    assert.equal(metrics.value(spent, { client: "cop", resource: "core" }), 3);
    const lines = gw.logs.map((l) => JSON.parse(l)).filter((l) =>
      l.msg === "request refused by admit"
    );
    assert.equal(lines.length, 1, "a second refusal within a second is not a second line");
    assert.deepEqual([lines[0].client, lines[0].reason, lines[0].rule], [
      "cop",
      "budget",
      "limits.points_per_hour",
    ]);
  });
});

Deno.test("RATE_LIMIT_STATUS=429: a budget refusal has the same words and headers, status 429", async () => {
  await withFairShare(BUDGETED, async (gw, fake) => {
    for (let i = 1; i <= 3; i++) await get(gw, `/repos/acme/s${i}`, "t-cop");
    const sent = fake.requests.length;
    const refused = await get(gw, "/repos/acme/s4", "t-cop");
    assert.equal(refused.status, 429);
    assert.match(refused.body.message, /^API rate limit exceeded for github-proxy client "cop"/);
    assert.equal(refused.response.headers.get("x-ratelimit-remaining"), "0");
    assert.ok(Number(refused.response.headers.get("retry-after")) > 0);
    assert.equal(fake.requests.length, sent, "nothing sent");
  }, { env: { RATE_LIMIT_STATUS: "429" } });
});

Deno.test("Octokit's throttling plugin reads the budget refusal as a rate limit with its wait", async () => {
  await withFairShare(BUDGETED, async (gw) => {
    for (let i = 1; i <= 3; i++) await get(gw, `/repos/acme/b${i}`, "t-cop");
    const waits: number[] = [];
    const ThrottledOctokit = Octokit.plugin(throttling);
    const octokit = new ThrottledOctokit({
      auth: "t-cop",
      baseUrl: gw.url,
      throttle: {
        onRateLimit: (retryAfter: number) => {
          waits.push(retryAfter);
          return false;
        },
        onSecondaryRateLimit: () => false,
      },
    });
    await assert.rejects(
      octokit.request("GET /repos/{owner}/{repo}", { owner: "acme", repo: "b4" }),
    );
    assert.equal(waits.length, 1, "onRateLimit was called");
    assert.ok(waits[0] > 1190 && waits[0] <= 1202, `waits ${waits[0]} s`);
  });
});

Deno.test("an empty budget still revalidates cached entries: a 304 is free, a 200 goes below 0", async () => {
  await withFairShare(BUDGETED, async (gw, fake) => {
    fake.setResource("/repos/acme/kept/issues", [{ n: 1 }]);
    assert.equal((await get(gw, "/repos/acme/kept/issues", "t-cop")).status, 200);
    await get(gw, "/repos/acme/c2", "t-cop");
    await get(gw, "/repos/acme/c3", "t-cop");
    assert.equal((await get(gw, "/repos/acme/c4", "t-cop")).status, 403, "the budget is spent");
    const revalidated = await get(gw, "/repos/acme/kept/issues", "t-cop");
    assert.equal(revalidated.status, 200);
    assert.match(revalidated.response.headers.get("cache-status") ?? "", /fwd-status=304/);
    fake.mutate("/repos/acme/kept/issues", [{ n: 2 }]);
    const changed = await get(gw, "/repos/acme/kept/issues", "t-cop");
    assert.equal(changed.status, 200);
    assert.deepEqual(changed.body, [{ n: 2 }]);
    assert.equal(reached(fake, "/repos/acme/kept/issues"), 3);
    const usage = (await get(gw, "/usage", "t-cop")).body;
    const cop = usage.clients.find((c: { client: string }) => c.client === "cop");
    assert.equal(cop.budget.points_per_hour, 3);
    assert.equal(cop.budget.remaining, -1, "the changed answer was charged");
    assert.deepEqual(cop.since_start.points_by_resource, { core: 4 });
    assert.equal(cop.since_start.refused.budget, 1);
    const logged = gw.logs.map((l) => JSON.parse(l)).filter((l) =>
      l.msg === "request" && l.route === "/repos/{owner}/{repo}/issues"
    );
    assert.deepEqual(logged.map((l) => [l.cache, l.points]), [
      ["miss", 1],
      ["revalidated", 0],
      ["miss", 1],
    ]);
  });
});

Deno.test("requests_per_minute counts cache hits too", async () => {
  const registry = `version: 1
clients:
  - name: poller
    token: t-poller
    limits: { requests_per_minute: 2 }
    cache: { max_age: 60 }
`;
  await withFairShare(registry, async (gw, fake) => {
    assert.equal((await get(gw, "/repos/acme/app", "t-poller")).status, 200);
    const hit = await get(gw, "/repos/acme/app", "t-poller");
    assert.match(hit.response.headers.get("cache-status") ?? "", /; hit/);
    const refused = await get(gw, "/repos/acme/app", "t-poller");
    assert.equal(refused.status, 403);
    assert.match(refused.body.detail, /^limits\.requests_per_minute: /);
    assert.equal(refused.response.headers.get("x-ratelimit-limit"), "2");
    assert.ok(Number(refused.response.headers.get("retry-after")) >= 29);
    assert.equal(reached(fake, "/repos/acme/app"), 1);
  });
});

/**
 * A client with `concurrency: 1` whose one request hangs at the fake until the client leaves:
 * `run` makes its other requests meanwhile, `leave` ends the hanging one.
 */
async function withOneInFlight(
  queueWaitMs: number,
  run: (gw: TestGateway, fake: FakeGitHub, leave: () => Promise<void>) => Promise<void>,
): Promise<void> {
  const registry = `version: 1
clients:
  - name: single
    token: t-single
    limits: { concurrency: 1 }
`;
  await withFairShare(registry, async (gw, fake) => {
    fake.hang("/repos/acme/slow");
    const leaving = new AbortController();
    const slow = fetch(`${gw.url}/repos/acme/slow`, authed("t-single", { signal: leaving.signal }))
      .catch(() => undefined);
    await until(() => reached(fake, "/repos/acme/slow") > 0, "the first request reaching GitHub");
    let left = false;
    const leave = async () => {
      left = true;
      leaving.abort();
      await slow;
    };
    try {
      await run(gw, fake, leave);
    } finally {
      if (!left) await leave();
    }
  }, { admitQueueWaitMs: queueWaitMs });
}

Deno.test("concurrency: one more waits its turn, beyond that the client is refused", async () => {
  await withOneInFlight(10_000, async (gw, fake, leave) => {
    const queued = get(gw, "/repos/acme/app", "t-single");
    await until(() => gw.gateway.admission.waiting === 1, "the second request queueing");
    const refused = await get(gw, "/zen", "t-single");
    assert.equal(refused.status, 403);
    assert.match(refused.body.detail, /^limits\.concurrency: /);
    assert.equal(refused.response.headers.get("retry-after"), "1");
    await leave();
    assert.equal((await queued).status, 200, "the waiting request ran once the first left");
    assert.equal(reached(fake, "/zen"), 0);
  });
});

Deno.test("concurrency: a wait that runs out is refused", async () => {
  await withOneInFlight(50, async (gw) => {
    const waited = await get(gw, "/repos/acme/app", "t-single");
    assert.equal(waited.status, 403);
    assert.match(waited.body.detail, /^limits\.concurrency: /);
  });
});

const PRIORITIES = `version: 1
clients:
  - name: nightly
    token: t-low
    priority: low
  - name: ci
    token: t-normal
  - name: deploy
    token: t-high
    priority: high
reserve: { low: 30, normal: 10 }
`;

Deno.test("reserve: low stops below 30 %, normal below 10 %, high uses the pool to the end", async () => {
  await withFairShare(PRIORITIES, async (gw, fake) => {
    assert.equal((await get(gw, "/repos/acme/kept", "t-low")).status, 200);
    fake.setRemaining(PAT, "core", 26);
    assert.equal((await get(gw, "/repos/acme/d1", "t-high")).status, 200, "the pool learns 25");
    const low = await get(gw, "/repos/acme/d2", "t-low");
    assert.equal(low.status, 403);
    assert.match(low.body.message, /^API rate limit exceeded for github-proxy client "nightly"/);
    assert.match(low.body.detail, /^reserve\.low: the pool has 25 of 100 core points left/);
    assert.equal(low.response.headers.get("x-ratelimit-limit"), "100");
    assert.ok(Number(low.response.headers.get("retry-after")) > 0);
    const revalidation = await get(gw, "/repos/acme/kept", "t-low");
    assert.equal(revalidation.status, 200, "a revalidation is free and still goes");
    assert.equal((await get(gw, "/repos/acme/d3", "t-normal")).status, 200);
    fake.setRemaining(PAT, "core", 9);
    assert.equal((await get(gw, "/repos/acme/d4", "t-high")).status, 200);
    const normal = await get(gw, "/repos/acme/d5", "t-normal");
    assert.equal(normal.status, 403);
    assert.match(normal.body.detail, /^reserve\.normal: /);
    for (let i = 0; i < 8; i++) {
      assert.equal((await get(gw, `/repos/acme/e${i}`, "t-high")).status, 200, `high call ${i}`);
    }
    assert.equal(fake.remaining(PAT), 0, "high spent the pool to the end");
    assert.equal(reached(fake, "/repos/acme/d2") + reached(fake, "/repos/acme/d5"), 0);
    const metrics = parseExposition(await (await fetch(`${gw.url}/metrics`)).text());
    const refusals = "github_proxy_client_refusals_total";
    assert.equal(metrics.value(refusals, { client: "nightly", reason: "reserve" }), 1);
    assert.equal(metrics.value(refusals, { client: "ci", reason: "reserve" }), 1);
    assert.equal(metrics.value(refusals, { client: "deploy", reason: "reserve" }), 0);
  }, { limit: 100 });
});

Deno.test("budgets survive a registry reload: the client keeps what it has spent", async () => {
  const registry = (concurrency: number) =>
    `version: 1
clients:
  - name: cop
    token: t-cop
    limits: { points_per_hour: 2, concurrency: ${concurrency} }
`;
  await withFairShare(registry(4), async (gw) => {
    await get(gw, "/repos/acme/f1", "t-cop");
    await get(gw, "/repos/acme/f2", "t-cop");
    assert.equal((await get(gw, "/repos/acme/f3", "t-cop")).status, 403);
    await Deno.writeTextFile(gw.registryPath, registry(8));
    const reloaded = await gw.gateway.registry.reload(createLogger("error", "json", () => {}));
    assert.equal(reloaded, true, "the new limits are loaded");
    const after = await get(gw, "/repos/acme/f3", "t-cop");
    assert.equal(after.status, 403);
    assert.match(after.body.detail, /^limits\.points_per_hour: /);
  });
});

interface RunawayFigures {
  /** Statuses other than 200 the two well-behaved clients saw. */
  othersErrors: number;
  othersRequests: number;
  /** The runaway's calls that reached the fake (each spent a point there). */
  runawaySpent: number;
  runawayRefused: { budget: number; reserve: number; other: number };
  /** The lowest the PAT's remaining quota went at the fake, sampled during the run. */
  lowestRemaining: number;
  /** The PAT's remaining quota right after the runaway's last call that reached the fake. */
  afterRunaway: number;
}

/** What the PAT had left after each request the fake answered, in the order they came. */
function remainingAfterEach(fake: FakeGitHub, limit: number): number[] {
  let remaining = limit;
  return fake.requests.map((request) => request.status === 304 ? remaining : --remaining);
}

/**
 * A low-priority runaway firing `reads` uncached reads (distinct paths, 25 at a time) with a
 * `points_per_hour` budget, while two normal clients each make 40 rounds of a shared cached
 * read and a read of their own.
 */
async function runaway(budget: number, reads: number): Promise<RunawayFigures> {
  const registry = `version: 1
clients:
  - name: runaway
    token: t-runaway
    priority: low
    limits: { points_per_hour: ${budget} }
  - name: alice
    token: t-alice
  - name: bob
    token: t-bob
`;
  let figures: RunawayFigures | undefined;
  await withFairShare(registry, async (gw, fake) => {
    let lowestRemaining = 1000;
    let running = true;
    const sampler = (async () => {
      while (running) {
        lowestRemaining = Math.min(lowestRemaining, fake.remaining(PAT));
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    let next = 0;
    const runawayStatuses: { status: number; detail?: string }[] = [];
    const runawayWorker = async () => {
      while (next < reads) {
        const i = next++;
        const { status, body } = await get(gw, `/repos/acme/run${i}`, "t-runaway");
        runawayStatuses.push({ status, detail: body?.detail });
      }
    };
    const othersStatuses: number[] = [];
    const wellBehaved = async (name: string) => {
      for (let i = 0; i < 40; i++) {
        othersStatuses.push((await get(gw, "/repos/acme/shared", `t-${name}`)).status);
        othersStatuses.push((await get(gw, `/repos/acme/${name}${i}`, `t-${name}`)).status);
      }
    };
    await Promise.all([
      ...Array.from({ length: 25 }, runawayWorker),
      wellBehaved("alice"),
      wellBehaved("bob"),
    ]);
    running = false;
    await sampler;
    const refusedBy = (rule: string) =>
      runawayStatuses.filter((s) => s.status === 403 && s.detail?.startsWith(rule)).length;
    const budgetRefused = refusedBy("limits.points_per_hour");
    const reserveRefused = refusedBy("reserve.low");
    figures = {
      othersErrors: othersStatuses.filter((status) => status !== 200).length,
      othersRequests: othersStatuses.length,
      runawaySpent: fake.requests.filter((r) => /^\/repos\/acme\/run\d+$/.test(r.path)).length,
      runawayRefused: {
        budget: budgetRefused,
        reserve: reserveRefused,
        other: runawayStatuses.filter((s) => s.status !== 200).length - budgetRefused -
          reserveRefused,
      },
      lowestRemaining: Math.min(lowestRemaining, fake.remaining(PAT)),
      afterRunaway: Math.min(
        ...remainingAfterEach(fake, 1000).filter((_, i) =>
          /^\/repos\/acme\/run\d+$/.test(fake.requests[i].path)
        ),
      ),
    };
  }, { limit: 1000 });
  console.log(`runaway (budget ${budget}, ${reads} reads):`, JSON.stringify(figures));
  return figures!;
}

Deno.test("a runaway client is stopped at its budget; the others see no error", async () => {
  const figures = await runaway(200, 500);
  assert.equal(figures.othersErrors, 0, `${figures.othersRequests} requests by the others`);
  assert.ok(
    figures.runawaySpent >= 198 && figures.runawaySpent <= 201,
    `the runaway spent ${figures.runawaySpent} points of a 200 budget`,
  );
  assert.equal(figures.runawayRefused.budget, 500 - figures.runawaySpent);
  assert.equal(figures.runawayRefused.other, 0);
  assert.ok(figures.lowestRemaining >= 300, `pool went down to ${figures.lowestRemaining}`);
});

Deno.test("a runaway whose budget exceeds the pool stops at the low reserve", async () => {
  const figures = await runaway(5000, 900);
  assert.equal(figures.othersErrors, 0, `${figures.othersRequests} requests by the others`);
  assert.ok(figures.runawayRefused.reserve > 0, "the reserve refused it");
  assert.equal(figures.runawayRefused.budget + figures.runawayRefused.other, 0);
  assert.ok(
    figures.afterRunaway >= 299,
    `the runaway took the pool down to ${figures.afterRunaway}; low keeps 300 of 1000 back`,
  );
});
