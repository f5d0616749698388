/**
 * The pure parts of the supervised listener: where HTTP/1.1 messages end in a byte stream, and
 * which timeout a connection is under.
 */
import assert from "node:assert/strict";
import {
  type FramePhase,
  MAX_HEAD_BYTES,
  MessageFramer,
  requestBodyLength,
  responseBodyLength,
} from "../../../src/serve/framing.ts";
import {
  type ConnectionSnapshot,
  ConnectionWatch,
  deadlineOf,
  MAX_PIPELINED,
} from "../../../src/serve/guard.ts";

const encoder = new TextEncoder();

function requests(): MessageFramer {
  return new MessageFramer("request", requestBodyLength);
}

/** Feeds `parts` one by one; returns the phase and completed count after each. */
function follow(framer: MessageFramer, parts: readonly string[]): [FramePhase, number][] {
  return parts.map((part) => {
    framer.push(encoder.encode(part));
    return [framer.phase, framer.completed];
  });
}

const REQUEST_CASES: [string, string[], [FramePhase, number][]][] = [
  ["half a request line", ["GET /ze"], [["head", 0]]],
  ["a head split anywhere", ["GET / HTTP/1.1\r\nho", "st: x\r\n\r", "\n"], [
    ["head", 0],
    ["head", 0],
    ["idle", 1],
  ]],
  ["bare LF line ends", ["GET / HTTP/1.1\nhost: x\n\n"], [["idle", 1]]],
  ["empty lines before a request are skipped", ["\r\n\r\n", "GET / HTTP/1.1\r\n\r\n"], [
    ["idle", 0],
    ["idle", 1],
  ]],
  ["Content-Length body in parts", ["POST / HTTP/1.1\r\ncontent-length: 5\r\n\r\nab", "cde"], [
    ["body", 0],
    ["idle", 1],
  ]],
  ["repeated equal Content-Length", ["POST / HTTP/1.1\r\ncontent-length: 2, 2\r\n\r\nab"], [
    ["idle", 1],
  ]],
  ["conflicting Content-Length", ["POST / HTTP/1.1\r\ncontent-length: 2, 3\r\n\r\n"], [
    ["opaque", 0],
  ]],
  ["chunked, with extension and trailer", [
    "POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n3;x=1\r\nabc\r",
    "\n0\r\nx-trailer: 1\r\n",
    "\r\n",
  ], [["body", 0], ["body", 0], ["idle", 1]]],
  ["chunked and Content-Length together", [
    "POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\ncontent-length: 3\r\n\r\n",
  ], [["opaque", 0]]],
  ["pipelined requests in one read", ["GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\nGET /c"], [
    ["head", 2],
  ]],
  ["the HTTP/2 preface", ["PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"], [["opaque", 0]]],
  ["an oversized head", [`GET / HTTP/1.1\r\nx: ${"a".repeat(MAX_HEAD_BYTES)}`], [["opaque", 0]]],
];

for (const [label, parts, expected] of REQUEST_CASES) {
  Deno.test(`request framing: ${label}`, () => {
    assert.deepEqual(follow(requests(), parts), expected);
  });
}

Deno.test("request framing: a stream split at every byte frames as one read does", () => {
  const stream =
    "POST /a HTTP/1.1\r\nHost: x\r\n Content-Length : 3\r\nX-Long-Header-Name: y\r\n\r\n" +
    "abcGET /b HTTP/1.1\n\nPOST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" +
    "2\r\nab\r\n0\r\n\r\nGET /d HTTP/1.1\r\n";
  const bytes = encoder.encode(stream);
  for (let split = 0; split <= bytes.length; split++) {
    const framer = requests();
    // One buffer reused for both parts, as the relay reuses its read buffer.
    const buffer = new Uint8Array(bytes.length);
    buffer.set(bytes.subarray(0, split));
    framer.push(buffer.subarray(0, split));
    buffer.fill(0x41);
    buffer.set(bytes.subarray(split));
    framer.push(buffer.subarray(0, bytes.length - split));
    assert.deepEqual([framer.phase, framer.completed], ["head", 3], `split at ${split}`);
  }
});

Deno.test("request framing: a head just within the limit is framed, one byte more is not", () => {
  const head = (size: number) => {
    const start = "GET / HTTP/1.1\r\nx: ";
    return `${start}${"a".repeat(size - start.length - 4)}\r\n\r\n`;
  };
  assert.deepEqual(follow(requests(), [head(MAX_HEAD_BYTES)]), [["idle", 1]]);
  const parts = head(MAX_HEAD_BYTES + 1);
  assert.deepEqual(follow(requests(), [parts.slice(0, 100), parts.slice(100)]), [
    ["head", 0],
    ["opaque", 0],
  ]);
});

const RESPONSE_LENGTH_CASES: [string, number, Record<string, string>, string, unknown][] = [
  ["Content-Length", 200, { "content-length": "12" }, "GET", 12],
  ["chunked", 200, { "transfer-encoding": "chunked" }, "GET", "chunked"],
  ["an answer to HEAD has no body", 200, { "content-length": "12" }, "HEAD", 0],
  ["304 has no body", 304, {}, "GET", 0],
  ["204 has no body", 204, {}, "GET", 0],
  ["100 Continue has no body", 100, {}, "POST", 0],
  ["read until close", 200, {}, "GET", "opaque"],
  ["switching protocols", 101, {}, "GET", "opaque"],
];

for (const [label, status, headers, method, expected] of RESPONSE_LENGTH_CASES) {
  Deno.test(`response body length: ${label}`, () => {
    assert.equal(
      responseBodyLength({ status }, new Map(Object.entries(headers)), method),
      expected,
    );
  });
}

const TIMEOUTS = { headerMs: 100, bodyMs: 200, idleMs: 50 };
const BASE: ConnectionSnapshot = {
  openedAt: 1000,
  request: "idle",
  headStartedAt: 1000,
  lastClientByteAt: 1000,
  lastResponseAt: 1000,
  requestsDone: 0,
  responsesDone: 0,
  responseOpaque: false,
};

const DEADLINE_CASES: [string, Partial<ConnectionSnapshot>, unknown][] = [
  ["nothing sent yet: header timeout from the connection's start", {}, {
    at: 1100,
    reason: "header",
  }],
  ["inside a head: header timeout from its first byte", {
    request: "head",
    headStartedAt: 2000,
    lastClientByteAt: 2050,
  }, { at: 2100, reason: "header" }],
  ["an unframeable request: header timeout", { request: "opaque", headStartedAt: 3000 }, {
    at: 3100,
    reason: "header",
  }],
  ["inside a body: body timeout from the last byte", { request: "body", lastClientByteAt: 4000 }, {
    at: 4200,
    reason: "body",
  }],
  ["waiting for the gateway's answer: none", { requestsDone: 2, responsesDone: 1 }, undefined],
  ["answered, nothing new: idle timeout from the answer", {
    requestsDone: 1,
    responsesDone: 1,
    lastResponseAt: 5000,
  }, { at: 5050, reason: "idle" }],
  [
    "an upgraded or close-delimited answer: none",
    { request: "body", responseOpaque: true },
    undefined,
  ],
];

for (const [label, snapshot, expected] of DEADLINE_CASES) {
  Deno.test(`deadline: ${label}`, () => {
    assert.deepEqual(deadlineOf({ ...BASE, ...snapshot }, TIMEOUTS), expected);
  });
}

Deno.test("watch: a keep-alive exchange moves from header to body to no deadline to idle", () => {
  const watch = new ConnectionWatch(0);
  const deadline = () => deadlineOf(watch.snapshot(), TIMEOUTS);
  assert.deepEqual(deadline(), { at: 100, reason: "header" });
  watch.fromClient(encoder.encode("POST /graphql HTTP/1.1\r\ncontent-length: 4\r\n\r\nab"), 10);
  assert.deepEqual(deadline(), { at: 210, reason: "body" });
  watch.fromClient(encoder.encode("cd"), 20);
  assert.equal(deadline(), undefined);
  watch.fromServer(encoder.encode("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\no"), 30);
  assert.equal(deadline(), undefined);
  watch.fromServer(encoder.encode("k"), 40);
  assert.deepEqual(deadline(), { at: 90, reason: "idle" });
  watch.fromClient(encoder.encode("HEAD / HTTP/1.1\r\n"), 60);
  assert.deepEqual(deadline(), { at: 160, reason: "header" });
  watch.fromClient(encoder.encode("\r\n"), 70);
  // The answer to HEAD announces a length but carries no body.
  watch.fromServer(encoder.encode("HTTP/1.1 200 OK\r\ncontent-length: 99\r\n\r\n"), 80);
  assert.deepEqual(deadline(), { at: 130, reason: "idle" });
});

Deno.test("watch: 100 Continue is not the answer", () => {
  const watch = new ConnectionWatch(0);
  watch.fromClient(
    encoder.encode("POST / HTTP/1.1\r\nexpect: 100-continue\r\ncontent-length: 1\r\n\r\nx"),
    0,
  );
  watch.fromServer(encoder.encode("HTTP/1.1 100 Continue\r\n\r\n"), 10);
  assert.equal(deadlineOf(watch.snapshot(), TIMEOUTS), undefined);
  watch.fromServer(encoder.encode("HTTP/1.1 204 No Content\r\n\r\n"), 20);
  assert.deepEqual(deadlineOf(watch.snapshot(), TIMEOUTS), { at: 70, reason: "idle" });
});

Deno.test("watch: more pipelined requests than MAX_PIPELINED are refused", () => {
  const watch = new ConnectionWatch(0);
  const one = encoder.encode("GET / HTTP/1.1\r\n\r\n");
  for (let i = 0; i < MAX_PIPELINED; i++) assert.ok(watch.fromClient(one, 0));
  assert.equal(watch.fromClient(one, 0), false);
});
