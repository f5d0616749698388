/**
 * github-proxy as a library: a GitHub API gateway built as a Hono app, to serve on its own or
 * mount inside another Hono app. Clients authenticate with their own tokens from a client
 * registry, are authorised by its scopes, and share a pool of GitHub credentials and an ETag
 * cache. `main.ts` is the standalone server; this module is what embedders import.
 *
 * @example Mount the gateway under `/github`
 * ```ts ignore
 * import { Hono } from "hono";
 * import { createGateway, parseConfig } from "@github-proxy/github-proxy";
 *
 * const gateway = await createGateway(parseConfig(Deno.env.toObject()), {
 *   env: (name) => Deno.env.get(name), // resolves the registry's {{ env.NAME }}
 * });
 * const app = new Hono();
 * app.route("/github", gateway.app);
 * Deno.serve(app.fetch);
 * ```
 *
 * @module
 */
export {
  type AdmissionActivity,
  type CacheActivity,
  createGateway,
  type CredentialControl,
  type Gateway,
  type GatewayOptions,
  type PoolView,
  type RegistryControl,
  type WebhookActivity,
  type WebhookOptions,
} from "./src/gateway.ts";
export { type Config, ConfigError, parseConfig, type TelemetryCollector } from "./src/config.ts";
export type { AppSource, CredentialSource, PatSource } from "./src/credentials/sources.ts";
export type {
  CredentialSnapshot,
  OwnerSnapshot,
  PoolEvent,
  PoolObserver,
  PoolSnapshot,
  ResourceSnapshot,
} from "./src/credentials/events.ts";
export type { TokenCacheEvent } from "./src/credentials/app_tokens.ts";
export type { LogFields, LogFormat, Logger, LogLevel } from "./src/log.ts";
export { RegistryError } from "./src/registry/parse.ts";
export type { ReloadTiming } from "./src/registry/store.ts";
export type { RateLimitStatus } from "./src/http/rate_refusal.ts";
