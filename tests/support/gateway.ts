/**
 * Starts the real gateway in-process on 127.0.0.1 against a fake GitHub, for end-to-end tests.
 */
import { parseConfig } from "../../src/config.ts";
import { createGateway, type Gateway, type WebhookOptions } from "../../src/gateway.ts";
import type { ReloadTiming } from "../../src/registry/store.ts";
import { createLogger, type Logger } from "../../src/log.ts";

export interface TestGateway extends AsyncDisposable {
  readonly url: string;
  readonly gateway: Gateway;
  readonly registryPath: string;
  /** Log lines written so far (JSON). */
  readonly logs: string[];
  close(): Promise<void>;
}

export interface TestGatewayOptions {
  /** GITHUB_API_URL, usually `fake.url`. */
  readonly githubApiUrl: string;
  /** Registry YAML; defaults to one full-access client with token `test-token`. */
  readonly registry?: string;
  /** Extra configuration variables (GITHUB_PAT_*, CACHE_BACKEND_URL, …). */
  readonly env?: Record<string, string>;
  /** Variables visible to the registry template. */
  readonly templateEnv?: Record<string, string>;
  readonly logger?: Logger;
  /** Settle time and clock of registry reloads (see `RegistryStore.watch`). */
  readonly registryReload?: Partial<ReloadTiming>;
  /** The credential pool's clock (see `ManualClock`); share it with the fake GitHub. */
  readonly now?: () => number;
  /** Longest wait in a client's concurrency queue, in ms. */
  readonly admitQueueWaitMs?: number;
  /** The webhook receiver's parts and hooks (see `GatewayOptions.webhooks`). */
  readonly webhooks?: WebhookOptions;
}

export const TEST_TOKEN = "test-token";

export const FULL_ACCESS_REGISTRY = `version: 1
clients:
  - name: tester
    token: ${TEST_TOKEN}
`;

export async function startGateway(options: TestGatewayOptions): Promise<TestGateway> {
  const dir = await Deno.makeTempDir({ prefix: "github-proxy-test-" });
  const registryPath = `${dir}/registry.yaml`;
  await Deno.writeTextFile(registryPath, options.registry ?? FULL_ACCESS_REGISTRY);
  const config = parseConfig({
    GITHUB_API_URL: options.githubApiUrl,
    CLIENT_REGISTRY_FILE_PATH: registryPath,
    STATE_DIRECTORY: dir,
    CACHE_BACKEND_URL: "memory://",
    PORT: "0",
    BIND: "127.0.0.1",
    ...options.env,
  });
  const logs: string[] = [];
  const logger = options.logger ?? createLogger("debug", "json", (line) => logs.push(line));
  const templateEnv = options.templateEnv ?? {};
  const gateway = await createGateway(config, {
    env: (name) => templateEnv[name],
    logger,
    registryReload: options.registryReload,
    now: options.now,
    admitQueueWaitMs: options.admitQueueWaitMs,
    webhooks: options.webhooks,
  });
  const server = Deno.serve(
    {
      hostname: "127.0.0.1",
      port: 0,
      onListen: () => {},
      // As main.ts: a body that broke off after the status line is a log line.
      onError: (error) => {
        logger.warn("answer broke off", { error: String(error) });
        return new Response(null, { status: 502 });
      },
    },
    gateway.app.fetch,
  );
  const close = async () => {
    await server.shutdown();
    await gateway.close();
    await Deno.remove(dir, { recursive: true });
  };
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    gateway,
    registryPath,
    logs,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** `fetch` with the test client's token. */
export function authed(token = TEST_TOKEN, init: RequestInit = {}): RequestInit {
  const headers = new Headers(init.headers);
  headers.set("authorization", `token ${token}`);
  return { ...init, headers };
}
