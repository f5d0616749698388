import assert from "node:assert/strict";
import { clientAddress, logPath } from "../../../src/telemetry/access_log.ts";

Deno.test("logged paths keep the query's names and drop its values", () => {
  const cases: [string, string, string][] = [
    ["/repos/a/b", "", "/repos/a/b"],
    ["/repos/a/b", "page=2&per_page=100", "/repos/a/b?page=&per_page="],
    ["/search/code", "q=secret+stuff", "/search/code?q="],
    ["/x", "flag&token=abc", "/x?flag=&token="],
    ["/x", "&&", "/x"],
  ];
  for (const [path, query, expected] of cases) assert.equal(logPath(path, query), expected, query);
});

Deno.test("client address from Deno's serve info: the peer's host, or the transport", () => {
  assert.equal(
    clientAddress({ remoteAddr: { transport: "tcp", hostname: "10.0.0.7", port: 5 } }),
    "10.0.0.7",
  );
  assert.equal(clientAddress({ remoteAddr: { transport: "unix", path: "/run/s" } }), "unix");
  assert.equal(clientAddress(undefined), undefined);
  assert.equal(clientAddress({}), undefined);
});
