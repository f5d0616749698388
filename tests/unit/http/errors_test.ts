/** `safeErrorSummary`: what a caught error may show in the log. */
import assert from "node:assert/strict";
import { safeErrorSummary } from "../../../src/http/errors.ts";

Deno.test("safeErrorSummary keeps the error's kind and first line only", () => {
  assert.equal(
    safeErrorSummary(new Error('ERR wrong type, command was: ["get","k"]')),
    "Error: ERR wrong type",
  );
  assert.equal(safeErrorSummary(new TypeError("a\nb")), "TypeError: a");
  assert.equal(safeErrorSummary("plain"), "plain");
});

Deno.test("safeErrorSummary gives an HTTP client's error as its status, never its message", () => {
  const error = Object.assign(new Error("Bad credentials: Bearer eyJsecret"), { status: 401 });
  assert.equal(safeErrorSummary(error), "answered HTTP 401");
  assert.equal(safeErrorSummary({ status: 503 }), "answered HTTP 503");
});
