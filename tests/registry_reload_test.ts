import assert from "node:assert/strict";
import { RegistryStore } from "../src/registry/store.ts";
import { createLogger } from "../src/telemetry/log.ts";
import { FakeGitHub } from "./support/fake_github.ts";
import { authed, startGateway } from "./support/gateway.ts";

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

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

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
    const store = await RegistryStore.load(path, () => undefined);
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
  const gw = await startGateway({
    githubApiUrl: fake.url,
    registry: ONE,
    logger: createLogger("error", "json", () => {}),
  });
  try {
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
  } finally {
    await gw.close();
  }
});
