/**
 * Embedding API: build the gateway as a Hono app and mount it anywhere, e.g.
 * `app.route("/github", (await createGateway(parseConfig(env))).app)`.
 */
export { createGateway, type Gateway, type GatewayOptions } from "./src/gateway.ts";
export { type Config, ConfigError, parseConfig } from "./src/config.ts";
export { RegistryError } from "./src/registry/parse.ts";
