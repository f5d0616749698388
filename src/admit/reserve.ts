/**
 * Reserve by priority (DESIGN §11), the pool's circuit breaker, as a pure decision: when a
 * rate-limit resource's remaining capacity falls below a priority's floor, that priority's new
 * upstream calls stop, so the clients that matter most find quota left.
 */
import type { Priority, Reserve } from "../registry/model.ts";

/** The pool's capacity for one resource, summed over its usable credentials. */
export interface Capacity {
  readonly limit: number;
  readonly remaining: number;
  readonly resetAtMs: number;
}

/** Refused: which rule, and the floor (in points) the capacity fell below. */
export interface ReserveRefusal {
  readonly rule: "reserve.low" | "reserve.normal";
  readonly percent: number;
  readonly floor: number;
}

/**
 * Whether a `priority` client may start a new upstream call on a resource with `capacity` left:
 * undefined when it may (always for `high`, and while the pool has not learnt its capacity).
 */
export function reserveRefusal(
  priority: Priority,
  reserve: Reserve,
  capacity: Capacity | undefined,
): ReserveRefusal | undefined {
  if (priority === "high" || capacity === undefined) return undefined;
  const percent = reserve[priority];
  const floor = (capacity.limit * percent) / 100;
  if (capacity.remaining >= floor) return undefined;
  return { rule: `reserve.${priority}`, percent, floor: Math.ceil(floor) };
}
