import assert from "node:assert/strict";
import { createLogger } from "../../../src/log.ts";
import { GuardedStore } from "../../../src/state/guarded.ts";
import { LocalStore } from "../../../src/state/local.ts";
import { JOURNAL_MS, SharedStaleMarks } from "../../../src/state/stale_marks.ts";
import type { StateStore } from "../../../src/state/store.ts";
import { SETTLE_MS } from "../../../src/webhooks/stale_marks.ts";
import { repositoryScope } from "../../../src/webhooks/stale_resource.ts";
import { ManualClock } from "../../support/clock.ts";
import { STATE_STORES, switchable } from "../../support/state_stores.ts";

const guarded = (store: StateStore) =>
  new GuardedStore(store, {
    readTimeoutMs: 500,
    writeTimeoutMs: 1000,
    logger: createLogger("error", "json", () => {}),
  });

/** A replica's marks on `store`, exchanging only when the test says (`sync`). */
const replica = (store: StateStore, name: string, clock: ManualClock, maxMarks?: number) =>
  SharedStaleMarks.open(guarded(store), {
    replica: name,
    ttlMs: 3_600_000,
    now: clock.now,
    intervalMs: 3_600_000,
    maxMarks,
  });

const push = [{ scope: repositoryScope("octo/repo"), pattern: "commits*" }];
const COMMITS = "/repos/octo/repo/commits";

for (const [name, available, open] of STATE_STORES) {
  Deno.test({
    name:
      `${name}: a mark made on one replica is honoured by another after one exchange, with the 2-second rule`,
    ignore: !available,
    async fn() {
      const { store, close } = await open();
      const clock = new ManualClock();
      const a = await replica(store, "a", clock);
      const b = await replica(store, "b", clock);
      try {
        const validated = clock.now() - 10_000;
        clock.advance(1000);
        const eventAt = clock.now();
        a.mark(push, eventAt);
        assert.equal(a.isStale(COMMITS, validated), true);
        assert.equal(b.isStale(COMMITS, validated), false, "not before B reads the journal");
        await a.sync();
        await b.sync();
        assert.equal(b.isStale(COMMITS, validated), true);
        assert.equal(b.isStale("/repos/octo/repo/issues", validated), false);
        assert.equal(b.isStale("/repos/octo/other/commits", validated), false);
        // A revalidation under 2 s after the event does not clear it; one 2 s after does.
        assert.equal(b.isStale(COMMITS, eventAt + SETTLE_MS - 1), true);
        assert.equal(b.isStale(COMMITS, eventAt + SETTLE_MS), false);
      } finally {
        await a.stop();
        await b.stop();
        await close();
      }
    },
  });

  Deno.test({
    name:
      `${name}: a replica that starts later takes in the journal's marks and distrusts entries older than it`,
    ignore: !available,
    async fn() {
      const { store, close } = await open();
      const clock = new ManualClock();
      const a = await replica(store, "a", clock);
      const startedAt = clock.now();
      a.mark(push, startedAt);
      await a.sync();
      clock.advance(10_000);
      const b = await replica(store, "b", clock);
      try {
        assert.equal(b.isStale(COMMITS, startedAt + 1000), true, "the journal's mark");
        assert.equal(b.isStale("/repos/octo/repo/issues", startedAt + 1000), false);
        // Marks older than the journal may be gone: an entry validated before it is not trusted.
        assert.equal(b.isStale("/user", clock.now() - JOURNAL_MS - 10_000), true);
        assert.equal(b.isStale("/user", clock.now() - JOURNAL_MS / 2), false);
      } finally {
        await a.stop();
        await b.stop();
        await close();
      }
    },
  });
}

Deno.test("stale marks: the cache's question never reaches the store", async () => {
  const clock = new ManualClock();
  const counted = switchable(new LocalStore(clock.now));
  const marks = await replica(counted.store, "a", clock);
  try {
    marks.mark(push, clock.now());
    await marks.sync();
    const before = counted.calls;
    for (let i = 0; i < 1000; i++) marks.isStale(COMMITS, clock.now() - 10_000);
    assert.equal(counted.calls, before);
  } finally {
    await marks.stop();
  }
});

Deno.test("stale marks: while the store fails each replica keeps its own; the queue is written when it is back", async () => {
  const clock = new ManualClock();
  const store = new LocalStore(clock.now);
  const toA = switchable(store);
  const a = await replica(toA.store, "a", clock);
  const b = await replica(store, "b", clock);
  try {
    toA.down = true;
    const validated = clock.now() - 10_000;
    a.mark(push, clock.now());
    await a.sync();
    await b.sync();
    assert.equal(a.isStale(COMMITS, validated), true);
    assert.equal(b.isStale(COMMITS, validated), false);
    toA.down = false;
    clock.advance(5_000);
    await a.sync();
    await b.sync();
    assert.equal(b.isStale(COMMITS, validated), true);
  } finally {
    await a.stop();
    await b.stop();
  }
});

Deno.test("stale marks: marks the bounded queue drops reach the others as a watermark", async () => {
  const clock = new ManualClock();
  const store = new LocalStore(clock.now);
  const toA = switchable(store);
  const a = await replica(toA.store, "a", clock, 2);
  const b = await replica(store, "b", clock);
  try {
    toA.down = true;
    const scope = repositoryScope("octo/repo");
    const first = clock.now();
    a.mark([{ scope, pattern: "releases*" }], first);
    clock.advance(1000);
    a.mark([{ scope, pattern: "issues*" }], clock.now());
    clock.advance(1000);
    const last = clock.now();
    a.mark([{ scope, pattern: "pulls" }], last);
    toA.down = false;
    await a.sync();
    await b.sync();
    assert.equal(b.isStale("/repos/octo/repo/pulls", last + 1000), true);
    // The dropped `releases*` mark: everything validated before it settled is distrusted.
    assert.equal(b.isStale("/user", first + SETTLE_MS - 1), true);
    assert.equal(b.isStale("/user", first + SETTLE_MS), false);
  } finally {
    await a.stop();
    await b.stop();
  }
});
