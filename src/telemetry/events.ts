import type { RefusalReason } from "../admit/state.ts";
import type { WebhookCounters } from "../webhooks/receiver.ts";

/**
 * What the request path reports to telemetry. Parts of the gateway call these methods; the
 * collectors (Prometheus, logging summaries, the /usage view) decide what to keep.
 */

/** How the cache took part in a request (see `cacheResult`). */
export type CacheResult = "hit" | "revalidated" | "miss" | "bypass" | "coalesced";
/** Every `CacheResult`, for series that exist before the first request. */
export const CACHE_RESULTS: readonly CacheResult[] = [
  "hit",
  "revalidated",
  "miss",
  "bypass",
  "coalesced",
];

export interface ClientRequestEvent {
  readonly client: string;
  /** From a fixed set (`methodLabel`): never the method as the client wrote it. */
  readonly method: string;
  readonly route: string;
  readonly status: number;
  readonly cache: CacheResult;
  readonly seconds: number;
}

export interface UpstreamRequestEvent {
  /** The client the call was made for. */
  readonly client: string;
  readonly credential: string;
  readonly resource: string;
  readonly status: number;
  readonly seconds: number;
  /** Rate-limit points the call cost (0 for a 304 or a refused call). */
  readonly points: number;
}

export type TokenCacheEvent = "hit" | "miss" | "success" | "failure" | "eviction";

/** The cache backend's operations. */
export type CacheBackendOperation = "get" | "set" | "touch" | "delete" | "ping";
/** Every `CacheBackendOperation`, for series that exist before the first call. */
export const CACHE_BACKEND_OPERATIONS: readonly CacheBackendOperation[] = [
  "get",
  "set",
  "touch",
  "delete",
  "ping",
];

export interface CacheBackendEvent {
  readonly operation: CacheBackendOperation;
  readonly seconds: number;
  readonly error: boolean;
}

/** What the webhook receiver reports: deliveries, signature failures, dispatches, invalidations. */
export interface TelemetrySink extends WebhookCounters {
  clientRequest(event: ClientRequestEvent): void;
  upstreamRequest(event: UpstreamRequestEvent): void;
  /** Points a client did not spend on `resource` because the cache answered (hit, 304, shared). */
  pointsSaved(client: string, resource: string, points: number): void;
  tokenCache(event: TokenCacheEvent): void;
  cacheBackend(event: CacheBackendEvent): void;
  coalescedWaiter(): void;
  /** Admit refused a request of `client` (DESIGN §11). */
  admitRefusal(client: string, reason: RefusalReason): void;
}

export const noopSink: TelemetrySink = {
  clientRequest() {},
  upstreamRequest() {},
  pointsSaved() {},
  tokenCache() {},
  cacheBackend() {},
  coalescedWaiter() {},
  admitRefusal() {},
  delivery() {},
  signatureFailure() {},
  dispatch() {},
  invalidation() {},
};

/** One sink that reports to several. */
export function fanout(sinks: readonly TelemetrySink[]): TelemetrySink {
  return {
    clientRequest: (e) => sinks.forEach((s) => s.clientRequest(e)),
    upstreamRequest: (e) => sinks.forEach((s) => s.upstreamRequest(e)),
    pointsSaved: (client, resource, points) =>
      sinks.forEach((s) => s.pointsSaved(client, resource, points)),
    tokenCache: (e) => sinks.forEach((s) => s.tokenCache(e)),
    cacheBackend: (e) => sinks.forEach((s) => s.cacheBackend(e)),
    coalescedWaiter: () => sinks.forEach((s) => s.coalescedWaiter()),
    admitRefusal: (client, reason) => sinks.forEach((s) => s.admitRefusal(client, reason)),
    delivery: (event, outcome) => sinks.forEach((s) => s.delivery(event, outcome)),
    signatureFailure: () => sinks.forEach((s) => s.signatureFailure()),
    dispatch: (rule, outcome) => sinks.forEach((s) => s.dispatch(rule, outcome)),
    invalidation: (event, resources) => sinks.forEach((s) => s.invalidation(event, resources)),
  };
}
