/**
 * The telemetry a configuration asks for: Prometheus metrics (default), periodic usage
 * summaries in the log (`logging`), or nothing (`noop`). Usage for `GET /usage` is always kept.
 */
import type { TelemetryCollector } from "../config.ts";
import { fanout, type TelemetrySink } from "./events.ts";
import type { Logger } from "../log.ts";
import { createPrometheus, type GaugeSources, type PrometheusTelemetry } from "./prometheus.ts";
import { UsageTracker } from "./usage.ts";

export interface Telemetry {
  readonly sink: TelemetrySink;
  readonly usage: UsageTracker;
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
  if (collector === "prometheus") {
    const prometheus = createPrometheus(sources);
    return { sink: fanout([usage.sink, prometheus.sink]), usage, prometheus, close() {} };
  }
  if (collector === "logging") {
    const timer = setInterval(() => {
      logger.info("usage summary", {
        clients: usage.clients(),
        credentials: sources.quotas?.() ?? [],
      });
    }, summaryIntervalMs);
    return { sink: usage.sink, usage, close: () => clearInterval(timer) };
  }
  return { sink: usage.sink, usage, close() {} };
}
