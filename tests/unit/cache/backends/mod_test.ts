import assert from "node:assert/strict";
import type { CacheBackend } from "../../../../src/cache/backends/backend.ts";
import { DenoKvBackend, kvLocation } from "../../../../src/cache/backends/denokv.ts";
import {
  bodyDigest,
  type Bytes,
  type CacheEntry,
  decodeContent,
  encodeContent,
  EntryFormatError,
} from "../../../../src/cache/entry.ts";
import { MemoryBackend, parseMemoryLimits } from "../../../../src/cache/backends/memory.ts";
import { upstashRestUrl } from "../../../../src/cache/backends/upstash.ts";
import { NEAR_LIMITS, NearCache, withNearCache } from "../../../../src/cache/backends/near.ts";
import { backendRequirements, openBackend } from "../../../../src/cache/backends/mod.ts";
import { REDIS_MISSING, redisAvailable, startRedis } from "../../../support/redis.ts";
import { UpstashServer } from "../../../support/upstash_server.ts";

const hasRedis = await redisAvailable();
if (!hasRedis) console.warn(REDIS_MISSING);

function entry(body: Bytes, overrides: Partial<CacheEntry> = {}): CacheEntry {
  return {
    status: 200,
    headers: [["content-type", "application/json"], ["link", '<https://x/?page=2>; rel="next"']],
    body,
    lastModified: "Mon, 01 Jan 2024 00:00:00 GMT",
    digest: bodyDigest(body),
    etag: 'W/"upstream"',
    credential: "ONE",
    storedAt: 1_000,
    validatedAt: 2_000,
    ...overrides,
  };
}

function randomBytes(length: number): Bytes {
  const out = new Uint8Array(length);
  for (let at = 0; at < length; at += 65536) {
    crypto.getRandomValues(out.subarray(at, Math.min(length, at + 65536)));
  }
  return out;
}

const json = (value: unknown): Bytes => new TextEncoder().encode(JSON.stringify(value));

type Opened = { backend: CacheBackend; close(): Promise<void> };
const backends: [string, boolean, () => Promise<Opened>][] = [
  ["memory", true, () => {
    const backend = new MemoryBackend({ maxEntries: 100, maxBytes: 64 << 20 });
    return Promise.resolve({ backend, close: () => backend.close() });
  }],
  ["denokv", true, async () => {
    const dir = await Deno.makeTempDir();
    const backend = await openBackend(`denokv://${dir}/cache.kv`, { stateDirectory: dir });
    return {
      backend,
      async close() {
        await backend.close();
        await Deno.remove(dir, { recursive: true });
      },
    };
  }],
  ["upstash", hasRedis, async () => {
    const redis = await startRedis();
    const server = await UpstashServer.start(redis.port, "t");
    const backend = await openBackend(server.backendUrl, {
      stateDirectory: "",
      upstashToken: "t",
    });
    return {
      backend,
      async close() {
        await backend.close();
        await server.close();
        await redis.close();
      },
    };
  }],
  ["redis", hasRedis, async () => {
    const redis = await startRedis();
    const backend = await openBackend(`redis://127.0.0.1:${redis.port}/3`, { stateDirectory: "" });
    return {
      backend,
      async close() {
        await backend.close();
        await redis.close();
      },
    };
  }],
];

for (const [name, available, open] of backends) {
  Deno.test({
    name: `${name}: set, get, touch and delete keep entries whole`,
    ignore: !available,
    async fn() {
      const { backend, close } = await open();
      try {
        assert.equal(await backend.get("absent"), undefined);
        const small = entry(json({ hello: "world" }));
        await backend.set("small", small, 60);
        assert.deepEqual(await backend.get("small"), small);

        const touched = { ...small, credential: "TWO", etag: 'W/"other"', validatedAt: 9_000 };
        await backend.touch("small", touched, 60);
        assert.deepEqual(await backend.get("small"), touched);

        const replaced = entry(json({ hello: "again" }));
        await backend.set("small", replaced, 60);
        assert.deepEqual(await backend.get("small"), replaced);

        const { etag: _etag, lastModified: _lastModified, ...noValidators } = entry(
          new Uint8Array(),
          { headers: [] },
        );
        await backend.set("empty", noValidators, 60);
        assert.deepEqual(await backend.get("empty"), noValidators);

        await backend.delete("small");
        assert.equal(await backend.get("small"), undefined);
        await backend.ping();
      } finally {
        await close();
      }
    },
  });

  Deno.test({
    name: `${name}: a 2 MB incompressible body round-trips`,
    ignore: !available,
    async fn() {
      const { backend, close } = await open();
      try {
        const big = entry(randomBytes(2 * 1024 * 1024));
        await backend.set("big", big, 60);
        const read = await backend.get("big");
        assert.ok(read);
        assert.equal(read.body.length, big.body.length);
        assert.equal(bodyDigest(read.body), big.digest);
        const touched = { ...big, validatedAt: 5_000 };
        await backend.touch("big", touched, 60);
        assert.equal((await backend.get("big"))?.validatedAt, 5_000);
      } finally {
        await close();
      }
    },
  });
}

Deno.test("entry codec: round trip, compression only when it pays, truncation detected", () => {
  const text = json({ items: Array.from({ length: 200 }, (_, i) => ({ id: i, title: "same" })) });
  const compressible = entry(text);
  const encoded = encodeContent(compressible);
  assert.ok(encoded.length < text.length / 3);
  assert.deepEqual(decodeContent(encoded).body, text);
  const noise = entry(randomBytes(4096));
  assert.ok(encodeContent(noise).length < 4096 + 512);
  assert.deepEqual(decodeContent(encodeContent(noise)).body, noise.body);
  assert.throws(() => decodeContent(encoded.subarray(0, encoded.length - 10)));
  assert.throws(() => decodeContent(new Uint8Array([9, 0, 0, 0, 0, 0])), EntryFormatError);
});

Deno.test("memory: least recently used entries go first, by count and by bytes", async () => {
  const memory = new MemoryBackend({ maxEntries: 2, maxBytes: 10_000 });
  await memory.set("a", entry(json("a")), 60);
  await memory.set("b", entry(json("b")), 60);
  await memory.get("a");
  await memory.set("c", entry(json("c")), 60);
  assert.equal(memory.size, 2);
  assert.ok(await memory.get("a"));
  assert.equal(await memory.get("b"), undefined);
  await memory.set("huge", entry(new Uint8Array(9_000)), 60);
  assert.equal(memory.size, 1);
  assert.ok(memory.bytes <= 10_000);
  await memory.set("too-big", entry(new Uint8Array(20_000)), 60);
  assert.equal(await memory.get("too-big"), undefined);
  assert.ok(memory.bytes <= 10_000);
});

Deno.test("memory and denokv: entries expire after their TTL", async () => {
  let now = 1_000_000;
  const clock = () => now;
  const kv = await Deno.openKv(":memory:");
  for (
    const backend of [
      new MemoryBackend({ maxEntries: 10, maxBytes: 1 << 20 }, clock),
      new DenoKvBackend(kv, clock),
    ]
  ) {
    await backend.set("k", entry(json("x")), 60);
    now += 59_000;
    assert.ok(await backend.get("k"), backend.kind);
    await backend.touch("k", entry(json("x"), { validatedAt: now }), 60);
    now += 59_000;
    assert.ok(await backend.get("k"), `${backend.kind} after touch`);
    now += 2_000;
    assert.equal(await backend.get("k"), undefined, backend.kind);
  }
  kv.close();
});

Deno.test("denokv: a reader never sees half an entry while large entries are replaced", async () => {
  const kv = await Deno.openKv(":memory:");
  const backend = new DenoKvBackend(kv);
  const versions = [entry(randomBytes(900_000)), entry(randomBytes(700_000))];
  const digests = new Set(versions.map((v) => v.digest));
  let writing = true;
  const writer = (async () => {
    for (let i = 0; i < 6; i++) await backend.set("hot", versions[i % 2], 60);
    writing = false;
  })();
  let reads = 0;
  while (writing) {
    const read = await backend.get("hot");
    if (read) {
      assert.ok(digests.has(read.digest));
      assert.equal(bodyDigest(read.body), read.digest);
      reads++;
    }
  }
  await writer;
  assert.ok(reads > 0);
  const chunkVersions = new Set<unknown>();
  for await (const item of kv.list({ prefix: ["github-proxy-cache", "c", "hot"] })) {
    chunkVersions.add(item.key[3]);
  }
  assert.equal(chunkVersions.size, 1, "replaced versions' chunks are deleted");
  kv.close();
});

Deno.test("backend URLs: locations, limits and errors", async () => {
  assert.equal(kvLocation("denokv://", "/var/lib/gp"), "/var/lib/gp/cache.kv");
  assert.equal(kvLocation("denokv://", "/var/lib/gp/"), "/var/lib/gp/cache.kv");
  assert.equal(kvLocation("denokv:///data/c.kv", "/x"), "/data/c.kv");
  assert.equal(
    kvLocation("denokv+https://api.deno.com/databases/abc/connect", "/x"),
    "https://api.deno.com/databases/abc/connect",
  );
  const directory = (url: string) => {
    const { directories } = backendRequirements(url, "/var/lib/gp");
    assert.ok(directories.length <= 1, url);
    return directories[0];
  };
  assert.equal(directory("denokv://"), "/var/lib/gp");
  assert.equal(directory("denokv:///data/cache.kv"), "/data");
  assert.equal(directory("denokv+https://kv.example/connect"), undefined);
  assert.equal(directory("memory://"), undefined);
  const servers = (url: string) => backendRequirements(url, "/x").servers;
  assert.deepEqual(servers("denokv+https://kv.example/connect"), ["https://kv.example/connect"]);
  assert.deepEqual(servers("upstash+http://127.0.0.1:8079/"), ["http://127.0.0.1:8079"]);
  assert.deepEqual(servers("upstash://"), [], "no host: openBackend says so at start-up");
  assert.deepEqual(servers("denokv://"), []);
  assert.deepEqual(backendRequirements("constructor://x", "/x"), { servers: [], directories: [] });
  assert.equal(upstashRestUrl("upstash://eu1-x.upstash.io"), "https://eu1-x.upstash.io");
  assert.equal(upstashRestUrl("upstash+http://127.0.0.1:8079/"), "http://127.0.0.1:8079");
  assert.deepEqual(parseMemoryLimits("memory://"), {
    maxEntries: 10_000,
    maxBytes: 128 * 1024 * 1024,
  });
  assert.deepEqual(parseMemoryLimits("inmemory://?max_entries=5&max_bytes=1000"), {
    maxEntries: 5,
    maxBytes: 1000,
  });
  assert.throws(() => parseMemoryLimits("memory://?max_entries=0"), /max_entries=0/);
  assert.throws(() => parseMemoryLimits("memory://?size=1"), /size=1/);
  await assert.rejects(
    () => openBackend("denokv+https://kv.example/connect", { stateDirectory: "/x" }),
    /DENO_KV_ACCESS_TOKEN is required/,
  );
  assert.throws(
    () => openBackend("s3://bucket", { stateDirectory: "/x" }),
    /unknown scheme "s3:\/\/"/,
  );
});

/** A shared backend (memory on `clock`) that counts its reads, behind a 10 s near cache. */
function countedNearCache(clock: () => number) {
  const shared = new MemoryBackend({ maxEntries: 10, maxBytes: 1 << 20 }, clock);
  const reads = { count: 0 };
  const counting: CacheBackend = {
    ...shared,
    kind: "counting",
    get: (key) => {
      reads.count++;
      return shared.get(key);
    },
    set: (key, value, ttl) => shared.set(key, value, ttl),
    touch: (key, value, ttl) => shared.touch(key, value, ttl),
    delete: (key) => shared.delete(key),
    ping: () => shared.ping(),
    close: () => shared.close(),
  };
  const near = new NearCache(counting, new MemoryBackend(NEAR_LIMITS, clock), 10, clock);
  return { shared, counting, near, reads };
}

Deno.test("near cache: warm reads skip the shared backend; its updates show after the near TTL", async () => {
  let now = 1_000_000;
  const clock = () => now;
  const { shared, counting, near, reads } = countedNearCache(clock);
  const first = entry(json("first"));
  await shared.set("k", first, 3600);
  assert.equal((await near.get("k"))?.digest, first.digest);
  assert.equal((await near.get("k"))?.digest, first.digest);
  assert.equal(reads.count, 1);
  const second = entry(json("second"));
  await shared.set("k", second, 3600);
  assert.equal((await near.get("k"))?.digest, first.digest);
  now += 11_000;
  assert.equal((await near.get("k"))?.digest, second.digest);
  assert.equal(reads.count, 2);
  assert.equal(near.kind, "counting");
  assert.ok(withNearCache(shared) === shared);
  assert.ok(withNearCache(counting) instanceof NearCache);
});

Deno.test("near cache: past its near TTL, an entry validated within the client's accepted age answers without a shared read", async () => {
  let now = 1_000_000;
  const clock = () => now;
  const { shared, near, reads } = countedNearCache(clock);
  const first = entry(json("first"), { validatedAt: now });
  await near.set("k", first, 3600);
  // Another instance revalidated and stored a newer body meanwhile.
  await shared.set("k", entry(json("second"), { validatedAt: now + 20_000 }), 3600);
  now += 30_000;
  // The client accepts 60 s: the near entry, validated 30 s ago, is a valid answer.
  assert.equal((await near.get("k", 60_000))?.digest, first.digest);
  assert.equal(reads.count, 0);
  // A client accepting only 20 s (or a revalidating one) gets the shared tier's newer entry.
  assert.equal((await near.get("k", 20_000))?.validatedAt, 1_020_000);
  assert.equal(reads.count, 1);
  // What the shared read brought is current in the near tier for its near TTL.
  assert.equal((await near.get("k"))?.validatedAt, 1_020_000);
  assert.equal(reads.count, 1);
});
