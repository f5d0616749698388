import assert from "node:assert/strict";
import { type Entry, OwnerGate } from "../../../src/credentials/owner_gate.ts";

const limits = { concurrency: 2, maxQueued: 2, maxWaitMs: 200 };

function admitted(entry: Entry): () => void {
  assert.ok(entry.ok, "admitted");
  return entry.release;
}

Deno.test("the gate lets `concurrency` through, queues FIFO, refuses when the queue is full", async () => {
  const gate = new OwnerGate(limits, Date.now);
  const first = admitted(await gate.enter(false));
  const second = admitted(await gate.enter(false));
  const order: string[] = [];
  const third = gate.enter(false).then((entry) => (order.push("third"), entry));
  const fourth = gate.enter(false).then((entry) => (order.push("fourth"), entry));
  assert.equal(gate.queued, 2);
  const full = await gate.enter(false);
  assert.deepEqual(full, { ok: false, retryAfterMs: 1000 }, "queue full: refused at once");
  first();
  first(); // a second release of one slot frees nothing more
  const releaseThird = admitted(await third);
  assert.equal(gate.inFlight, 2, "the freed slot passed straight to the first waiter");
  second();
  admitted(await fourth)();
  releaseThird();
  assert.deepEqual(order, ["third", "fourth"]);
  assert.equal(gate.inFlight, 0);
});

Deno.test("a waiter gives up after maxWaitMs; an aborted one leaves the queue", async () => {
  const gate = new OwnerGate(limits, Date.now);
  const a = admitted(await gate.enter(false));
  const b = admitted(await gate.enter(false));
  const timedOut = await gate.enter(false);
  assert.deepEqual(timedOut, { ok: false, retryAfterMs: 1000 });
  const controller = new AbortController();
  const aborted = gate.enter(false, controller.signal);
  controller.abort(new Error("client left"));
  await assert.rejects(aborted, /client left/);
  assert.equal(gate.queued, 0);
  a();
  b();
  assert.equal(gate.inFlight, 0);
});

Deno.test("writes wait their turn a second apart; one too far out is refused", async () => {
  let clock = 1_000_000;
  const gate = new OwnerGate({ concurrency: 10, maxQueued: 10, maxWaitMs: 1500 }, () => clock);
  admitted(await gate.enter(true))();
  const started = performance.now();
  const second = gate.enter(true); // booked for clock + 1000
  clock += 100;
  const third = await gate.enter(true); // would be clock + 1900: past the 1.5 s bound
  assert.deepEqual(third, { ok: false, retryAfterMs: 400 });
  admitted(await second)();
  assert.ok(performance.now() - started >= 900, "the second write waited its second");
  assert.equal(gate.inFlight, 0, "a refused write gives its slot back");
});
