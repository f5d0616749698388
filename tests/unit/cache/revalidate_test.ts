import assert from "node:assert/strict";
import { DEFAULT_GUARD, GuardedBackend } from "../../../src/cache/backends/guard.ts";
import { MemoryBackend } from "../../../src/cache/backends/memory.ts";
import { bodyDigest, type CacheEntry } from "../../../src/cache/entry.ts";
import { type FillCoordinator, Revalidator } from "../../../src/cache/revalidate.ts";
import type { Transport } from "../../../src/http/upstream.ts";
import { createLogger } from "../../../src/log.ts";

Deno.test("revalidate: a key another replica stored between this replica's miss and its claim is not fetched again", async () => {
  const backend = new GuardedBackend(new MemoryBackend({ maxEntries: 10, maxBytes: 1 << 20 }), {
    ...DEFAULT_GUARD,
    logger: createLogger("error", "json", () => {}),
  });
  const body = new TextEncoder().encode('{"name":"r0"}');
  const theirs: CacheEntry = {
    status: 200,
    headers: [["content-type", "application/json"]],
    body,
    digest: bodyDigest(body),
    etag: 'W/"theirs"',
    credential: "B",
    storedAt: 0,
    validatedAt: 0,
  };
  // The other replica fetched, stored and released just before this replica's claim.
  const fills: FillCoordinator = {
    claim: async (key) => {
      await backend.set(key, theirs, 60);
      return true;
    },
    release: () => {},
  };
  let sent = 0;
  const transport: Transport = () => {
    sent++;
    return Promise.resolve({ response: new Response("{}"), credential: "A", ms: 1, points: 1 });
  };
  const revalidator = new Revalidator({
    backend,
    transport,
    ttlSeconds: 60,
    upstreamTimeoutMs: 1000,
    fills,
  });
  const { outcome } = await revalidator.revalidate("k", undefined, true, {
    method: "GET",
    url: "https://api.github.com/repos/o/r0",
    headers: new Headers(),
    body: null,
    replayable: true,
    resource: "core",
    client: "ci",
  });
  assert.equal(sent, 0, "GitHub was asked for a key already stored");
  assert.equal(outcome.kind, "entry");
  assert.deepEqual(outcome.kind === "entry" && outcome.entry.body, body);
  assert.equal(outcome.upstream.points, 0);
});
