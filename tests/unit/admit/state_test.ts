import assert from "node:assert/strict";
import { AdmitState } from "../../../src/admit/state.ts";
import type { SetTimer } from "../../../src/admit/concurrency.ts";
import type { Client, Limits } from "../../../src/registry/model.ts";

const client = (limits: Limits, name = "nightly"): Client => ({
  name,
  tokenDigest: new Uint8Array(),
  scopes: null,
  deny: [],
  priority: "normal",
  limits,
});

/** A timer driven by hand: `fire()` runs every pending timeout. */
function manualTimer() {
  const pending = new Set<() => void>();
  const setTimer: SetTimer = (_ms, run) => {
    pending.add(run);
    return () => pending.delete(run);
  };
  return { setTimer, fire: () => [...pending].forEach((run) => run()), pending };
}

Deno.test("budget: calls are allowed while points are left, then refused until one is back", () => {
  let now = 0;
  const state = new AdmitState({ now: () => now });
  const ci = client({ pointsPerHour: 3 });
  const outcomes = [];
  for (let i = 0; i < 4; i++) {
    const refusal = state.startCall(ci);
    outcomes.push(refusal?.reason ?? "ok");
    if (!refusal) {
      state.charge(ci.name, 1);
      state.settle(ci, 1);
    }
  }
  assert.deepEqual(outcomes, ["ok", "ok", "ok", "budget"]);
  const refusal = state.startCall(ci)!;
  assert.equal(refusal.rule, "limits.points_per_hour");
  assert.equal(refusal.limit, 3);
  assert.equal(refusal.retryAtMs, 1_200_000, "a point comes back every 20 minutes");
  now = 1_200_000;
  assert.equal(state.startCall(ci), undefined);
});

Deno.test("budget: calls in flight hold a point each, so a burst cannot overrun it", () => {
  const state = new AdmitState({ now: () => 0 });
  const ci = client({ pointsPerHour: 2 });
  assert.equal(state.startCall(ci), undefined);
  assert.equal(state.startCall(ci), undefined);
  assert.equal(state.startCall(ci)?.reason, "budget", "two points promised, none left");
  state.settle(ci, 2);
  assert.equal(state.startCall(ci), undefined, "nothing was charged: the points are back");
});

Deno.test("budget: a charge after the fact takes it below 0 (a revalidation that came back 200)", () => {
  const state = new AdmitState({ now: () => 0 });
  const ci = client({ pointsPerHour: 3600 });
  state.startCall(ci);
  state.charge(ci.name, 3602);
  state.settle(ci, 1);
  assert.deepEqual(state.budgets([ci]).map((b) => b.remaining), [-2]);
  assert.equal(state.startCall(ci)?.retryAtMs, 3000);
});

Deno.test("budget: kept across a registry reload; a new limit clips it, a new client starts full", () => {
  const state = new AdmitState({ now: () => 0 });
  state.startCall(client({ pointsPerHour: 100 }));
  state.charge("nightly", 60);
  assert.deepEqual(state.budgets([client({ pointsPerHour: 100 })])[0].remaining, 40);
  const reloaded = client({ pointsPerHour: 30 });
  assert.equal(state.startCall(reloaded), undefined);
  assert.equal(state.budgets([reloaded])[0].remaining, 30, "clipped to the new capacity");
  const raised = client({ pointsPerHour: 1000 });
  assert.equal(state.budgets([raised])[0].remaining, 30, "what was spent stays spent");
  assert.equal(state.budgets([client({ pointsPerHour: 5 }, "other")])[0].remaining, 5);
  assert.deepEqual(state.budgets([client({})]), [], "no budget, no gauge");
});

Deno.test("requests_per_minute: every request takes one, refused with the wait for the next", async () => {
  let now = 0;
  const state = new AdmitState({ now: () => now });
  const ci = client({ requestsPerMinute: 2 });
  assert.equal(await state.enter(ci), undefined);
  assert.equal(await state.enter(ci), undefined);
  const refusal = await state.enter(ci);
  assert.equal(refusal?.reason, "rate");
  assert.equal(refusal?.rule, "limits.requests_per_minute");
  assert.equal(refusal?.retryAtMs, 30_000);
  now = 30_000;
  assert.equal(await state.enter(ci), undefined);
});

Deno.test("concurrency: up to the limit run, as many wait in order, the rest are refused", async () => {
  const timer = manualTimer();
  const state = new AdmitState({ now: () => 0, setTimer: timer.setTimer });
  const ci = client({ concurrency: 2 });
  assert.equal(await state.enter(ci), undefined);
  assert.equal(await state.enter(ci), undefined);
  const order: string[] = [];
  const third = state.enter(ci).then((r) => order.push(`third:${r?.reason ?? "ok"}`));
  const fourth = state.enter(ci).then((r) => order.push(`fourth:${r?.reason ?? "ok"}`));
  const fifth = await state.enter(ci);
  assert.equal(fifth?.reason, "concurrency", "the queue holds as many as the limit");
  state.leave(ci);
  await third;
  assert.deepEqual(order, ["third:ok"]);
  timer.fire();
  await fourth;
  assert.deepEqual(order, ["third:ok", "fourth:concurrency"], "the wait is bounded");
  assert.equal(timer.pending.size, 0);
});

Deno.test("concurrency: a waiter whose client left gives up its place", async () => {
  const timer = manualTimer();
  const state = new AdmitState({ now: () => 0, setTimer: timer.setTimer });
  const ci = client({ concurrency: 1 });
  await state.enter(ci);
  const gone = new AbortController();
  const waiting = state.enter(ci, () => gone.signal);
  assert.equal(state.waiting, 1);
  gone.abort();
  assert.equal((await waiting)?.reason, "concurrency");
  assert.equal(state.waiting, 0);
  const next = state.enter(ci);
  state.leave(ci);
  assert.equal(await next, undefined, "the place went to the next waiter");
  assert.equal(timer.pending.size, 0);
});
