import assert from "node:assert/strict";
import { Coalescer } from "../../../src/cache/coalesce.ts";
import { UpstreamError } from "../../../src/http/upstream.ts";

/** A deadline no test reaches. */
const LONG = { deadlineMs: 60_000, overdue: () => new Error("overdue") };
/** …and waiters watched from the flight's first turn of the event loop. */
const WATCHED = { ...LONG, watchAfterMs: 0 };

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
  const flights = new Coalescer<string>(WATCHED);
  const gate = Promise.withResolvers<string>();
  let signal: AbortSignal | undefined;
  const work = (s: AbortSignal) => {
    signal = s;
    return gate.promise;
  };
  const [a, b] = [new AbortController(), new AbortController()];
  const first = flights.join("k", work, () => a.signal);
  const second = flights.join("k", work, () => b.signal);
  assert.equal(flights.waiting, 2);
  a.abort(new Error("a left"));
  await assert.rejects(first.result, /a left/);
  assert.equal(signal!.aborted, false);
  assert.equal(flights.has("k"), true);
  assert.equal(flights.waiting, 1);
  b.abort(new Error("b left"));
  await assert.rejects(second.result, /b left/);
  assert.equal(signal!.aborted, true);
  assert.equal(flights.has("k"), false);
  assert.equal(flights.waiting, 0);
  gate.resolve("too late");
});

Deno.test("coalescer: a waiter leaving after the answer changes nothing", async () => {
  const flights = new Coalescer<string>(WATCHED);
  let signal: AbortSignal | undefined;
  const leaving = new AbortController();
  const joined = flights.join("k", (s) => {
    signal = s;
    return Promise.resolve("answer");
  }, () => leaving.signal);
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
    const flights = new Coalescer<string>(WATCHED);
    const gone = new AbortController();
    gone.abort(new DOMException("The request has been cancelled.", "AbortError"));
    let workSignal: AbortSignal | undefined;
    const joined = flights.join("k", (signal) => {
      workSignal = signal;
      return new Promise<string>(() => {});
    }, () => gone.signal);
    await assert.rejects(joined.result, (error: DOMException) => error === gone.signal.reason);
    assert.equal(workSignal?.aborted, true, "the flight no one waits for is stopped");
    await assert.rejects(
      flights.solo((signal) => {
        workSignal = signal;
        return new Promise<string>(() => {});
      }, () => gone.signal),
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

Deno.test("coalescer: a flight that ends before the watch never asks for its waiters' signals", async () => {
  // Asking Deno for a request's signal costs an operation per request: a quick flight skips it.
  const flights = new Coalescer<string>({ ...LONG, watchAfterMs: 50 });
  let asked = 0;
  const waiter = () => {
    asked++;
    return new AbortController().signal;
  };
  const quick = flights.join("k", () => Promise.resolve("answer"), waiter);
  assert.equal(await quick.result, "answer");
  const gate = Promise.withResolvers<string>();
  const slow = flights.join("slow", () => gate.promise, waiter);
  const joined = flights.join("slow", () => gate.promise, waiter);
  await new Promise((resolve) => setTimeout(resolve, 80));
  assert.equal(asked, 2, "both waiters of the slow flight are watched once it has run 50 ms");
  const late = flights.join("slow", () => gate.promise, waiter);
  assert.equal(asked, 3, "a waiter joining a watched flight is watched at once");
  gate.resolve("late answer");
  assert.deepEqual(await Promise.all([slow.result, joined.result, late.result]), [
    "late answer",
    "late answer",
    "late answer",
  ]);
});

Deno.test("coalescer: a waiter that left before the watch leaves at the watch and stops a flight no one waits for", async () => {
  const flights = new Coalescer<string>({ ...LONG, watchAfterMs: 20 });
  const gone = new AbortController();
  let workSignal: AbortSignal | undefined;
  const joined = flights.join("k", (signal) => {
    workSignal = signal;
    return new Promise<string>(() => {});
  }, () => gone.signal);
  gone.abort(new Error("client left"));
  await assert.rejects(joined.result, /client left/);
  assert.equal(workSignal?.aborted, true);
  assert.equal(flights.has("k"), false);
});
