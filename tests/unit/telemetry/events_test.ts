import assert from "node:assert/strict";
import { cacheResultOf } from "../../../src/telemetry/events.ts";

Deno.test("the cache result is read from Cache-Status", () => {
  const table: [string | null, string][] = [
    [null, "bypass"],
    ["github-proxy; fwd=bypass", "bypass"],
    ["github-proxy; hit; ttl=12", "hit"],
    ["github-proxy; fwd=stale; fwd-status=304", "revalidated"],
    ["github-proxy; fwd=uri-miss; stored", "miss"],
    ["github-proxy; fwd=stale; fwd-status=200; stored", "miss"],
    ["github-proxy; fwd=uri-miss; collapsed", "coalesced"],
  ];
  for (const [header, result] of table) assert.equal(cacheResultOf(header), result, String(header));
});
