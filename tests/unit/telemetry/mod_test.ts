import assert from "node:assert/strict";
import { createTelemetry } from "../../../src/telemetry/mod.ts";
import { createLogger } from "../../../src/log.ts";

Deno.test("the logging collector writes usage summaries instead of metrics", async () => {
  const lines: string[] = [];
  const summarised = Promise.withResolvers<void>();
  const telemetry = createTelemetry(
    "logging",
    { quotas: () => [] },
    createLogger("info", "json", (line) => {
      lines.push(line);
      if (JSON.parse(line).msg === "usage summary") summarised.resolve();
    }),
    20,
  );
  telemetry.sink.clientRequest({
    client: "ci",
    method: "GET",
    route: "/zen",
    status: 200,
    cache: "bypass",
    seconds: 0.01,
  });
  // The first summary is due after 20 ms; waiting for it, not for a guess at when it lands.
  await summarised.promise;
  telemetry.close();
  assert.equal(telemetry.prometheus, undefined);
  const summary = lines.map((l) => JSON.parse(l)).find((l) => l.msg === "usage summary");
  assert.ok(summary, "a summary was logged");
  assert.equal(summary.clients[0].client, "ci");
  assert.equal(summary.clients[0].lastHour.requests, 1);
});
