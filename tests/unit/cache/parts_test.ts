import assert from "node:assert/strict";
import type { CacheBackend } from "../../../src/cache/backends/backend.ts";
import { GuardedBackend } from "../../../src/cache/backends/guard.ts";
import { Coalescer } from "../../../src/cache/coalesce.ts";
import { idleBounded } from "../../../src/http/idle_stream.ts";
import { UpstreamError } from "../../../src/http/upstream.ts";
import { createLogger } from "../../../src/log.ts";

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

/** A deadline no test reaches. */
const LONG = { deadlineMs: 60_000, overdue: () => new Error("overdue") };

Deno.test("coalescer: concurrent joins share one run; a later join runs again", async () => {
  const flights = new Coalescer<number>(LONG);
  let runs = 0;
  const gate = Promise.withResolvers<void>();
  const work = async () => {
    runs++;
    await gate.promise;
    return runs;
  };
  const first = flights.join("k", work);
  const second = flights.join("k", work);
  const other = flights.join("other", work);
  assert.equal(first.leader, true);
  assert.equal(second.leader, false);
  assert.equal(flights.size, 2);
  gate.resolve();
  assert.equal(await first.result, await second.result);
  await other.result;
  assert.equal(flights.size, 0);
  assert.equal(await flights.join("k", work).result, 3);
});

Deno.test("coalescer: a failure reaches every waiter and clears the key", async () => {
  const flights = new Coalescer<number>(LONG);
  const gate = Promise.withResolvers<void>();
  const work = async () => {
    await gate.promise;
    throw new Error("upstream down");
  };
  const a = flights.join("k", work);
  const b = flights.join("k", work);
  gate.resolve();
  await assert.rejects(a.result, /upstream down/);
  await assert.rejects(b.result, /upstream down/);
  assert.equal(flights.has("k"), false);
});

Deno.test("coalescer: an overdue flight is aborted, forgotten, and not joined", async () => {
  const flights = new Coalescer<string>({
    deadlineMs: 20,
    overdue: () => new UpstreamError("timeout", "overdue"),
  });
  const seen: AbortSignal[] = [];
  const stuck = (signal: AbortSignal) => {
    seen.push(signal);
    return new Promise<string>(() => {});
  };
  const first = flights.join("k", stuck);
  const second = flights.join("k", stuck);
  await assert.rejects(first.result, /overdue/);
  await assert.rejects(second.result, /overdue/);
  assert.equal(seen.length, 1);
  assert.equal(seen[0].aborted, true);
  assert.equal(flights.has("k"), false);
  const later = flights.join("k", () => Promise.resolve("fresh"));
  assert.equal(later.leader, true);
  assert.equal(await later.result, "fresh");
});

Deno.test("coalescer: the flight stops when its last waiter leaves, not before", async () => {
  const flights = new Coalescer<string>(LONG);
  const gate = Promise.withResolvers<string>();
  let signal: AbortSignal | undefined;
  const work = (s: AbortSignal) => {
    signal = s;
    return gate.promise;
  };
  const [a, b] = [new AbortController(), new AbortController()];
  const first = flights.join("k", work, a.signal);
  const second = flights.join("k", work, b.signal);
  a.abort(new Error("a left"));
  await assert.rejects(first.result, /a left/);
  assert.equal(signal!.aborted, false);
  assert.equal(flights.has("k"), true);
  b.abort(new Error("b left"));
  await assert.rejects(second.result, /b left/);
  assert.equal(signal!.aborted, true);
  assert.equal(flights.has("k"), false);
  gate.resolve("too late");
});

Deno.test("coalescer: a waiter leaving after the answer changes nothing", async () => {
  const flights = new Coalescer<string>(LONG);
  let signal: AbortSignal | undefined;
  const leaving = new AbortController();
  const joined = flights.join("k", (s) => {
    signal = s;
    return Promise.resolve("answer");
  }, leaving.signal);
  assert.equal(await joined.result, "answer");
  leaving.abort();
  assert.equal(signal!.aborted, false);
});

Deno.test("idleBounded: passes a body through; cuts a quiet one off and cancels it", async () => {
  const encode = (text: string) => new TextEncoder().encode(text);
  const whole = idleBounded(ReadableStream.from([encode("ab"), encode("cd")]), 1000);
  assert.equal(await new Response(whole).text(), "abcd");
  let cancelled: unknown;
  const quiet = new ReadableStream<Uint8Array>({
    start: (controller) => controller.enqueue(encode("first")),
    cancel: (reason) => {
      cancelled = reason;
    },
  });
  const reader = idleBounded(quiet, 20).getReader();
  assert.equal(new TextDecoder().decode((await reader.read()).value), "first");
  await assert.rejects(reader.read(), (error) => {
    assert.ok(error instanceof UpstreamError);
    assert.equal(error.failure, "timeout");
    return true;
  });
  assert.ok(cancelled instanceof UpstreamError);
});

Deno.test("idleBounded: time the reader spends not reading is not quiet", async () => {
  let clock = 0;
  const parts = ["a", "b"].map((part) => new TextEncoder().encode(part));
  const reader = idleBounded(ReadableStream.from(parts), 20, () => clock).getReader();
  assert.equal((await reader.read()).done, false);
  clock += 1000;
  await new Promise((resolve) => setTimeout(resolve, 40));
  assert.equal((await reader.read()).done, false);
  assert.equal((await reader.read()).done, true);
});
