import assert from "node:assert/strict";
import { createLogger, prettyValue } from "../../src/log.ts";

Deno.test("pretty lines leave out undefined, null and empty fields", () => {
  const lines: string[] = [];
  const logger = createLogger("info", "pretty", (line) => lines.push(line));
  logger.info("request", {
    client: "ci",
    credential: undefined,
    owner: null,
    user_agent: "",
    status: 200,
    points: 0,
  });
  assert.equal(lines.length, 1);
  assert.match(lines[0], / INFO {2}request client=ci status=200 points=0$/);
  assert.ok(!/undefined|null|=( |$)/.test(lines[0]), lines[0]);
});

Deno.test("pretty values: plain words as they are, anything else quoted on one line", () => {
  const cases: [unknown, string][] = [
    ["ci", "ci"],
    ["/repos/acme/app?page=", '"/repos/acme/app?page="'],
    ["Mozilla/5.0 (X11)", '"Mozilla/5.0 (X11)"'],
    ["two\nlines", '"two\\nlines"'],
    [42, "42"],
    [["a", "b"], '["a","b"]'],
  ];
  for (const [value, expected] of cases) assert.equal(prettyValue(value), expected, String(value));
});

Deno.test("json lines leave undefined fields out", () => {
  const lines: string[] = [];
  createLogger("info", "json", (line) => lines.push(line)).info("request", { a: undefined, b: 1 });
  const line = JSON.parse(lines[0]);
  assert.equal("a" in line, false);
  assert.equal(line.b, 1);
});
