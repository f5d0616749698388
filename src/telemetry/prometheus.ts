/**
 * Prometheus metrics with bounded cardinality: clients and credentials by registry/variable
 * name, paths collapsed to GitHub route templates, statuses as numbers.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { TelemetrySink } from "./events.ts";
import { REFUSAL_REASONS } from "../admit/state.ts";

/** Quota of one credential for one rate-limit resource, as the pool sees it. */
export interface QuotaView {
  readonly credential: string;
  readonly resource: string;
  readonly limit: number;
  readonly remaining: number;
  /** Epoch seconds. */
  readonly reset: number;
  readonly parked: boolean;
  /** Refused by GitHub (a PAT's 401): out of the pool until restart. */
  readonly bad: boolean;
}

/** One owner (GitHub account) of the pool, named by its first credential. */
export interface OwnerCooldown {
  readonly owner: string;
  /** Seconds left of its secondary-limit cooldown; 0 when it is not cooling down. */
  readonly seconds: number;
}

/** A client's points budget now (`limits.points_per_hour`). */
export interface BudgetGaugeView {
  readonly client: string;
  readonly remaining: number;
}

/** Read at scrape time, so gauges are never stale. */
export interface GaugeSources {
  /** The registry's client names now: every refusal series exists for them from the start. */
  clients?(): readonly string[];
  budgets?(): readonly BudgetGaugeView[];
  quotas?(): readonly QuotaView[];
  cooldowns?(): readonly OwnerCooldown[];
  cachedTokens?(): number;
  cacheSize?(): { entries: number; bytes: number } | undefined;
  /** The cache backend's last call answered in time. */
  cacheBackendUp?(): boolean;
  /** The shared state across replicas (DESIGN §13). */
  sharedState?(): { kind: string; shared: boolean; healthy: boolean; failures: number };
}

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];

export interface PrometheusTelemetry {
  readonly sink: TelemetrySink;
  readonly contentType: string;
  metrics(): Promise<string>;
}

export function createPrometheus(sources: GaugeSources): PrometheusTelemetry {
  const registry = new Registry();
  const registers = [registry];
  const clientRequests = new Counter({
    name: "github_proxy_client_requests_total",
    help: "Requests from clients, by client, method, route template, status and cache result.",
    labelNames: ["client", "method", "route", "status", "cache"],
    registers,
  });
  const clientDuration = new Histogram({
    name: "github_proxy_client_request_duration_seconds",
    help: "Time from request to response headers, by client and cache result.",
    labelNames: ["client", "cache"],
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const upstreamRequests = new Counter({
    name: "github_proxy_upstream_requests_total",
    help: "Calls to GitHub, by credential, rate-limit resource and status.",
    labelNames: ["credential", "resource", "status"],
    registers,
  });
  const upstreamDuration = new Histogram({
    name: "github_proxy_upstream_request_duration_seconds",
    help: "Time GitHub took to answer with headers, by credential and resource.",
    labelNames: ["credential", "resource"],
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const clientPoints = new Counter({
    name: "github_proxy_client_points_spent_total",
    help: "Rate-limit points spent on behalf of each client, by resource (a 304 spends none).",
    labelNames: ["client", "resource"],
    registers,
  });
  const credentialPoints = new Counter({
    name: "github_proxy_credential_points_spent_total",
    help: "Rate-limit points spent from each credential, by resource.",
    labelNames: ["credential", "resource"],
    registers,
  });
  const pointsSaved = new Counter({
    name: "github_proxy_client_points_saved_total",
    help: "Rate-limit points the cache saved each client (hits, 304s, shared calls).",
    labelNames: ["client"],
    registers,
  });
  const quotaGauge = (name: string, help: string, value: (q: QuotaView) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ["credential", "resource"],
      registers,
      collect() {
        this.reset();
        for (const quota of sources.quotas?.() ?? []) {
          this.set({ credential: quota.credential, resource: quota.resource }, value(quota));
        }
      },
    });
  quotaGauge(
    "github_proxy_ratelimit_limit",
    "Rate limit per credential and resource.",
    (q) => q.limit,
  );
  quotaGauge(
    "github_proxy_ratelimit_remaining",
    "Points left per credential and resource, as GitHub last reported.",
    (q) => q.remaining,
  );
  quotaGauge(
    "github_proxy_ratelimit_reset_timestamp_seconds",
    "When the credential's quota for the resource resets (epoch seconds).",
    (q) => q.reset,
  );
  quotaGauge(
    "github_proxy_credential_parked",
    "1 while the credential is parked for the resource after a rate limit.",
    (q) => q.parked ? 1 : 0,
  );
  new Gauge({
    name: "github_proxy_owner_cooldown_seconds",
    help:
      "Seconds a GitHub account of the pool still cools down after a secondary rate limit (nothing is sent on it), by its first credential.",
    labelNames: ["owner"],
    registers,
    collect() {
      this.reset();
      for (const { owner, seconds } of sources.cooldowns?.() ?? []) this.set({ owner }, seconds);
    },
  });
  const refusals = new Counter({
    name: "github_proxy_client_refusals_total",
    help: "Requests admit refused, by client and reason (budget, reserve, rate, concurrency).",
    labelNames: ["client", "reason"],
    registers,
    collect() {
      for (const client of sources.clients?.() ?? []) {
        for (const reason of REFUSAL_REASONS) this.inc({ client, reason }, 0);
      }
    },
  });
  new Gauge({
    name: "github_proxy_client_budget_remaining",
    help:
      "Points left in each client's points_per_hour budget (below 0 after charged revalidations).",
    labelNames: ["client"],
    registers,
    collect() {
      this.reset();
      for (const budget of sources.budgets?.() ?? []) {
        this.set({ client: budget.client }, budget.remaining);
      }
    },
  });
  const tokenEvents = new Counter({
    name: "token_cache_events_total",
    help: "App installation token cache lookups (hit: reused, miss: minted).",
    labelNames: ["event"],
    registers,
  });
  const tokenRequests = new Counter({
    name: "token_cache_requests_total",
    help: "App installation token mints, by outcome.",
    labelNames: ["status"],
    registers,
  });
  const tokenEvictions = new Counter({
    name: "token_cache_evictions_total",
    help: "App installation tokens dropped (expired, renewed or refused by GitHub).",
    registers,
  });
  new Gauge({
    name: "token_cached_items",
    help: "App installation tokens currently cached.",
    registers,
    collect() {
      this.set(sources.cachedTokens?.() ?? 0);
    },
  });
  const cacheSize = (name: string, help: string, field: "entries" | "bytes") =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        const size = sources.cacheSize?.();
        if (size) this.set(size[field]);
      },
    });
  cacheSize("github_proxy_cache_entries", "Entries in the response cache.", "entries");
  cacheSize("github_proxy_cache_bytes", "Bytes held by the response cache.", "bytes");
  const cacheErrors = new Counter({
    name: "github_proxy_cache_errors_total",
    help: "Cache backend operations that failed or timed out (requests went through uncached).",
    labelNames: ["operation"],
    registers,
  });
  const cacheLatency = new Histogram({
    name: "github_proxy_cache_operation_duration_seconds",
    help: "Cache backend latency by operation.",
    labelNames: ["operation"],
    buckets: LATENCY_BUCKETS,
    registers,
  });
  new Gauge({
    name: "github_proxy_cache_backend_up",
    help: "1 while the cache backend answers in time, 0 while requests go through uncached.",
    registers,
    collect() {
      this.set(sources.cacheBackendUp?.() === false ? 0 : 1);
    },
  });
  new Gauge({
    name: "github_proxy_shared_state_up",
    help:
      "1 while the state shared across replicas answers in time, 0 while each replica uses its own view.",
    labelNames: ["store"],
    registers,
    collect() {
      const state = sources.sharedState?.();
      this.reset();
      if (state) this.set({ store: state.kind }, state.healthy ? 1 : 0);
    },
  });
  new Counter({
    name: "github_proxy_shared_state_failures_total",
    help: "Shared-state calls that failed or timed out; each fell back to the replica's own state.",
    labelNames: ["store"],
    registers,
    collect() {
      const state = sources.sharedState?.();
      this.reset();
      if (state) this.inc({ store: state.kind }, state.failures);
    },
  });
  const coalesced = new Counter({
    name: "github_proxy_cache_coalesced_waiters_total",
    help: "Requests that shared another request's upstream call instead of making their own.",
    registers,
  });

  const sink: TelemetrySink = {
    clientRequest(e) {
      clientRequests.inc({
        client: e.client,
        method: e.method,
        route: e.route,
        status: String(e.status),
        cache: e.cache,
      });
      clientDuration.observe({ client: e.client, cache: e.cache }, e.seconds);
    },
    upstreamRequest(e) {
      upstreamRequests.inc({
        credential: e.credential,
        resource: e.resource,
        status: String(e.status),
      });
      upstreamDuration.observe({ credential: e.credential, resource: e.resource }, e.seconds);
      if (e.points > 0) {
        clientPoints.inc({ client: e.client, resource: e.resource }, e.points);
        credentialPoints.inc({ credential: e.credential, resource: e.resource }, e.points);
      }
    },
    pointsSaved(client, points) {
      pointsSaved.inc({ client }, points);
    },
    tokenCache(event) {
      if (event === "hit" || event === "miss") tokenEvents.inc({ event });
      else if (event === "eviction") tokenEvictions.inc();
      else tokenRequests.inc({ status: event });
    },
    cacheBackend(e) {
      cacheLatency.observe({ operation: e.operation }, e.seconds);
      if (e.error) cacheErrors.inc({ operation: e.operation });
    },
    coalescedWaiter() {
      coalesced.inc();
    },
    admitRefusal(client, reason) {
      refusals.inc({ client, reason });
    },
  };
  return { sink, contentType: registry.contentType, metrics: () => registry.metrics() };
}
