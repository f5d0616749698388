import assert from "node:assert/strict";
import { withDeadline } from "../../src/deadline.ts";
import { arrivedAnswer, stall } from "../support/stall.ts";

Deno.test("deadline: an answer that arrived while the process was stalled beats the deadline that fell due meanwhile", async () => {
  await using answer = await arrivedAnswer();
  await answer.send();
  const result = withDeadline(answer.read("answered"), 20, () => new Error("overdue"));
  stall(100);
  assert.equal(await result, "answered");
});

Deno.test("deadline: work that does not answer is overdue after the bound", async () => {
  const never = new Promise<string>(() => {});
  const started = performance.now();
  await assert.rejects(withDeadline(never, 30, () => new Error("overdue")), /overdue/);
  assert.ok(performance.now() - started >= 29);
});

Deno.test("deadline: a failure of the work is its own, not a timeout", async () => {
  await assert.rejects(
    withDeadline(Promise.reject(new Error("refused")), 1000, () => new Error("overdue")),
    /refused/,
  );
});
