import assert from "node:assert/strict";
import { Counter, Histogram, Registry } from "prom-client";
import { BoundHistogram, PendingCounts } from "../../../src/telemetry/pending.ts";

Deno.test("pending counts reach the counter at each scrape, every increment once", async () => {
  const registry = new Registry();
  const pending = new PendingCounts<"client">();
  new Counter({
    name: "t_requests_total",
    help: "t",
    labelNames: ["client"],
    registers: [registry],
    collect() {
      pending.flushInto(this);
    },
  });
  pending.add("ci", { client: "ci" });
  pending.add("ci", { client: "ci" }, 2);
  pending.add("bot", { client: "bot" });
  assert.match(await registry.metrics(), /t_requests_total\{client="ci"\} 3\n/);
  pending.add("ci", { client: "ci" });
  const text = await registry.metrics();
  assert.match(text, /t_requests_total\{client="ci"\} 4\n/);
  assert.match(text, /t_requests_total\{client="bot"\} 1\n/);
  assert.match(await registry.metrics(), /t_requests_total\{client="ci"\} 4\n/);
});

Deno.test("a bound histogram observes into its label set's series", async () => {
  const registry = new Registry();
  const histogram = new BoundHistogram(
    new Histogram({
      name: "t_seconds",
      help: "t",
      labelNames: ["cache"],
      buckets: [0.1, 1],
      registers: [registry],
    }),
  );
  histogram.observe("hit", { cache: "hit" }, 0.05);
  histogram.observe("hit", { cache: "hit" }, 0.5);
  histogram.observe("miss", { cache: "miss" }, 2);
  const text = await registry.metrics();
  assert.match(text, /t_seconds_bucket\{le="0.1",cache="hit"\} 1\n/);
  assert.match(text, /t_seconds_count\{cache="hit"\} 2\n/);
  assert.match(text, /t_seconds_bucket\{le="1",cache="miss"\} 0\n/);
  assert.match(text, /t_seconds_count\{cache="miss"\} 1\n/);
});
