/**
 * `main.ts` as a process: start-up refusals and graceful drain on SIGTERM.
 */
import assert from "node:assert/strict";
import { FULL_ACCESS_REGISTRY, TEST_TOKEN } from "../support/gateway.ts";
import { runDeno, spawnServer, startGatewayProcess } from "../support/process.ts";
import { listenerSocketPath } from "../../src/serve/listener.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** Just enough to listen on loopback with the state (and listener socket) in `dir`. */
function listenFlags(dir: string, port: number): string[] {
  const socket = listenerSocketPath({ stateDirectory: dir, port });
  return [`--allow-net=127.0.0.1,unix:${socket}`, `--allow-write=${dir}`];
}

Deno.test("main.ts refuses a bad configuration: every problem at once, no secret, exit 2", async () => {
  const secrets = {
    GITHUB_PAT_GOOD: "ghp_secret_good_value",
    GITHUB_APP_BROKEN_PEM: "-----BEGIN RSA PRIVATE KEY-----\nsecretkeymaterial\n-----END",
    UPSTASH_REDIS_REST_TOKEN: "upstash-secret-token",
    METRICS_TOKEN: "metrics-secret-token",
  };
  const result = await runDeno(["run", "--allow-env", "--allow-read", MAIN], {
    ...secrets,
    GITHUB_API_URL: "ftp://ghe.example.com",
    PORT: "99999",
    LOG_LEVEL: "loud",
    CACHE_TTL: "-1",
    UPSTREAM_TIMEOUT: "soon",
    GITHUB_PAT_EMPTY: " ",
    GITHUB_APP_BROKEN_ID: "12",
    GITHUB_APP_BROKEN_INSTALLATION_ID: "abc",
    GITHUB_APP_HALF_ID: "7",
  });
  assert.equal(result.code, 2);
  assert.match(result.stderr, /^github-proxy: invalid configuration:\n/);
  for (
    const variable of [
      "GITHUB_API_URL",
      "CLIENT_REGISTRY_FILE_PATH",
      "PORT",
      "LOG_LEVEL",
      "CACHE_TTL",
      "UPSTREAM_TIMEOUT",
      "GITHUB_PAT_EMPTY",
      "GITHUB_APP_BROKEN_INSTALLATION_ID",
      "GITHUB_APP_BROKEN_PEM",
      "GITHUB_APP_HALF_PEM",
    ]
  ) {
    assert.match(result.stderr, new RegExp(`\\b${variable}\\b`), variable);
  }
  for (const secret of Object.values(secrets)) {
    assert.ok(!result.stderr.includes(secret), "a secret was printed");
  }
  assert.ok(!result.stderr.includes("secretkeymaterial"));
  assert.ok(!/\bat .*\.ts:\d+/.test(result.stderr), "no stack trace");
});

Deno.test("main.ts refuses a registry with an unset template variable, naming it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const registry = `${dir}/registry.yaml`;
    await Deno.writeTextFile(
      registry,
      "version: 1\nclients:\n  - name: ci\n    token: {{ env.TOKEN_CI }}\n",
    );
    const result = await runDeno(
      ["run", "--allow-env", "--allow-read", ...listenFlags(dir, 8080), MAIN],
      {
        GITHUB_API_URL: "http://127.0.0.1:9",
        BIND: "127.0.0.1",
        STATE_DIRECTORY: dir,
        CLIENT_REGISTRY_FILE_PATH: registry,
        CACHE_BACKEND_URL: "memory://",
      },
    );
    assert.equal(result.code, 2);
    assert.match(result.stderr, /registry\.yaml:4: environment variable TOKEN_CI is not set/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** An upstream whose `/slow` answers only when released, and tells when a call arrived. */
function slowUpstream() {
  const arrived = Promise.withResolvers<void>();
  const release = Promise.withResolvers<void>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    if (new URL(req.url).pathname !== "/slow") return new Response("fast");
    arrived.resolve();
    await release.promise;
    return new Response("slow but complete");
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    arrived: arrived.promise,
    release: () => release.resolve(),
    close: () => server.shutdown(),
  };
}

async function refusesConnections(port: number): Promise<boolean> {
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
    } catch (error) {
      if (error instanceof Deno.errors.ConnectionRefused) return true;
      // Queued on the listener just as it closed: not served, but not yet a refusal either.
      if (!(error instanceof Deno.errors.ConnectionReset)) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

Deno.test("SIGTERM: stop accepting, finish the in-flight request, exit 0", async () => {
  const upstream = slowUpstream();
  const gateway = await startGatewayProcess(upstream.url);
  const server = gateway.server;
  try {
    const headers = { authorization: `token ${TEST_TOKEN}` };
    assert.equal(await (await fetch(`${server.url}/fast`, { headers })).text(), "fast");
    const inFlight = fetch(`${server.url}/slow`, { headers });
    await upstream.arrived;

    server.child.kill("SIGTERM");
    await server.waitForLog(/shutting down/);
    assert.ok(await refusesConnections(server.port), "new connections are refused");

    upstream.release();
    const response = await inFlight;
    assert.equal(response.status, 200);
    assert.equal(await response.text(), "slow but complete");
    assert.equal(await server.status(), 0);
    assert.ok(server.logs.some((line) => line.includes('"msg":"stopped"')));
  } finally {
    upstream.release();
    await gateway.stop();
    await upstream.close();
  }
});

for (const mode of ["start", "dev"] as const) {
  Deno.test(`deno task ${mode}: SIGTERM to the launcher stops the server and the launcher`, async () => {
    const dir = await Deno.makeTempDir();
    await Deno.writeTextFile(`${dir}/registry.yaml`, FULL_ACCESS_REGISTRY);
    const server = await spawnServer(
      ["run", "--allow-env", "--allow-read", "--allow-run", "scripts/launch.ts", mode],
      {
        GITHUB_API_URL: "http://127.0.0.1:9",
        CLIENT_REGISTRY_FILE_PATH: `${dir}/registry.yaml`,
        STATE_DIRECTORY: dir,
        CACHE_BACKEND_URL: "memory://",
        BIND: "127.0.0.1",
        PORT: "0",
      },
    );
    try {
      server.child.kill("SIGTERM");
      const exited = await Promise.race([
        server.status(),
        new Promise<"still running">((resolve) =>
          setTimeout(() => resolve("still running"), 10_000)
        ),
      ]);
      assert.equal(exited, 0);
      assert.ok(server.logs.some((line) => line.includes('"msg":"stopped"')));
      assert.ok(await refusesConnections(server.port));
    } finally {
      await server.stop();
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("main.ts reports a listen address in use plainly, without a stack trace", async () => {
  const dir = await Deno.makeTempDir();
  const occupied = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    await Deno.writeTextFile(`${dir}/registry.yaml`, FULL_ACCESS_REGISTRY);
    const result = await runDeno(
      ["run", "--allow-env", "--allow-read", ...listenFlags(dir, occupied.addr.port), MAIN],
      {
        GITHUB_API_URL: "http://127.0.0.1:9",
        BIND: "127.0.0.1",
        STATE_DIRECTORY: dir,
        PORT: String(occupied.addr.port),
        CLIENT_REGISTRY_FILE_PATH: `${dir}/registry.yaml`,
        CACHE_BACKEND_URL: "memory://",
      },
    );
    assert.equal(result.code, 2);
    assert.match(
      result.stderr,
      new RegExp(`github-proxy: cannot listen on 127\\.0\\.0\\.1:${occupied.addr.port}: `),
    );
    assert.ok(!/\bat .*\.ts:\d+/.test(result.stderr), result.stderr);
  } finally {
    occupied.close();
    await Deno.remove(dir, { recursive: true });
  }
});
