/**
 * The gateway served by `Deno.serve` on its TCP port directly, without the supervised listener
 * (src/serve/listener.ts) and so without its connection cap and timeouts: the bench's measure of
 * what the listener's relay costs. Not for production — main.ts is.
 */
import { parseConfig } from "../src/config.ts";
import { createGateway } from "../src/gateway.ts";
import { createLogger, flushLogs } from "../src/log.ts";
import { readEnvironment } from "../src/launch/environment.ts";

const env = readEnvironment();
const config = parseConfig(env);
const logger = createLogger(config.logLevel, config.logFormat);
const gateway = await createGateway(config, { env: (name) => env[name], logger });
const server = Deno.serve({
  hostname: config.bind,
  port: config.port,
  onListen: ({ hostname, port }) => logger.info("listening", { address: `${hostname}:${port}` }),
}, gateway.app.fetch);
Deno.addSignalListener("SIGTERM", async () => {
  await server.shutdown();
  await gateway.close();
  await flushLogs();
  Deno.exit(0);
});
