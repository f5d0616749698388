/**
 * Prometheus metrics with bounded cardinality: clients and credentials by registry/variable
 * name, paths collapsed to GitHub route templates, statuses as numbers.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { CACHE_BACKEND_OPERATIONS, CACHE_RESULTS, type TelemetrySink } from "./events.ts";
import { REFUSAL_REASONS } from "../admit/state.ts";
import { KNOWN_RESOURCES } from "../credentials/resource.ts";
import { DISPATCH_OUTCOMES } from "../webhooks/dispatcher.ts";
import { BoundHistogram, PendingCounts } from "./pending.ts";

/** Quota of one credential for one rate-limit resource, as the pool sees it. */
export interface QuotaView {
  readonly credential: string;
  readonly resource: string;
  readonly limit: number;
  readonly remaining: number;
  /** Epoch seconds. */
  readonly reset: number;
  readonly parked: boolean;
  /** Refused by GitHub (a PAT's 401): out of the pool until a reload or restart. */
  readonly bad: boolean;
}

/** One owner (GitHub account) of the pool, named by its first credential. */
export interface OwnerCooldown {
  readonly owner: string;
  /** Seconds left of its secondary-limit cooldown; 0 when it is not cooling down. */
  readonly seconds: number;
}

/** One discovered App installation: its App's `<NAME>`, account and repository selection. */
export interface InstallationGaugeView {
  readonly app: string;
  readonly account: string;
  readonly repositorySelection: string;
}

/** A client's points budget now (`limits.points_per_hour`). */
export interface BudgetGaugeView {
  readonly client: string;
  readonly remaining: number;
}

/** One credential by its `<NAME>`, and whether GitHub refused it. */
export interface CredentialStanding {
  readonly credential: string;
  readonly bad: boolean;
}

/** The pool's capacity for one resource, summed over its usable credentials. */
export interface PoolCapacityView {
  readonly resource: string;
  readonly limit: number;
  readonly remaining: number;
}

/**
 * Read at scrape time, so gauges are never stale, and the series of every client, credential,
 * resource, cache result and refusal reason exist at 0 from the first scrape (and for a client
 * added by a registry reload, from the next one): dashboards and alerts see no gaps.
 */
export interface GaugeSources {
  /** The registry's client names now. */
  clients?(): readonly string[];
  /** Every configured credential. */
  credentials?(): readonly CredentialStanding[];
  /** The pool's capacity per resource it has learnt. */
  capacity?(): readonly PoolCapacityView[];
  /** The registry's `reserve` percentages by priority. */
  reserve?(): { readonly low: number; readonly normal: number };
  budgets?(): readonly BudgetGaugeView[];
  quotas?(): readonly QuotaView[];
  cooldowns?(): readonly OwnerCooldown[];
  cachedTokens?(): number;
  /** The discovered App installations the pool routes to (bounded per App). */
  installations?(): readonly InstallationGaugeView[];
  /** Installation tokens minted with a client's `github_token:` narrowing, per credential. */
  narrowedMints?(): readonly { credential: string; outcome: string; count: number }[];
  cacheSize?(): { entries: number; bytes: number } | undefined;
  /** The registry's webhook rule labels now: their dispatch series exist from the start. */
  webhookRules?(): readonly string[];
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

/**
 * The gateway's Prometheus registry. Every family is named `github_proxy_…`; each help text
 * answers the question an operator brings to it.
 */
export function createPrometheus(sources: GaugeSources): PrometheusTelemetry {
  const registry = new Registry();
  const registers = [registry];
  const clients = () => sources.clients?.() ?? [];
  const credentials = () => (sources.credentials?.() ?? []).map((c) => c.credential);
  /** Every combination of `values`' labels, for a counter's series at 0. */
  const zeroes = (counter: Counter<string>, values: Record<string, readonly string[]>) => {
    let combinations: Record<string, string>[] = [{}];
    for (const [label, options] of Object.entries(values)) {
      combinations = combinations.flatMap((partial) =>
        options.map((option) => ({ ...partial, [label]: option }))
      );
    }
    for (const labels of combinations) counter.inc(labels, 0);
  };
  type RequestLabel = "client" | "method" | "route" | "status" | "cache";
  const pendingRequests = new PendingCounts<RequestLabel>();
  const pendingAnswers = new PendingCounts<"client" | "cache">();
  new Counter({
    name: "github_proxy_client_requests_total",
    help:
      "Who sent how many requests: by client, method, route template, status and how the cache answered (hit, revalidated, miss, bypass, coalesced).",
    labelNames: ["client", "method", "route", "status", "cache"],
    registers,
    collect() {
      pendingRequests.flushInto(this);
    },
  });
  new Counter({
    name: "github_proxy_client_cache_results_total",
    help:
      "How did the cache answer each client: hit, revalidated (a free 304), coalesced (shared another call), miss or bypass.",
    labelNames: ["client", "cache"],
    registers,
    collect() {
      pendingAnswers.flushInto(this);
      zeroes(this, { client: clients(), cache: CACHE_RESULTS });
    },
  });
  /** A latency histogram whose label children are bound once (`BoundHistogram`). */
  const latencyHistogram = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
  ) =>
    new BoundHistogram(
      new Histogram({ name, help, labelNames, buckets: LATENCY_BUCKETS, registers }),
    );
  const clientDuration = latencyHistogram(
    "github_proxy_client_request_duration_seconds",
    "How long did clients wait for response headers, by client and cache result.",
    ["client", "cache"] as const,
  );
  const pendingUpstream = new PendingCounts<"credential" | "resource" | "status">();
  new Counter({
    name: "github_proxy_upstream_requests_total",
    help: "How many calls went to GitHub, by credential, rate-limit resource and status.",
    labelNames: ["credential", "resource", "status"],
    registers,
    collect() {
      pendingUpstream.flushInto(this);
    },
  });
  const upstreamDuration = latencyHistogram(
    "github_proxy_upstream_request_duration_seconds",
    "How long did GitHub take to answer with headers, by credential and resource.",
    ["credential", "resource"] as const,
  );
  const clientPoints = new Counter({
    name: "github_proxy_client_points_spent_total",
    help:
      "Who spent how much of the rate limit: points spent on behalf of each client, by resource (a 304 spends none).",
    labelNames: ["client", "resource"],
    registers,
    collect() {
      zeroes(this, { client: clients(), resource: KNOWN_RESOURCES });
    },
  });
  const credentialPoints = new Counter({
    name: "github_proxy_credential_points_spent_total",
    help: "Which credential paid: rate-limit points spent from each credential, by resource.",
    labelNames: ["credential", "resource"],
    registers,
    collect() {
      zeroes(this, { credential: credentials(), resource: KNOWN_RESOURCES });
    },
  });
  const pendingSaved = new PendingCounts<"client" | "resource">();
  new Counter({
    name: "github_proxy_client_points_saved_total",
    help:
      "How much did the cache save: rate-limit points each client did not spend because the cache answered (hits, free 304s, shared calls), by resource.",
    labelNames: ["client", "resource"],
    registers,
    collect() {
      pendingSaved.flushInto(this);
      zeroes(this, { client: clients(), resource: KNOWN_RESOURCES });
    },
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
    "How many points an hour does each GitHub account of the pool (named by its first credential) get, by resource.",
    (q) => q.limit,
  );
  quotaGauge(
    "github_proxy_ratelimit_remaining",
    "Which credential is low: points left per GitHub account of the pool and resource, as GitHub last reported.",
    (q) => q.remaining,
  );
  quotaGauge(
    "github_proxy_ratelimit_reset_timestamp_seconds",
    "When does the account's quota for the resource reset (epoch seconds).",
    (q) => q.reset,
  );
  quotaGauge(
    "github_proxy_credential_parked",
    "Is the account resting: 1 while it is parked for the resource after a rate-limit answer.",
    (q) => q.parked ? 1 : 0,
  );
  new Gauge({
    name: "github_proxy_credential_bad",
    help:
      "Did GitHub refuse a credential: 1 for a credential answered 401 (out of the pool until a reload (SIGHUP) or restart), 0 otherwise.",
    labelNames: ["credential"],
    registers,
    collect() {
      this.reset();
      for (const { credential, bad } of sources.credentials?.() ?? []) {
        this.set({ credential }, bad ? 1 : 0);
      }
    },
  });
  const capacityGauge = (name: string, help: string, field: "limit" | "remaining") =>
    new Gauge({
      name,
      help,
      labelNames: ["resource"],
      registers,
      collect() {
        this.reset();
        for (const capacity of sources.capacity?.() ?? []) {
          this.set({ resource: capacity.resource }, capacity[field]);
        }
      },
    });
  capacityGauge(
    "github_proxy_pool_limit",
    "How many points the whole pool gets per reset window, by resource (usable credentials).",
    "limit",
  );
  capacityGauge(
    "github_proxy_pool_remaining",
    "How many points the whole pool has left, by resource (usable credentials, calls in flight deducted).",
    "remaining",
  );
  new Gauge({
    name: "github_proxy_pool_reserve_percent",
    help:
      "Below what share of the pool's capacity (percent) are a priority's new calls refused: the registry's reserve.",
    labelNames: ["priority"],
    registers,
    collect() {
      this.reset();
      const reserve = sources.reserve?.();
      if (!reserve) return;
      this.set({ priority: "low" }, reserve.low);
      this.set({ priority: "normal" }, reserve.normal);
    },
  });
  new Gauge({
    name: "github_proxy_owner_cooldown_seconds",
    help:
      "Is anything cooling down: seconds a GitHub account of the pool still waits after a secondary rate limit (nothing is sent on it), by its first credential.",
    labelNames: ["owner"],
    registers,
    collect() {
      this.reset();
      for (const { owner, seconds } of sources.cooldowns?.() ?? []) this.set({ owner }, seconds);
    },
  });
  const refusals = new Counter({
    name: "github_proxy_client_refusals_total",
    help:
      "Who was refused and why: requests admit refused, by client and reason (budget, reserve, rate, concurrency).",
    labelNames: ["client", "reason"],
    registers,
    collect() {
      zeroes(this, { client: clients(), reason: REFUSAL_REASONS });
    },
  });
  new Gauge({
    name: "github_proxy_client_budget_remaining",
    help:
      "How much of its points_per_hour budget has each client left (below 0 after charged revalidations).",
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
    name: "github_proxy_token_cache_events_total",
    help: "Are App installation tokens reused: token cache lookups, hit (reused) or miss (minted).",
    labelNames: ["event"],
    registers,
    collect() {
      zeroes(this, { event: ["hit", "miss"] });
    },
  });
  const tokenRequests = new Counter({
    name: "github_proxy_token_cache_requests_total",
    help: "Can the App mint tokens: installation token mints, by outcome (success, failure).",
    labelNames: ["status"],
    registers,
    collect() {
      zeroes(this, { status: ["success", "failure"] });
    },
  });
  const tokenEvictions = new Counter({
    name: "github_proxy_token_cache_evictions_total",
    help: "How many App installation tokens were dropped (expired, renewed or refused by GitHub).",
    registers,
  });
  new Gauge({
    name: "github_proxy_token_cache_items",
    help: "How many App installation tokens are cached now.",
    registers,
    collect() {
      this.set(sources.cachedTokens?.() ?? 0);
    },
  });
  new Gauge({
    name: "github_proxy_app_installations",
    help: "Discovered GitHub App installations the pool routes to (1 each), by App and account.",
    labelNames: ["app", "account", "repository_selection"],
    registers,
    collect() {
      this.reset();
      for (const view of sources.installations?.() ?? []) {
        this.set({
          app: view.app,
          account: view.account,
          repository_selection: view.repositorySelection,
        }, 1);
      }
    },
  });
  new Counter({
    name: "github_proxy_narrowed_token_mints_total",
    help: "Installation tokens minted with a client's github_token narrowing, by outcome.",
    labelNames: ["credential", "outcome"],
    registers,
    collect() {
      this.reset();
      for (const { credential, outcome, count } of sources.narrowedMints?.() ?? []) {
        this.inc({ credential, outcome }, count);
      }
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
  cacheSize(
    "github_proxy_cache_entries",
    "How many answers the response cache holds (backends that can tell).",
    "entries",
  );
  cacheSize(
    "github_proxy_cache_bytes",
    "How many bytes the response cache holds (backends that can tell).",
    "bytes",
  );
  const cacheErrors = new Counter({
    name: "github_proxy_cache_errors_total",
    help:
      "Is the cache backend failing: operations that failed or timed out (those requests went through uncached).",
    labelNames: ["operation"],
    registers,
    collect() {
      zeroes(this, { operation: CACHE_BACKEND_OPERATIONS });
    },
  });
  const cacheLatency = latencyHistogram(
    "github_proxy_cache_operation_duration_seconds",
    "How fast is the cache backend, by operation.",
    ["operation"] as const,
  );
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
    help: "How many requests shared another request's upstream call instead of making their own.",
    registers,
  });

  const deliveries = new Counter({
    name: "github_proxy_webhook_deliveries_total",
    help:
      "Verified webhook deliveries, by event (GitHub's names, else other) and outcome (processed, duplicate, ping, malformed).",
    labelNames: ["event", "outcome"],
    registers,
  });
  const signatureFailures = new Counter({
    name: "github_proxy_webhook_signature_failures_total",
    help: "Webhook deliveries refused because X-Hub-Signature-256 was missing or wrong.",
    registers,
  });
  const dispatches = new Counter({
    name: "github_proxy_webhook_dispatches_total",
    help: "Calls of webhooks: rules, by rule and outcome (sent, failed, skipped, queue_full).",
    labelNames: ["rule", "outcome"],
    registers,
    collect() {
      for (const rule of sources.webhookRules?.() ?? []) {
        for (const outcome of DISPATCH_OUTCOMES) this.inc({ rule, outcome }, 0);
      }
    },
  });
  const invalidations = new Counter({
    name: "github_proxy_webhook_invalidations_total",
    help: "Webhook events that marked cached resources stale, by event.",
    labelNames: ["event"],
    registers,
  });

  const sink: TelemetrySink = {
    clientRequest(e) {
      // Label values never hold a NUL: joined with it, they make a key unique to the label set.
      const answerKey = `${e.client}\0${e.cache}`;
      const answer = { client: e.client, cache: e.cache };
      pendingRequests.add(`${answerKey}\0${e.method}\0${e.route}\0${e.status}`, {
        ...answer,
        method: e.method,
        route: e.route,
        status: String(e.status),
      });
      pendingAnswers.add(answerKey, answer);
      clientDuration.observe(answerKey, answer, e.seconds);
    },
    upstreamRequest(e) {
      const call = `${e.credential}\0${e.resource}`;
      const labels = { credential: e.credential, resource: e.resource };
      pendingUpstream.add(`${call}\0${e.status}`, { ...labels, status: String(e.status) });
      upstreamDuration.observe(call, labels, e.seconds);
      if (e.points > 0) {
        clientPoints.inc({ client: e.client, resource: e.resource }, e.points);
        credentialPoints.inc({ credential: e.credential, resource: e.resource }, e.points);
      }
    },
    pointsSaved(client, resource, points) {
      pendingSaved.add(`${client}\0${resource}`, { client, resource }, points);
    },
    tokenCache(event) {
      if (event === "hit" || event === "miss") tokenEvents.inc({ event });
      else if (event === "eviction") tokenEvictions.inc();
      else tokenRequests.inc({ status: event });
    },
    cacheBackend(e) {
      cacheLatency.observe(e.operation, { operation: e.operation }, e.seconds);
      if (e.error) cacheErrors.inc({ operation: e.operation });
    },
    coalescedWaiter() {
      coalesced.inc();
    },
    admitRefusal(client, reason) {
      refusals.inc({ client, reason });
    },
    delivery(event, outcome) {
      deliveries.inc({ event, outcome });
    },
    signatureFailure() {
      signatureFailures.inc();
    },
    dispatch(rule, outcome) {
      dispatches.inc({ rule, outcome });
    },
    invalidation(event) {
      invalidations.inc({ event });
    },
  };
  return { sink, contentType: registry.contentType, metrics: () => registry.metrics() };
}
