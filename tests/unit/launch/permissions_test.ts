import assert from "node:assert/strict";
import { command } from "../../../scripts/launch.ts";
import { FakeGitHub } from "../../support/fake_github.ts";

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

async function until(url: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const response = await fetch(url);
      await response.body?.cancel();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

Deno.test("the gateway authorises GraphQL under the launcher's least-privilege flags", async () => {
  const fake = await FakeGitHub.start();
  const port = freePort();
  const cmd = command("start", {
    GITHUB_API_URL: fake.url,
    PORT: String(port),
    BIND: "127.0.0.1",
    CACHE_BACKEND_URL: "memory://",
    LOG_LEVEL: "error",
  });
  const child = new Deno.Command(Deno.execPath(), {
    args: [...cmd.args],
    env: cmd.env,
    clearEnv: true,
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  let exited = false;
  const status = child.status.then(() => exited = true);
  try {
    const base = `http://127.0.0.1:${port}`;
    await Promise.race([
      until(`${base}/healthz`),
      status.then(async () => assert.fail(`the gateway exited: ${await stderr}`)),
    ]);
    const response = await fetch(`${base}/graphql`, {
      method: "POST",
      headers: { authorization: "token reader-token-change-me" },
      body: JSON.stringify({ query: "mutation { deleteIssue { clientMutationId } }" }),
    });
    assert.equal(response.status, 403);
    await response.body?.cancel();
    assert.equal(fake.requests.length, 0);
  } finally {
    if (!exited) child.kill("SIGTERM");
    await status;
    await stderr;
    await fake.close();
  }
});
