/**
 * GitHub Enterprise Server (DESIGN §5, §14): GraphQL in every spelling reaches the GraphQL
 * endpoint of the configured layout, and when GitHub cannot be reached the 502 and the log say
 * why — an untrusted certificate (which `DENO_CERT` fixes), DNS (a refused connection: in
 * forwarding_test.ts).
 */
import assert from "node:assert/strict";
import { FakeGitHub } from "../support/fake_github.ts";
import { startGateway } from "../support/gateway.ts";
import { startGatewayProcess } from "../support/process.ts";

const PAT = "ghp_enterprise_pool";
const QUERY = JSON.stringify({ query: "query { viewer { login } }" });

async function graphqlPaths(prefix: "" | "/api/v3", targets: readonly string[]) {
  const fake = await FakeGitHub.start({ pats: { [PAT]: {} }, prefix });
  const gw = await startGateway({ githubApiUrl: fake.url, env: { GITHUB_PAT_E: PAT } });
  try {
    for (const target of targets) {
      const response = await fetch(`${gw.url}${target}`, {
        method: "POST",
        headers: { authorization: "token test-token", "content-type": "application/json" },
        body: QUERY,
      });
      assert.equal(response.status, 200, target);
      assert.equal((await response.json()).data.viewer.login, "fake", target);
      assert.equal(response.headers.get("x-ratelimit-resource"), "graphql", target);
    }
    return fake.requests.map((r) => r.path);
  } finally {
    await gw.close();
    await fake.close();
  }
}

Deno.test("GHES: /graphql, /api/graphql and /api/v3/graphql all reach <host>/api/graphql", async () => {
  const targets = ["/graphql", "/api/graphql", "/api/v3/graphql", "/api/v3/api/graphql"];
  assert.deepEqual(await graphqlPaths("/api/v3", targets), targets.map(() => "/api/graphql"));
});

Deno.test("github.com: /api/v3/graphql and /graphql reach <api>/graphql", async () => {
  const targets = ["/graphql", "/api/v3/graphql", "/api/graphql"];
  assert.deepEqual(await graphqlPaths("", targets), targets.map(() => "/graphql"));
});

/** A test CA and a certificate for 127.0.0.1 it issued, made with openssl in a temp dir. */
async function testCa(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  const run = async (args: string[]) => {
    const out = await new Deno.Command("openssl", {
      args,
      cwd: dir,
      stdout: "null",
      stderr: "piped",
    })
      .output();
    if (!out.success) {
      throw new Error(`openssl ${args[0]}: ${new TextDecoder().decode(out.stderr)}`);
    }
  };
  await run([
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "1",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-subj",
    "/CN=github-proxy test CA",
  ]); // deno-fmt-ignore
  await run([
    "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out", "leaf.csr",
    "-subj", "/CN=127.0.0.1",
  ]); // deno-fmt-ignore
  await Deno.writeTextFile(
    `${dir}/leaf.ext`,
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n",
  );
  await run([
    "x509",
    "-req",
    "-in",
    "leaf.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-days",
    "1",
    "-out",
    "cert.pem",
    "-extfile",
    "leaf.ext",
  ]); // deno-fmt-ignore
  return {
    ca: `${dir}/ca.pem`,
    cert: await Deno.readTextFile(`${dir}/cert.pem`),
    key: await Deno.readTextFile(`${dir}/key.pem`),
  };
}

/** What the in-process gateway answers and logs for `GET /zen` with `githubApiUrl` upstream. */
async function unreachable(githubApiUrl: string): Promise<{ message: string; logs: string[] }> {
  const gw = await startGateway({ githubApiUrl, env: { GITHUB_PAT_E: PAT } });
  try {
    const response = await fetch(`${gw.url}/zen`, {
      headers: { authorization: "token test-token" },
    });
    assert.equal(response.status, 502);
    const body = await response.json();
    assert.equal(typeof body.documentation_url, "string");
    for (const text of [JSON.stringify(body), ...gw.logs]) {
      assert.ok(!text.includes(PAT), "never the credential");
      assert.ok(!/\n\s+at /.test(text), "never a stack");
    }
    return { message: body.message, logs: gw.logs };
  } finally {
    await gw.close();
  }
}

function failureLog(logs: readonly string[]): Record<string, string> {
  const line = logs.find((l) => l.includes('"upstream call failed"'));
  assert.ok(line, `no failure log in:\n${logs.join("\n")}`);
  return JSON.parse(line);
}

Deno.test("an internal CA: the 502 names the certificate; with DENO_CERT the same call succeeds", async () => {
  const dir = await Deno.makeTempDir({ prefix: "github-proxy-ca-" });
  const fake = await FakeGitHub.start({ pats: { [PAT]: {} }, prefix: "/api/v3" });
  const { ca, cert, key } = await testCa(dir);
  // GHES behind TLS with the internal CA's certificate, in front of the fake.
  const tls = Deno.serve(
    { hostname: "127.0.0.1", port: 0, cert, key, onListen() {} },
    (request) => {
      const url = new URL(request.url);
      return fetch(`${fake.origin}${url.pathname}${url.search}`, {
        method: request.method,
        headers: request.headers,
        body: request.body,
      });
    },
  );
  const ghes = `https://127.0.0.1:${tls.addr.port}/api/v3`;
  try {
    const { message, logs } = await unreachable(ghes);
    assert.equal(
      message,
      "GitHub could not be reached: TLS certificate not trusted (UnknownIssuer)",
    );
    assert.equal(failureLog(logs).reason, "TLS certificate not trusted (UnknownIssuer)");
    assert.equal(fake.requests.length, 0);

    // The gateway as deployed, under the launcher's flags, trusting the CA through DENO_CERT.
    const gateway = await startGatewayProcess(ghes, { DENO_CERT: ca, GITHUB_PAT_E: PAT });
    try {
      const response = await fetch(`${gateway.server.url}/zen`, {
        headers: { authorization: "token test-token" },
      });
      assert.equal(response.status, 200, await response.clone().text());
      assert.equal(await response.text(), "Keep it logically awesome.");
      assert.deepEqual(fake.requests.map((r) => [r.path, r.credential]), [["/api/v3/zen", PAT]]);
    } finally {
      await gateway.stop();
    }
  } finally {
    await tls.shutdown();
    await fake.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an unresolvable GHES host: the 502 and the log name the DNS lookup", async () => {
  // A process under the launcher's flags: the test runner itself may reach loopback only.
  const gateway = await startGatewayProcess("https://ghe.example.invalid/api/v3", {
    GITHUB_PAT_E: PAT,
  });
  try {
    const response = await fetch(`${gateway.server.url}/zen`, {
      headers: { authorization: "token test-token" },
    });
    assert.equal(response.status, 502);
    assert.equal(
      (await response.json()).message,
      "GitHub could not be reached: DNS lookup failed for ghe.example.invalid",
    );
    // The process writes its log in batches a few milliseconds later: waited for, within 5 s.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      gateway.server.waitForLog(/"upstream call failed"/),
      new Promise((resolve) => timer = setTimeout(resolve, 5_000)),
    ]).finally(() => clearTimeout(timer));
    const log = failureLog(gateway.server.logs);
    assert.equal(log.reason, "DNS lookup failed for ghe.example.invalid");
    assert.ok(!gateway.server.logs.some((line) => line.includes(PAT)), "never the credential");
  } finally {
    await gateway.stop();
  }
});
