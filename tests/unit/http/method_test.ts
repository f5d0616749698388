import assert from "node:assert/strict";
import { methodLabel, shownMethod } from "../../../src/http/method.ts";

Deno.test("method labels come from a fixed set; shown methods are cut", () => {
  const labels: [string, string][] = [
    ["GET", "GET"],
    ["get", "GET"],
    ["Options", "OPTIONS"],
    ["DELETE", "DELETE"],
    ["PROPFIND", "other"],
    ["M1X", "other"],
    [`GET${"T".repeat(60_000)}`, "other"],
  ];
  for (const [method, label] of labels) {
    assert.equal(methodLabel(method), label, method.slice(0, 9));
  }
  assert.equal(shownMethod("DELETE"), "DELETE");
  assert.equal(shownMethod("A".repeat(17)), `${"A".repeat(16)}…`);
});
