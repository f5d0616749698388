import assert from "node:assert/strict";
import { Coalescer } from "../../../src/cache/coalesce.ts";
import { UpstreamError } from "../../../src/http/upstream.ts";

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

Deno.test("coalescer: a waiter already gone when it joins leaves no unhandled rejection", async () => {
  // A client that disconnects while its cache lookup is awaited (a slow Deno KV read) reaches
  // the coalescer aborted: the flight it started is aborted at once, and its rejection must be
  // someone's to handle, or the process exits on an unhandled rejection.
  const unhandled: unknown[] = [];
  const record = (event: PromiseRejectionEvent) => {
    event.preventDefault();
    unhandled.push(event.reason);
  };
  globalThis.addEventListener("unhandledrejection", record);
  try {
    const flights = new Coalescer<string>(LONG);
    const gone = new AbortController();
    gone.abort(new DOMException("The request has been cancelled.", "AbortError"));
    let workSignal: AbortSignal | undefined;
    const joined = flights.join("k", (signal) => {
      workSignal = signal;
      return new Promise<string>(() => {});
    }, gone.signal);
    await assert.rejects(joined.result, (error: DOMException) => error === gone.signal.reason);
    assert.equal(workSignal?.aborted, true, "the flight no one waits for is stopped");
    await assert.rejects(
      flights.solo((signal) => {
        workSignal = signal;
        return new Promise<string>(() => {});
      }, gone.signal),
      (error: DOMException) => error === gone.signal.reason,
    );
    assert.equal(workSignal?.aborted, true);
    assert.equal(flights.has("k"), false);
    // Unhandled rejections are reported after the microtask queue drains.
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(unhandled, []);
  } finally {
    globalThis.removeEventListener("unhandledrejection", record);
  }
});
