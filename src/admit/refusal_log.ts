/**
 * One log line per refusal, bounded: a client refused in a loop writes at most one line per
 * client and reason a second, and the next line says how many it stood for.
 */
import type { Logger } from "../log.ts";
import type { RefusalReason } from "./state.ts";

const INTERVAL_MS = 1000;

export interface RefusalLine {
  readonly client: string;
  readonly reason: RefusalReason;
  readonly rule: string;
  readonly method: string;
  readonly path: string;
  readonly retryAfterSeconds: number;
}

/** A logger of refusals; `now` is injectable for tests. */
export function refusalLogger(
  logger: Logger,
  now: () => number = Date.now,
): (line: RefusalLine) => void {
  // Keyed by registry client name and a reason from a fixed set: bounded by the registry.
  const last = new Map<string, { atMs: number; suppressed: number }>();
  return (line) => {
    const key = `${line.client}\u0000${line.reason}`;
    const at = now();
    const seen = last.get(key);
    if (seen && at - seen.atMs < INTERVAL_MS) {
      seen.suppressed++;
      return;
    }
    last.set(key, { atMs: at, suppressed: 0 });
    logger.warn("request refused by admit", {
      client: line.client,
      reason: line.reason,
      rule: line.rule,
      method: line.method,
      path: line.path,
      retry_after: line.retryAfterSeconds,
      ...(seen && seen.suppressed > 0 ? { also_refused: seen.suppressed } : {}),
    });
  };
}
