import assert from "node:assert/strict";
import { command } from "../../scripts/launch.ts";
import { FakeGitHub } from "../support/fake_github.ts";
import { rawRequest } from "../support/raw_http.ts";

interface OtlpAttribute {
  key: string;
  value: { stringValue?: string; intValue?: string };
}
interface OtlpSpan {
  name: string;
  attributes: OtlpAttribute[];
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function waitFor(url: string, child: Deno.ChildProcess): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      const response = await fetch(url);
      await response.body?.cancel();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  child.kill();
  throw new Error(`gateway did not start at ${url}`);
}

Deno.test("OTEL_DENO=true exports a span per request with client and route attributes", async () => {
  const spans: OtlpSpan[] = [];
  const collector = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const body = await req.json();
    if (new URL(req.url).pathname === "/v1/traces") {
      for (const resource of body.resourceSpans ?? []) {
        for (const scope of resource.scopeSpans ?? []) spans.push(...scope.spans);
      }
    }
    return Response.json({});
  });
  const fake = await FakeGitHub.start({ pats: { "pat-otel": {} } });
  const dir = await Deno.makeTempDir();
  const registry = `${dir}/registry.yaml`;
  await Deno.writeTextFile(
    registry,
    "version: 1\nclients:\n  - name: ci\n    token: otel-client\n",
  );
  const port = freePort();
  const { args, env } = command("start", {
    GITHUB_API_URL: fake.url,
    CLIENT_REGISTRY_FILE_PATH: registry,
    STATE_DIRECTORY: dir,
    CACHE_BACKEND_URL: "memory://",
    BIND: "127.0.0.1",
    PORT: String(port),
    GITHUB_PAT_OTEL: "pat-otel",
  });
  const child = new Deno.Command(Deno.execPath(), {
    args: [...args],
    env: {
      ...env,
      OTEL_DENO: "true",
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${collector.addr.port}`,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_DENO_CONSOLE: "ignore",
    },
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    await waitFor(`http://127.0.0.1:${port}/healthz`, child);
    const response = await fetch(`http://127.0.0.1:${port}/repos/acme/app/issues/7`, {
      headers: { authorization: "token otel-client" },
    });
    assert.equal(response.status, 404);
    await response.body?.cancel();
    const invented = await rawRequest(`http://127.0.0.1:${port}`, {
      method: `M${"x".repeat(1000)}X`,
      target: "/zen",
    });
    assert.equal(invented.status, 401);
    child.kill("SIGTERM");
    assert.equal((await child.status).code, 0);
    const attribute = (span: OtlpSpan, key: string) =>
      span.attributes.find((a) => a.key === key)?.value.stringValue;
    const requestSpan = spans.find((s) => attribute(s, "github_proxy.client") === "ci");
    assert.ok(requestSpan, `a span with the client attribute among ${spans.length}`);
    assert.equal(
      attribute(requestSpan, "http.route"),
      "/repos/{owner}/{repo}/issues/{issue_number}",
    );
    assert.equal(requestSpan.name, "GET /repos/{owner}/{repo}/issues/{issue_number}");
    const inventedSpan = spans.find((s) =>
      attribute(s, "github_proxy.client") === "unauthenticated"
    );
    assert.ok(inventedSpan);
    assert.equal(inventedSpan.name, "other /zen");
    // Deno's own `http.request.method` attribute carries the method as sent; not ours to change.
  } finally {
    await fake.close();
    await collector.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
