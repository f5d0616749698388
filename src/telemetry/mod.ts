/**
 * The telemetry a configuration asks for: Prometheus metrics (default), periodic usage
 * summaries in the log (`logging`), or nothing (`noop`). Usage for `GET /usage` is always kept.
 */
import type { TelemetryCollector } from "../config.ts";
import { fanout, type TelemetrySink } from "./events.ts";
import type { Logger } from "../log.ts";
import { createPrometheus, type GaugeSources, type PrometheusTelemetry } from "./prometheus.ts";
import { UsageTracker } from "./usage.ts";
import { PointsHistory } from "./history.ts";

export interface Telemetry {
  readonly sink: TelemetrySink;
  readonly usage: UsageTracker;
  /** The last hour per minute, for the status page's chart and hit ratio. */
  readonly history: PointsHistory;
  /** Present when `/metrics` is served. */
  readonly prometheus?: PrometheusTelemetry;
  close(): void;
}

export const SUMMARY_INTERVAL_MS = 60_000;

export function createTelemetry(
  collector: TelemetryCollector,
  sources: GaugeSources,
  logger: Logger,
  summaryIntervalMs = SUMMARY_INTERVAL_MS,
): Telemetry {
  const usage = new UsageTracker();
  const history = new PointsHistory();
  const kept = [usage.sink, history.sink];
  if (collector === "prometheus") {
    const prometheus = createPrometheus(sources);
    return { sink: fanout([...kept, prometheus.sink]), usage, history, prometheus, close() {} };
  }
  if (collector === "logging") {
    const timer = setInterval(() => {
      logger.info("usage summary", {
        clients: usage.clients(),
        credentials: sources.quotas?.() ?? [],
      });
    }, summaryIntervalMs);
    return { sink: fanout(kept), usage, history, close: () => clearInterval(timer) };
  }
  return { sink: fanout(kept), usage, history, close() {} };
}
