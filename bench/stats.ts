/**
 * The bench's arithmetic, without I/O: percentiles, combining rounds, the ratios of DESIGN §10,
 * and the check of a run against `bench/baseline.json` (`deno task bench --check`).
 */

/** One load generator run against one row. */
export interface RoundResult {
  readonly requests: number;
  readonly elapsedMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Answers that were not 2xx/3xx, and requests that failed. */
  readonly errors: number;
}

/** A row's figures over all its rounds. */
export interface Measurement {
  readonly name: string;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
}

/** The `p` quantile (0–1) of ascending `sorted`, nearest rank; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil(sorted.length * p);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/**
 * A row over its rounds: throughput is all requests over all time; the percentiles are the
 * rounds' means (the load generator reports each round's percentiles, not its samples).
 */
export function combine(name: string, rounds: readonly RoundResult[]): Measurement {
  const sum = (pick: (round: RoundResult) => number) =>
    rounds.reduce((total, round) => total + pick(round), 0);
  const elapsedMs = sum((round) => round.elapsedMs);
  return {
    name,
    requestsPerSecond: elapsedMs > 0 ? sum((round) => round.requests) / (elapsedMs / 1000) : 0,
    p50Ms: sum((round) => round.p50Ms) / rounds.length,
    p99Ms: sum((round) => round.p99Ms) / rounds.length,
    errors: sum((round) => round.errors),
  };
}

/** A ratio of DESIGN §10: throughput of row `of` over row `over`, with its target if it has one. */
export interface RatioSpec {
  readonly of: string;
  readonly over: string;
  /** The target the ratio should reach (DESIGN §10), printed beside it; not enforced. */
  readonly target?: number;
}

export interface Ratio extends RatioSpec {
  readonly name: string;
  readonly value: number;
}

/** The ratios whose rows were both measured; a spec naming a skipped row is left out. */
export function ratios(
  specs: readonly RatioSpec[],
  measurements: readonly Measurement[],
): Ratio[] {
  const rate = new Map(measurements.map((m) => [m.name, m.requestsPerSecond]));
  return specs.flatMap((spec) => {
    const of = rate.get(spec.of);
    const over = rate.get(spec.over);
    if (of === undefined || over === undefined || over === 0) return [];
    return [{ ...spec, name: `${spec.of} / ${spec.over}`, value: of / over }];
  });
}

/** `bench/baseline.json`: ratios recorded on purpose from one run, with where and when. */
export interface Baseline {
  readonly machine: string;
  readonly date: string;
  readonly commit: string;
  readonly ratios: Readonly<Record<string, number>>;
}

/** A ratio may fall this fraction under its baseline before `--check` fails. */
export const TOLERANCE = 0.15;

/**
 * One line per regression: a ratio more than `TOLERANCE` under its baseline figure, or a
 * recorded ratio this run did not measure (a skipped row cannot vouch for itself).
 */
export function regressions(baseline: Baseline, measured: readonly Ratio[]): string[] {
  const now = new Map(measured.map((ratio) => [ratio.name, ratio.value]));
  return Object.entries(baseline.ratios).flatMap(([name, recorded]) => {
    const value = now.get(name);
    if (value === undefined) return [`${name}: not measured in this run (baseline ${recorded})`];
    const floor = recorded * (1 - TOLERANCE);
    return value < floor
      ? [`${name}: ${value.toFixed(2)} is under ${floor.toFixed(2)} (baseline ${recorded})`]
      : [];
  });
}
