import assert from "node:assert/strict";
import { reserveRefusal } from "../../../src/admit/reserve.ts";
import type { Priority } from "../../../src/registry/model.ts";

Deno.test("reserve: low stops below reserve.low, normal below reserve.normal, high never", () => {
  const reserve = { low: 30, normal: 10 };
  const rows: [Priority, remaining: number, refusedBy: string | undefined][] = [
    ["low", 1000, undefined],
    ["low", 300, undefined],
    ["low", 299, "reserve.low"],
    ["normal", 299, undefined],
    ["normal", 100, undefined],
    ["normal", 99, "reserve.normal"],
    ["low", 99, "reserve.low"],
    ["high", 0, undefined],
    ["normal", 0, "reserve.normal"],
  ];
  for (const [priority, remaining, refusedBy] of rows) {
    const refusal = reserveRefusal(priority, reserve, { limit: 1000, remaining, resetAtMs: 0 });
    assert.equal(refusal?.rule, refusedBy, `${priority} with ${remaining} of 1000 left`);
  }
});

Deno.test("reserve: a pool whose capacity is not known yet refuses no one; 0 % refuses no one", () => {
  assert.equal(reserveRefusal("low", { low: 30, normal: 10 }, undefined), undefined);
  const dry = { limit: 1000, remaining: 0, resetAtMs: 0 };
  assert.equal(reserveRefusal("normal", { low: 30, normal: 0 }, dry), undefined);
  assert.deepEqual(reserveRefusal("low", { low: 30, normal: 0 }, dry), {
    rule: "reserve.low",
    percent: 30,
    floor: 300,
  });
});
