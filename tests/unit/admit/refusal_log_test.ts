import assert from "node:assert/strict";
import { refusalLogger } from "../../../src/admit/refusal_log.ts";
import { createLogger } from "../../../src/log.ts";

Deno.test("refusal log: one line per client and reason a second, the next says how many it stood for", () => {
  let now = 0;
  const lines: string[] = [];
  const log = refusalLogger(createLogger("info", "json", (line) => lines.push(line)), () => now);
  const refusal = {
    client: "cop",
    reason: "budget" as const,
    rule: "limits.points_per_hour",
    method: "GET",
    path: "/repos/acme/app",
    retryAfterSeconds: 3,
  };
  for (let i = 0; i < 50; i++) log(refusal);
  log({ ...refusal, reason: "rate", rule: "limits.requests_per_minute" });
  now = 1000;
  log(refusal);
  const parsed = lines.map((line) => JSON.parse(line));
  assert.equal(parsed.length, 3);
  assert.deepEqual(parsed.map((l) => [l.reason, l.also_refused]), [
    ["budget", undefined],
    ["rate", undefined],
    ["budget", 49],
  ]);
  assert.equal(parsed[0].msg, "request refused by admit");
  assert.equal(parsed[0].rule, "limits.points_per_hour");
});
