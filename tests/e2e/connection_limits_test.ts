/**
 * Hostile clients at the connection level (issue 9 items 1 and 4): unfinished requests and idle
 * keep-alive connections are closed after HEADER_TIMEOUT, BODY_TIMEOUT and IDLE_TIMEOUT, and a
 * flood of connections beyond the process's file descriptors neither kills the gateway nor keeps
 * it from serving once the flood is reaped.
 */
import assert from "node:assert/strict";
import { FakeGitHub } from "../support/fake_github.ts";
import { TEST_TOKEN } from "../support/gateway.ts";
import { startGatewayProcess } from "../support/process.ts";
import { type RawConnection, rawConnection } from "../support/raw_http.ts";

const PAT = "ghp_limits";
/** Every timeout is 1 s; a connection still open this long after was not reaped. */
const TIMEOUTS = { HEADER_TIMEOUT: "1", BODY_TIMEOUT: "1", IDLE_TIMEOUT: "1" };
const REAPED_WITHIN_MS = 6000;

async function withGatewayProcess(
  env: Record<string, string>,
  fn: (url: string, exited: () => boolean) => Promise<void>,
  descriptorLimit?: number,
): Promise<void> {
  const fake = await FakeGitHub.start({ pats: { [PAT]: {} } });
  const gateway = await startGatewayProcess(fake.url, { GITHUB_PAT_ONE: PAT, ...env }, {
    descriptorLimit,
  });
  let exited = false;
  gateway.server.status().then(() => exited = true);
  try {
    await fn(gateway.server.url, () => exited);
  } finally {
    await gateway.stop();
    await fake.close();
  }
}

async function zen(url: string): Promise<Response> {
  return await fetch(`${url}/zen`, { headers: { authorization: `token ${TEST_TOKEN}` } });
}

/** Sends `text`, then expects the gateway to close the connection with no answer. */
async function assertReaped(url: string, text: string, label: string): Promise<void> {
  const conn = await rawConnection(url);
  try {
    await conn.send(text);
    const { closed, text: received } = await conn.closed(REAPED_WITHIN_MS);
    assert.ok(closed, `${label}: still open after ${REAPED_WITHIN_MS} ms`);
    assert.equal(received, "", `${label}: no answer to an unfinished request`);
  } finally {
    conn.close();
  }
}

Deno.test("unfinished requests and idle keep-alive connections are closed after their timeout", async () => {
  await withGatewayProcess(TIMEOUTS, async (url, exited) => {
    const head = `GET /zen HTTP/1.1\r\nhost: x\r\nauthorization: token ${TEST_TOKEN}\r\n`;
    await Promise.all([
      assertReaped(url, "", "nothing sent"),
      assertReaped(url, "GET /ze", "half a request line"),
      assertReaped(url, head, "half the headers"),
      assertReaped(
        url,
        `POST /graphql HTTP/1.1\r\nhost: x\r\nauthorization: token ${TEST_TOKEN}\r\n` +
          `content-type: application/json\r\ncontent-length: 100\r\n\r\n{"query":`,
        "half a body",
      ),
    ]);

    // A keep-alive connection is answered, then closed once it idles past IDLE_TIMEOUT.
    const conn: RawConnection = await rawConnection(url);
    try {
      await conn.send(`${head}\r\n`);
      assert.match(await conn.response(REAPED_WITHIN_MS), /^HTTP\/1\.1 200 /);
      await conn.send(`${head}\r\n`);
      assert.match(await conn.response(REAPED_WITHIN_MS), /^HTTP\/1\.1 200 /, "kept alive");
      const { closed } = await conn.closed(REAPED_WITHIN_MS);
      assert.ok(closed, "an idle keep-alive connection is closed");
    } finally {
      conn.close();
    }
    assert.equal((await zen(url)).status, 200);
    assert.ok(!exited());
  });
});

Deno.test("a slow but steady request body is not cut off by BODY_TIMEOUT", async () => {
  await withGatewayProcess(TIMEOUTS, async (url) => {
    const body = JSON.stringify({ query: "{ viewer { login } }" });
    const conn = await rawConnection(url);
    try {
      await conn.send(
        `POST /graphql HTTP/1.1\r\nhost: x\r\nauthorization: token ${TEST_TOKEN}\r\n` +
          `content-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`,
      );
      // Three pauses of 0.6 s each: longer than BODY_TIMEOUT altogether, shorter one by one.
      for (const part of [body.slice(0, 5), body.slice(5, 10), body.slice(10)]) {
        await new Promise((resolve) => setTimeout(resolve, 600));
        await conn.send(part);
      }
      assert.match(await conn.response(REAPED_WITHIN_MS), /^HTTP\/1\.1 200 /);
    } finally {
      conn.close();
    }
  });
});

Deno.test("behind the listener, Link headers lead back to the address the client used", async () => {
  await withGatewayProcess({}, async (url) => {
    const response = await fetch(`${url}/repos/acme/app/issues?per_page=10`, {
      headers: { authorization: `token ${TEST_TOKEN}` },
    });
    await response.body?.cancel();
    assert.equal(response.status, 200);
    assert.match(response.headers.get("link")!, new RegExp(`^<${url}/repos/acme/app/issues\\?`));
  });
});

/** Opens `count` connections that each send half a request line, as fast as they are accepted. */
async function flood(url: string, count: number): Promise<RawConnection[]> {
  const conns: RawConnection[] = [];
  for (let i = 0; i < count; i++) {
    const conn = await rawConnection(url);
    conns.push(conn);
    await conn.send("GET /ze").catch(() => {});
  }
  return conns;
}

async function servedAfterFlood(url: string, exited: () => boolean): Promise<void> {
  const conns = await flood(url, 100);
  try {
    // Every flooding connection is refused or reaped; none is answered.
    const outcomes = await Promise.all(conns.map((conn) => conn.closed(REAPED_WITHIN_MS)));
    assert.ok(outcomes.every((outcome) => outcome.closed), "every flooding connection closed");
  } finally {
    for (const conn of conns) conn.close();
  }
  assert.ok(!exited(), "the gateway survived the flood");
  const response = await zen(url);
  assert.equal(response.status, 200);
  assert.equal(await response.text(), "Keep it logically awesome.");
  assert.ok(!exited());
}

Deno.test("ulimit -n 64: more half-requests than descriptors are refused or reaped, then a request is served", async () => {
  await withGatewayProcess(
    { ...TIMEOUTS, MAX_CONNECTIONS: "4" },
    servedAfterFlood,
    64,
  );
});

Deno.test("ulimit -n 64 with a connection cap above it: accepting backs off and goes on", async () => {
  await withGatewayProcess(
    { ...TIMEOUTS, MAX_CONNECTIONS: "1000" },
    servedAfterFlood,
    64,
  );
});
