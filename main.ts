/**
 * Entry point: read the environment once, check it against the permissions this process was
 * given, serve, and drain gracefully on SIGTERM/SIGINT. `check` and `hash-token` are the
 * operator's helpers (src/launch/cli.ts).
 */
import { ConfigError, parseConfig } from "./src/config.ts";
import { createGateway } from "./src/gateway.ts";
import { listenHost, permissionProblems } from "./src/launch/permissions.ts";
import { RegistryError } from "./src/registry/parse.ts";
import { createLogger, flushLogs } from "./src/log.ts";
import { readEnvironment } from "./src/launch/environment.ts";
import { listenerSocketPath, serveGuarded } from "./src/serve/listener.ts";
import { check, commandOf, hashToken } from "./src/launch/cli.ts";

async function main(): Promise<number> {
  const command = commandOf(Deno.args);
  if (typeof command === "object") {
    console.error(command.error);
    return 2;
  }
  if (command === "hash-token") return await hashToken();
  const env = readEnvironment();
  if (command === "check") return await check(env, (name) => env[name]);
  let config;
  try {
    config = parseConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`github-proxy: ${error.message}`);
      return 2;
    }
    throw error;
  }
  const problems = permissionProblems(config);
  if (problems.length > 0) {
    console.error(
      `github-proxy: configuration outside this build's permissions:\n${
        problems.map((p) => `  - ${p}`).join("\n")
      }`,
    );
    return 2;
  }
  const logger = createLogger(config.logLevel, config.logFormat);
  let gateway;
  try {
    gateway = await createGateway(config, { env: (name) => env[name], logger });
  } catch (error) {
    if (error instanceof RegistryError || error instanceof ConfigError) {
      console.error(`github-proxy: ${error.message}`);
      return 2;
    }
    throw error;
  }
  // Signal handlers go in before the server says it is listening: a SIGTERM or SIGHUP that
  // arrives in between would otherwise take the default action and kill the process.
  const signalled = new Promise<string>((resolve) => {
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      Deno.addSignalListener(signal, () => resolve(signal));
    }
  });
  const stop = new AbortController();
  // One SIGHUP reloads both; the registry waits for the credentials to check its narrowings.
  gateway.credentials.watch(logger, stop.signal);
  gateway.registry.watch(logger, stop.signal);
  let server;
  try {
    server = await serveGuarded({
      hostname: config.bind,
      port: config.port,
      socketPath: listenerSocketPath(config),
      maxConnections: config.maxConnections,
      timeouts: {
        headerMs: config.headerTimeoutMs,
        bodyMs: config.bodyTimeoutMs,
        idleMs: config.idleTimeoutMs,
      },
      logger,
      handler: gateway.app.fetch,
      // Hono answers the handler's errors; what reaches here is an answer whose body broke off
      // after its status line (e.g. GitHub went quiet mid-stream): a log line, not a stack trace.
      onError: (error) => {
        logger.warn("answer broke off", { error: String(error) });
        return new Response(null, { status: 502 });
      },
    });
  } catch (error) {
    console.error(
      `github-proxy: cannot listen on ${listenHost(config)}: ${(error as Error).message}`,
    );
    stop.abort();
    await gateway.close();
    return 2;
  }
  const { hostname, port } = server.addr;
  logger.info("listening", {
    address: `${hostname}:${port}`,
    maxConnections: config.maxConnections,
  });
  const outcome = await Promise.race([
    signalled.then((signal) => ({ signal })),
    server.failed.then((failure) => ({ failure })),
  ]);
  if ("failure" in outcome) {
    // Serving has stopped: a process that stays up would look healthy and answer nothing.
    logger.error("listener stopped; exiting", { error: outcome.failure.message });
    stop.abort();
    await gateway.close();
    return 1;
  }
  const { signal } = outcome;
  logger.info("shutting down: draining in-flight requests", {
    signal,
    drainMs: config.drainTimeoutMs,
  });
  stop.abort();
  const drained = await Promise.race([
    server.shutdown().then(() => true),
    new Promise<false>((resolve) => setTimeout(() => resolve(false), config.drainTimeoutMs)),
  ]);
  if (!drained) logger.warn("drain time exceeded; closing remaining connections");
  await gateway.close();
  logger.info("stopped");
  return 0;
}

if (import.meta.main) {
  const code = await main();
  // The log is written asynchronously: its last lines (the "stopped") before the exit.
  await flushLogs();
  Deno.exit(code);
}
