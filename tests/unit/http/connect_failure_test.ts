import assert from "node:assert/strict";
import { connectFailure } from "../../../src/http/connect_failure.ts";

/** `fetch`'s rejection as Deno 2.9.6 words it: `TypeError: fetch failed`, hyper's text as cause. */
const fetchFailed = (cause: string) => new TypeError("fetch failed", { cause: new Error(cause) });

const GHES = "https://ghe.example.com/api/v3/repos/acme/app?per_page=100";
const LOCAL = "https://127.0.0.1:8443/repos/acme/app";

/** Rejections observed on this machine (and rustls' other reasons) → the worded cause. */
const TABLE: [label: string, error: unknown, url: string, cause: string | undefined][] = [
  [
    "unknown issuer (an internal CA not in the store)",
    fetchFailed(
      `error sending request for url (${LOCAL}): client error (Connect): invalid peer certificate: UnknownIssuer`,
    ),
    LOCAL,
    "TLS certificate not trusted (UnknownIssuer)",
  ],
  [
    "a CA certificate served as the server's own",
    fetchFailed(
      `error sending request for url (${LOCAL}): client error (Connect): invalid peer certificate: Other(OtherError(CaUsedAsEndEntity))`,
    ),
    LOCAL,
    "TLS certificate not trusted (CaUsedAsEndEntity)",
  ],
  [
    "expired",
    fetchFailed("client error (Connect): invalid peer certificate: Expired"),
    LOCAL,
    "TLS certificate not trusted (Expired)",
  ],
  [
    "wrong name, with rustls' details left out",
    fetchFailed(
      'client error (Connect): invalid peer certificate: NotValidForNameContext { expected: "x" }',
    ),
    LOCAL,
    "TLS certificate not trusted (NotValidForNameContext)",
  ],
  [
    "DNS",
    fetchFailed(
      `error sending request for url (${GHES}): client error (Connect): dns error: failed to lookup address information: Name or service not known`,
    ),
    GHES,
    "DNS lookup failed for ghe.example.com",
  ],
  [
    "refused",
    fetchFailed(
      `error sending request for url (${LOCAL}): client error (Connect): tcp connect error: Connection refused (os error 111)`,
    ),
    LOCAL,
    "connection refused by 127.0.0.1:8443",
  ],
  [
    "reset",
    fetchFailed("client error (SendRequest): connection error: Connection reset by peer"),
    GHES,
    "connection reset by ghe.example.com",
  ],
  [
    "connect timeout",
    fetchFailed("client error (Connect): tcp connect error: Connection timed out (os error 110)"),
    GHES,
    "connection to ghe.example.com timed out",
  ],
  [
    "no route",
    fetchFailed("client error (Connect): tcp connect error: No route to host (os error 113)"),
    GHES,
    "no route to ghe.example.com",
  ],
  [
    "Deno's blocked ports",
    new TypeError("Fetch failed: Requests to port 1 are blocked"),
    "http://127.0.0.1:1/x",
    "Deno refuses to connect to the port of 127.0.0.1:1",
  ],
  [
    "a TLS alert",
    fetchFailed("client error (Connect): received fatal alert: HandshakeFailure"),
    GHES,
    "TLS handshake with ghe.example.com failed",
  ],
  [
    "outside --allow-net",
    new Deno.errors.NotCapable('Requires net access to "uploads.github.com:443"'),
    "https://uploads.github.com/repos/o/r/releases/1/assets",
    "network access to uploads.github.com is not allowed (--allow-net)",
  ],
  [
    "a host that merely looks like a cause is not one",
    fetchFailed(
      "error sending request for url (https://tls.dns-error.example/x): client error (SendRequest): invalid HTTP version parsed",
    ),
    "https://tls.dns-error.example/x",
    undefined,
  ],
  ["nothing recognisable", new Error("boom"), GHES, undefined],
  ["not an error", "boom", GHES, undefined],
];

for (const [label, error, url, cause] of TABLE) {
  Deno.test(`connectFailure: ${label}`, () => {
    const worded = connectFailure(error, url);
    assert.equal(worded, cause);
    assert.ok(!worded?.includes("per_page"), "never the URL");
  });
}

Deno.test("connectFailure: a cause chain that loops is read to a bound", () => {
  const a = new Error("a");
  const b = new Error("tcp connect error: Connection refused", { cause: a });
  a.cause = b;
  assert.equal(connectFailure(a, LOCAL), "connection refused by 127.0.0.1:8443");
});
