/**
 * The processes the bench loads besides the gateway: the mock upstream, the bare Hono forwarder
 * and nginx with `proxy_cache` (when installed), each on a free loopback port, each stopped by
 * the `stop` it comes with.
 */
import { freePort } from "../tests/support/redis.ts";
import { spawnServer } from "../tests/support/process.ts";

export interface Started {
  readonly origin: string;
  stop(): Promise<void>;
}

const ALLOW = "--allow-net=127.0.0.1";

async function deno(file: string, env: Record<string, string>): Promise<Started> {
  const path = new URL(file, import.meta.url).pathname;
  const server = await spawnServer(["run", ALLOW, "--allow-env", "--allow-read", path], env);
  return { origin: server.url, stop: async () => void await server.stop() };
}

/** `mock_upstream.ts` in its own process. */
export const startMockUpstream = () => deno("./mock_upstream.ts", { PORT: "0" });

/** `bare_forwarder.ts` in its own process, forwarding to `upstream`. */
export const startBareForwarder = (upstream: string) =>
  deno("./bare_forwarder.ts", { PORT: "0", UPSTREAM_URL: upstream });

/** Why nginx cannot run here, or undefined when it can. */
export async function nginxMissing(): Promise<string | undefined> {
  try {
    const { success } = await new Deno.Command("nginx", { args: ["-v"], stderr: "null" }).output();
    return success ? undefined : "nginx -v failed";
  } catch {
    return "nginx is not installed (apt-get install -y nginx)";
  }
}

/**
 * nginx in front of `upstream`, caching every 200 for 60 s under its path (GitHub's `private`
 * and `Vary` ignored: the comparison is with a cache that serves hits and does nothing else).
 */
export async function startNginx(upstream: string): Promise<Started> {
  const dir = await Deno.makeTempDir({ prefix: "bench-nginx-" });
  const port = freePort();
  await Deno.writeTextFile(
    `${dir}/nginx.conf`,
    `daemon off;
master_process off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  proxy_cache_path ${dir}/cache keys_zone=bench:10m max_size=200m;
  upstream mock { server ${new URL(upstream).host}; keepalive 32; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://mock;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache bench;
      proxy_cache_key $uri;
      proxy_cache_valid 200 60s;
      proxy_ignore_headers Cache-Control Expires Vary Set-Cookie;
    }
  }
}
`,
  );
  const child = new Deno.Command("nginx", {
    args: ["-p", dir, "-c", `${dir}/nginx.conf`, "-e", `${dir}/error.log`],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const origin = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  while (true) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch (error) {
      if (Date.now() > deadline) {
        child.kill();
        throw new Error(`nginx did not listen: ${error}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  return {
    origin,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await Deno.remove(dir, { recursive: true });
    },
  };
}
