import assert from "node:assert/strict";
import type { CacheBackend } from "../../../../src/cache/backends/backend.ts";
import { GuardedBackend } from "../../../../src/cache/backends/guard.ts";
import { createLogger } from "../../../../src/log.ts";
import type { CacheEntry } from "../../../../src/cache/entry.ts";
import { arrivedAnswer, stall } from "../../../support/stall.ts";

/** A backend whose every call fails the way the test says. */
function brokenBackend(failure: "throw" | "hang"): CacheBackend & { release(): void } {
  const released = Promise.withResolvers<void>();
  const fail = () =>
    failure === "throw"
      ? Promise.reject(new Error('ERR boom, command was: ["hset","k","secret-body"]'))
      : released.promise.then(() => {
        throw new Error("late");
      });
  return {
    kind: "broken",
    get: fail,
    set: fail,
    touch: fail,
    delete: fail,
    ping: fail,
    close: () => Promise.resolve(),
    release: () => released.resolve(),
  };
}

Deno.test("guard: a failing backend becomes misses and no-ops, counted, logged once per interval", async () => {
  const lines: string[] = [];
  let now = 0;
  const guard = new GuardedBackend(brokenBackend("throw"), {
    readTimeoutMs: 50,
    writeTimeoutMs: 50,
    reportIntervalMs: 60_000,
    cooldownMs: 1000,
    logger: createLogger("info", "json", (line) => lines.push(line)),
    now: () => now,
  });
  assert.equal(await guard.set("k", {} as never, 1), false);
  assert.equal(await guard.touch("k", {} as never, 1), false);
  assert.equal(await guard.delete("k"), false);
  assert.deepEqual(await guard.get("k"), { ok: false });
  assert.equal(guard.failures, 4);
  assert.equal(lines.length, 1);
  assert.ok(!lines[0].includes("secret-body"));
  assert.match(lines[0], /"failures":1/);
  now = 61_000;
  await guard.get("k");
  assert.equal(lines.length, 2);
  assert.match(lines[1], /"failures":4/);
  await assert.rejects(guard.ping());
});

Deno.test("guard: after a failed lookup the backend is skipped for the cool-down, then probed again", async () => {
  let now = 0;
  let calls = 0;
  const backend = brokenBackend("throw");
  const counted: CacheBackend = {
    ...backend,
    get: (key) => {
      calls++;
      return backend.get(key);
    },
  };
  const guard = new GuardedBackend(counted, {
    readTimeoutMs: 50,
    writeTimeoutMs: 50,
    reportIntervalMs: 60_000,
    cooldownMs: 1000,
    logger: createLogger("error", "json", () => {}),
    now: () => now,
  });
  await guard.get("k");
  now = 500;
  assert.deepEqual(await guard.get("k"), { ok: false });
  assert.equal(await guard.set("k", {} as never, 1), false);
  assert.equal(calls, 1);
  assert.equal(guard.failures, 1);
  assert.equal(guard.skipped, 2);
  now = 1000;
  await guard.get("k");
  assert.equal(calls, 2);
});

Deno.test("guard: a backend that hangs is cut off at the timeout", async () => {
  const backend = brokenBackend("hang");
  const guard = new GuardedBackend(backend, {
    readTimeoutMs: 30,
    writeTimeoutMs: 30,
    reportIntervalMs: 60_000,
    cooldownMs: 1000,
    logger: createLogger("error", "json", () => {}),
  });
  assert.deepEqual(await guard.get("k"), { ok: false });
  await assert.rejects(guard.ping(), /took longer than 30 ms/);
  assert.equal(guard.failures, 1);
  backend.release();
});

Deno.test("guard: a lookup answered while the gateway was stalled past the read timeout is a hit, not a failure", async () => {
  await using answer = await arrivedAnswer();
  const entry = { status: 200 } as CacheEntry;
  const backend: CacheBackend = { ...brokenBackend("throw"), get: () => answer.read(entry) };
  const guard = new GuardedBackend(backend, {
    readTimeoutMs: 20,
    writeTimeoutMs: 20,
    reportIntervalMs: 60_000,
    cooldownMs: 1000,
    logger: createLogger("info", "json", () => {}),
  });
  await answer.send();
  const lookup = guard.get("k");
  stall(100);
  assert.deepEqual(await lookup, { ok: true, entry });
  assert.equal(guard.failures, 0);
  // No cool-down followed: the next lookup reaches the backend.
  await answer.send();
  assert.deepEqual(await guard.get("k"), { ok: true, entry });
});

Deno.test("guard: a lookup that answers after its timeout ends the cool-down; one that never answers keeps it", async () => {
  let now = 0;
  const slow = Promise.withResolvers<CacheEntry | undefined>();
  const hanging = Promise.withResolvers<CacheEntry | undefined>();
  const answers = [slow.promise, hanging.promise];
  let calls = 0;
  const backend: CacheBackend = {
    ...brokenBackend("throw"),
    get: () => answers[calls++] ?? Promise.resolve(undefined),
  };
  const guard = new GuardedBackend(backend, {
    readTimeoutMs: 20,
    writeTimeoutMs: 20,
    reportIntervalMs: 60_000,
    cooldownMs: 1000,
    logger: createLogger("error", "json", () => {}),
    now: () => now,
  });
  assert.deepEqual(await guard.get("k"), { ok: false });
  assert.deepEqual(await guard.get("k"), { ok: false }, "cooling down");
  assert.equal(calls, 1);
  slow.resolve(undefined);
  await slow.promise;
  assert.deepEqual(await guard.get("k"), { ok: false }, "the hanging lookup");
  assert.equal(calls, 2);
  now = 999;
  assert.deepEqual(await guard.get("k"), { ok: false }, "still cooling down");
  assert.equal(calls, 2);
  now = 1000;
  assert.deepEqual(await guard.get("k"), { ok: true, entry: undefined });
  assert.equal(guard.failures, 2);
  assert.equal(guard.skipped, 2);
});
