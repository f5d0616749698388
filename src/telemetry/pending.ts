/**
 * Counter increments kept off prom-client's hot path: each `inc` there validates the labels and
 * hashes them into a key, several times per request. Here a request adds to a plain map under a
 * key its caller joins from the label values, and the sums reach prom-client when it collects
 * (at a scrape). The map holds one slot per label set, as prom-client does: no more memory.
 */
import type { Counter, Histogram } from "prom-client";

type Labels<L extends string> = Record<L, string>;

/** Pending increments of one counter, by label set. */
export class PendingCounts<L extends string> {
  readonly #slots = new Map<string, { readonly labels: Labels<L>; value: number }>();

  /** Adds `value` to the series `labels`, whose values joined make `key`. */
  add(key: string, labels: Labels<L>, value = 1): void {
    const slot = this.#slots.get(key);
    if (slot) slot.value += value;
    else this.#slots.set(key, { labels, value });
  }

  /** Hands the sums to `counter` (from its `collect`), so a scrape sees every increment. */
  flushInto(counter: Counter<L>): void {
    for (const slot of this.#slots.values()) {
      if (slot.value === 0) continue;
      counter.inc(slot.labels, slot.value);
      slot.value = 0;
    }
  }
}

/** A histogram's label children, bound once per label set (no closure per observation). */
export class BoundHistogram<L extends string> {
  readonly #children = new Map<string, { observe(value: number): void }>();

  constructor(private readonly histogram: Histogram<L>) {}

  /** Observes `value` in the series `labels`, whose values joined make `key`. */
  observe(key: string, labels: Labels<L>, value: number): void {
    let child = this.#children.get(key);
    if (child === undefined) this.#children.set(key, child = this.histogram.labels(labels));
    child.observe(value);
  }
}
