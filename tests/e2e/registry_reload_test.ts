import assert from "node:assert/strict";
import { parseRegistry } from "../../src/registry/parse.ts";
import { RegistryStore } from "../../src/registry/store.ts";
import { widenedClients } from "../../src/registry/widening.ts";
import { createLogger } from "../../src/log.ts";
import { FakeGitHub } from "../support/fake_github.ts";
import { authed, startGateway } from "../support/gateway.ts";
import { until } from "../support/until.ts";

const ONE = "version: 1\nclients:\n  - name: one\n    token: one-token\n";
const TWO = "version: 1\nclients:\n  - name: two\n    token: two-token\n";
const THREE = "version: 1\nclients:\n  - name: three\n    token: three-token\n";
const BROKEN =
  "version: 1\nclients:\n  - name: two\n    token: {{ env.MISSING }}\n    colour: red\n";

async function tempRegistry(text: string): Promise<{ dir: string; path: string }> {
  const dir = await Deno.makeTempDir({ prefix: "github-proxy-reload-" });
  const path = `${dir}/registry.yaml`;
  await Deno.writeTextFile(path, text);
  return { dir, path };
}

function recorder() {
  const lines: Record<string, unknown>[] = [];
  return { lines, logger: createLogger("debug", "json", (line) => lines.push(JSON.parse(line))) };
}

const names = (store: RegistryStore) => store.current.clients.map((c) => c.name);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `body` with the store watching; waits for the watcher's timers after stopping it. */
async function watching(
  store: RegistryStore,
  logger: ReturnType<typeof recorder>["logger"],
  body: () => Promise<void>,
): Promise<void> {
  const stop = new AbortController();
  store.watch(logger, stop.signal);
  try {
    await sleep(50);
    await body();
  } finally {
    stop.abort();
    await sleep(300);
  }
}

Deno.test("reload: a valid file replaces the registry, an invalid one keeps it and logs every problem", async () => {
  const { dir, path } = await tempRegistry(ONE);
  try {
    const { lines, logger } = recorder();
    const store = await RegistryStore.load(path, () => undefined);
    const before = store.current;
    await Deno.writeTextFile(path, BROKEN);
    assert.equal(await store.reload(logger), false);
    assert.equal(store.current, before);
    const failure = lines.find((l) => l.level === "error")!;
    assert.equal(failure.msg, "client registry reload failed; keeping the previous one");
    const problems = failure.problems as string[];
    assert.ok(problems.some((p) => /:4: environment variable MISSING is not set/.test(p)));
    assert.ok(problems.some((p) => /:5: unknown field "colour"/.test(p)));

    await Deno.writeTextFile(path, TWO);
    assert.equal(await store.reload(logger), true);
    assert.deepEqual(names(store), ["two"]);
    assert.equal(before.clients[0].name, "one", "the old registry object is left untouched");
    assert.ok(lines.some((l) => l.msg === "client registry reloaded" && l.clients === 1));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("reload: SIGHUP re-reads the registry (here its template variables)", async () => {
  const { dir, path } = await tempRegistry(
    "version: 1\nclients:\n  - name: {{ env.NAME }}\n    token: t\n",
  );
  try {
    const env: Record<string, string> = { NAME: "one" };
    const { logger } = recorder();
    const store = await RegistryStore.load(path, (name) => env[name]);
    await watching(store, logger, async () => {
      env.NAME = "two";
      Deno.kill(Deno.pid, "SIGHUP");
      await until(() => names(store)[0] === "two", "the SIGHUP reload");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("reload: a change of the file reloads it, also when an editor replaces it", async () => {
  const { dir, path } = await tempRegistry(ONE);
  try {
    const { lines, logger } = recorder();
    const store = await RegistryStore.load(path, () => undefined, { settleMs: 50 });
    await watching(store, logger, async () => {
      await Deno.writeTextFile(path, TWO);
      await until(() => names(store)[0] === "two", "the in-place write");

      await Deno.writeTextFile(`${dir}/registry.yaml.tmp`, THREE);
      await Deno.rename(`${dir}/registry.yaml.tmp`, path);
      await until(() => names(store)[0] === "three", "the replacement by rename");

      await Deno.writeTextFile(path, BROKEN);
      await until(() => lines.some((l) => l.level === "error"), "the failed reload");
      assert.deepEqual(names(store), ["three"]);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("reload: in-flight requests finish under the registry they started with", async () => {
  const fake = await FakeGitHub.start();
  await using gw = await startGateway({
    githubApiUrl: fake.url,
    registry: ONE,
    logger: createLogger("error", "json", () => {}),
  });
  fake.hang("/zen");
  const inFlight = fetch(`${gw.url}/zen`, authed("one-token"));
  await until(() => fake.requests.length === 1, "the request to reach GitHub");
  await Deno.writeTextFile(gw.registryPath, TWO);
  assert.equal(await gw.gateway.registry.reload(createLogger("error", "json", () => {})), true);

  const old = await fetch(`${gw.url}/zen`, authed("one-token"));
  assert.equal(old.status, 401);
  await old.body?.cancel();
  const fresh = await fetch(`${gw.url}/rate_limit`, authed("two-token"));
  assert.equal(fresh.status, 200);
  await fresh.body?.cancel();

  const closing = fake.close();
  const finished = await inFlight;
  assert.equal(finished.status, 503, "answered by GitHub, not refused by the new registry");
  await finished.body?.cancel();
  await closing;
});

const SCOPED = `version: 1
clients:
  - name: scoped
    token: scoped-token
    scopes:
      - method: GET
        path: /repos/octo-org/repo-1
`;
const RESCOPED = SCOPED.replace("repo-1", "repo-2");
const UNSCOPED = SCOPED.slice(0, SCOPED.indexOf("    scopes:"));

/** A settle clock that only moves when the test says so. */
class HeldClock {
  #waiting: (() => void)[] = [];
  readonly sleep = (_ms: number, signal: AbortSignal): Promise<void> =>
    new Promise((resolve) => {
      this.#waiting.push(resolve);
      signal.addEventListener("abort", () => resolve(), { once: true });
    });
  get waiting(): number {
    return this.#waiting.length;
  }
  /** Ends every wait in progress: the settle time has passed. */
  release(): void {
    for (const resolve of this.#waiting.splice(0)) resolve();
  }
}

/** A gateway serving `SCOPED`, watching its registry with a held settle clock. */
async function scopedGateway() {
  const fake = await FakeGitHub.start();
  const clock = new HeldClock();
  const gw = await startGateway({
    githubApiUrl: fake.url,
    registry: SCOPED,
    registryReload: { settleMs: 2000, sleep: clock.sleep },
  });
  const stop = new AbortController();
  gw.gateway.registry.watch(gw.gateway.logger, stop.signal);
  await sleep(50);
  const status = async (path: string) => {
    const response = await fetch(`${gw.url}${path}`, authed("scoped-token"));
    await response.body?.cancel();
    return response.status;
  };
  const logged = (pattern: RegExp) =>
    gw.logs.map((line) => JSON.parse(line)).filter((line) => pattern.test(line.msg));
  return {
    gw,
    clock,
    status,
    logged,
    /** Waits for `condition`, letting the settle time pass whenever the store waits on it. */
    async settle(condition: () => boolean | Promise<boolean>, what: string) {
      const deadline = Date.now() + 10_000;
      while (!(await condition())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        clock.release();
        await sleep(20);
      }
    },
    async [Symbol.asyncDispose]() {
      stop.abort();
      await gw.close();
      await fake.close();
    },
  };
}

async function writeAll(file: Deno.FsFile, text: string): Promise<void> {
  const bytes = new TextEncoder().encode(text);
  for (let at = 0; at < bytes.length;) at += await file.write(bytes.subarray(at));
}

Deno.test("reload: a registry rewritten in place is not loaded half-written; the scoped client stays scoped", async () => {
  await using t = await scopedGateway();
  assert.equal(await t.status("/repos/octo-org/repo-2"), 403);
  const file = await Deno.open(t.gw.registryPath, { write: true, truncate: true });
  try {
    await writeAll(file, UNSCOPED);
    // The pause of the writer: the file holds a valid registry without the client's scopes.
    const deadline = Date.now() + 5_000;
    const pauseEnds = Date.now() + 300;
    while (Date.now() < pauseEnds || t.logged(/is changing/).length === 0) {
      assert.ok(Date.now() < deadline, "the change was never noticed");
      assert.equal(await t.status("/repos/octo-org/repo-2"), 403, "full access mid-write");
    }
    await writeAll(file, RESCOPED.slice(UNSCOPED.length));
  } finally {
    file.close();
  }
  await t.settle(async () => await t.status("/repos/octo-org/repo-2") === 200, "the new file");
  assert.equal(await t.status("/repos/octo-org/repo-1"), 403);
  assert.equal(t.logged(/scopes or deny rules removed/).length, 0);
});

Deno.test("reload: a file renamed into place loads without waiting for the settle time", async () => {
  await using t = await scopedGateway();
  const next = `${t.gw.registryPath}.new`;
  await Deno.writeTextFile(next, RESCOPED);
  await Deno.rename(next, t.gw.registryPath);
  await until(() => t.logged(/^client registry reloaded$/).length === 1, "the reload");
  assert.equal(t.clock.waiting, 0, "nothing waited for the settle time");
  assert.equal(await t.status("/repos/octo-org/repo-2"), 200);
  assert.equal(await t.status("/repos/octo-org/repo-1"), 403);
});

Deno.test("reload: an edit that removes a client's scopes loads once stable, and says so", async () => {
  await using t = await scopedGateway();
  await Deno.writeTextFile(t.gw.registryPath, UNSCOPED);
  await until(() => t.clock.waiting > 0, "the settle wait");
  assert.equal(await t.status("/repos/octo-org/repo-2"), 403, "not before the settle time");
  await t.settle(async () => await t.status("/repos/octo-org/repo-2") === 200, "the reload");
  const [line] = t.logged(/scopes or deny rules removed/);
  assert.deepEqual(line.widened, ["scoped"]);
  assert.equal(line.level, "warn");
  assert.ok(!t.gw.logs.some((l) => l.includes("scoped-token")), "no token in the logs");
});

Deno.test("reload: a rename that removes scopes waits; if the file changes meanwhile it is refused", async () => {
  await using t = await scopedGateway();
  const next = `${t.gw.registryPath}.new`;
  await Deno.writeTextFile(next, UNSCOPED);
  await Deno.rename(next, t.gw.registryPath);
  await until(() => t.logged(/reload deferred/).length === 1, "the deferral");
  assert.deepEqual(t.logged(/reload deferred/)[0].clients, ["scoped"]);
  assert.equal(await t.status("/repos/octo-org/repo-2"), 403, "not before the settle time");

  await Deno.writeTextFile(t.gw.registryPath, RESCOPED);
  await t.settle(async () => await t.status("/repos/octo-org/repo-2") === 200, "the new file");
  const [refusal] = t.logged(/reload refused/);
  assert.deepEqual(refusal.clients, ["scoped"]);
  assert.equal(t.logged(/scopes or deny rules removed/).length, 0, "never loaded unscoped");
});

Deno.test("reload: SIGHUP loads a registry that removes scopes only once it is stable", async () => {
  const { dir, path } = await tempRegistry(SCOPED);
  try {
    const { lines, logger } = recorder();
    const clock = new HeldClock();
    const store = await RegistryStore.load(path, () => undefined, { sleep: clock.sleep });
    // Written before the watch starts: only the SIGHUP brings it in.
    await Deno.writeTextFile(path, UNSCOPED);
    await watching(store, logger, async () => {
      Deno.kill(Deno.pid, "SIGHUP");
      await until(() => lines.some((l) => /reload deferred/.test(String(l.msg))), "the deferral");
      assert.notEqual(store.current.clients[0].scopes, null, "not before the settle time");
      clock.release();
      await until(() => store.current.clients[0].scopes === null, "the reload");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const rules = (lines: string) => `    deny:\n${lines}`;
const deny = (path: string) => `      - path: ${path}\n`;
const WIDENING: [string, string, string, string[]][] = [
  ["scopes removed", "    scopes: []\n", "", ["c"]],
  [
    "scopes kept, narrowed",
    `    scopes:\n${deny("/a")}${deny("/b")}`,
    `    scopes:\n${deny("/a")}`,
    [],
  ],
  ["scopes added", "", "    scopes: []\n", []],
  ["deny removed", rules(deny("/a")), "", ["c"]],
  ["last deny rule cut off", rules(deny("/a") + deny("/b")), rules(deny("/a")), ["c"]],
  ["deny rule added", rules(deny("/a")), rules(deny("/a") + deny("/b")), []],
  ["unchanged", rules(deny("/a")), rules(deny("/a")), []],
];

Deno.test("reload: widenedClients names the clients that lose scopes or deny rules", () => {
  const registry = (fields: string, extra = "") =>
    parseRegistry(
      `version: 1\nclients:\n  - name: c\n    token: t\n${fields}${extra}`,
      "r.yaml",
      () => undefined,
    );
  for (const [what, before, after, expected] of WIDENING) {
    assert.deepEqual(widenedClients(registry(before), registry(after)), expected, what);
  }
  const added = registry("", "  - name: new\n    token: u\n");
  assert.deepEqual(widenedClients(registry("    scopes: []\n"), added), ["c"]);
  assert.deepEqual(widenedClients(registry(""), added), [], "a new client is not widened");
});
