/**
 * Quota bookkeeping and credential choice (DESIGN §8), as pure functions over plain records so
 * the decisions are testable as tables. The pool owns the records and mutates them.
 */

/** One credential's standing for one rate-limit resource. */
export interface Quota {
  /** Last seen quota; undefined until GitHub has answered this credential for the resource. */
  view: { limit: number; remaining: number; resetAtMs: number } | undefined;
  /** Resting after a limit answer until then (epoch ms, gateway clock); 0 when not parked. */
  parkedUntilMs: number;
  /** Requests sent with this credential for this resource and not answered yet. */
  inFlight: number;
}

export function newQuota(): Quota {
  return { view: undefined, parkedUntilMs: 0, inFlight: 0 };
}

/**
 * Calls the credential has left now: the last view, refilled once its reset has passed (plus
 * `paddingMs` when it was spent). Unknown quotas count as unlimited, so every credential gets
 * tried once and its real quota learnt.
 */
export function remainingNow(quota: Quota, nowMs: number, paddingMs: number): number {
  const view = quota.view;
  if (view === undefined) return Infinity;
  const refillAt = view.resetAtMs + (view.remaining > 0 ? 0 : paddingMs);
  return nowMs >= refillAt ? view.limit : view.remaining;
}

/** When the credential may serve the resource again; at or before `nowMs` means now. */
export function availableAtMs(quota: Quota, nowMs: number, paddingMs: number): number {
  const spent = quota.view !== undefined && remainingNow(quota, nowMs, paddingMs) <= 0;
  return Math.max(quota.parkedUntilMs, spent ? quota.view!.resetAtMs + paddingMs : 0, 0);
}

/**
 * What a new request can count on: remaining quota minus requests in flight. An unknown quota
 * is explored by one request at a time; until it answers, others prefer known quotas.
 */
export function score(quota: Quota, nowMs: number, paddingMs: number): number {
  const remaining = remainingNow(quota, nowMs, paddingMs);
  return remaining === Infinity && quota.inFlight > 0
    ? -quota.inFlight
    : remaining - quota.inFlight;
}

export interface Candidate {
  readonly name: string;
  readonly available: boolean;
  /** See `score`. */
  readonly score: number;
}

/**
 * The preferred credential when it is available; else the available one with the highest score,
 * ties broken round-robin from `cursor` (an ever-increasing pick counter).
 */
export function choose(
  candidates: readonly Candidate[],
  preferred: string | undefined,
  cursor: number,
): string | undefined {
  const available = candidates.filter((candidate) => candidate.available);
  if (preferred !== undefined && available.some((candidate) => candidate.name === preferred)) {
    return preferred;
  }
  const n = candidates.length;
  let best: { name: string; score: number; distance: number } | undefined;
  candidates.forEach((candidate, index) => {
    if (!candidate.available) return;
    const distance = (((index - cursor) % n) + n) % n;
    if (
      best === undefined || candidate.score > best.score ||
      (candidate.score === best.score && distance < best.distance)
    ) {
      best = { name: candidate.name, score: candidate.score, distance };
    }
  });
  return best?.name;
}

/** What clients are told about a resource: the pool's capacity, not one credential's. */
export interface PoolTotals {
  readonly limit: number;
  readonly remaining: number;
  readonly resetAtMs: number;
}

/**
 * Sums over the usable credentials with a known quota, earliest reset first; when none is
 * usable, remaining 0 and the moment the first one will be. Undefined while nothing is known.
 */
export function poolTotals(
  quotas: readonly Quota[],
  nowMs: number,
  paddingMs: number,
): PoolTotals | undefined {
  const known = quotas.filter((quota) => quota.view !== undefined);
  if (known.length === 0) return undefined;
  const usable = known.filter((quota) => availableAtMs(quota, nowMs, paddingMs) <= nowMs);
  if (usable.length === 0) {
    return {
      limit: sum(known.map((quota) => quota.view!.limit)),
      remaining: 0,
      resetAtMs: Math.min(...known.map((quota) => availableAtMs(quota, nowMs, paddingMs))),
    };
  }
  return {
    limit: sum(usable.map((quota) => quota.view!.limit)),
    remaining: sum(usable.map((quota) => remainingNow(quota, nowMs, paddingMs))),
    resetAtMs: Math.min(...usable.map((quota) => Math.max(quota.view!.resetAtMs, nowMs))),
  };
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
