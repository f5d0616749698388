/** The client's base (DESIGN §5) as a table: settings and headers → base, and what was ignored. */
import assert from "node:assert/strict";
import {
  type BaseSettings,
  clientBase,
  firstForwardedElement,
  type RejectedHeader,
} from "../../../src/identify/client_base.ts";

const OWN = "http://127.0.0.1:8080";
const TRUSTED: BaseSettings = { trustProxyHeaders: true };
const UNTRUSTED: BaseSettings = { trustProxyHeaders: false };
const PUBLIC: BaseSettings = { publicUrl: "https://gw.example/gh", trustProxyHeaders: true };

type Row = [
  label: string,
  settings: BaseSettings,
  headers: Record<string, string>,
  expected: string,
  rejected?: RejectedHeader[],
];

/** REST base for a client that came without a mount or `/api/v3`. */
const TABLE: Row[] = [
  ["own origin", UNTRUSTED, {}, OWN],
  [
    "untrusted headers change nothing",
    UNTRUSTED,
    {
      forwarded: "proto=https;host=evil.example",
      "x-forwarded-proto": "https",
      "x-forwarded-host": "evil.example",
      "x-forwarded-prefix": "/evil",
    },
    OWN,
  ],
  ["PUBLIC_URL wins", PUBLIC, { "x-forwarded-host": "other.example" }, "https://gw.example/gh"],
  ["trusted, no headers", TRUSTED, {}, OWN],
  ["X-Forwarded-Proto alone", TRUSTED, { "x-forwarded-proto": "https" }, "https://127.0.0.1:8080"],
  [
    "X-Forwarded-Proto/Host/Prefix",
    TRUSTED,
    {
      "x-forwarded-proto": "HTTPS",
      "x-forwarded-host": "gw.example",
      "x-forwarded-prefix": "/gh/",
    },
    "https://gw.example/gh",
  ],
  [
    "first of each list (the proxy nearest the client)",
    TRUSTED,
    { "x-forwarded-proto": "https, http", "x-forwarded-host": "gw.example, inner:8080" },
    "https://gw.example",
  ],
  ["a root prefix adds nothing", TRUSTED, { "x-forwarded-prefix": "/" }, OWN],
  [
    "Forwarded, first element",
    TRUSTED,
    { forwarded: "for=192.0.2.60;proto=https;host=gw.example, proto=http;host=inner" },
    "https://gw.example",
  ],
  [
    "Forwarded, quoted values and case",
    TRUSTED,
    { forwarded: 'For="[2001:db8::1]:4711"; Proto="https"; Host="gw.example:8443"' },
    "https://gw.example:8443",
  ],
  [
    "Forwarded over X-Forwarded-*, prefix from X-Forwarded-Prefix",
    TRUSTED,
    {
      forwarded: "proto=https;host=gw.example",
      "x-forwarded-proto": "http",
      "x-forwarded-host": "other.example",
      "x-forwarded-prefix": "/gh",
    },
    "https://gw.example/gh",
  ],
  [
    "Forwarded without host: X-Forwarded-Host",
    TRUSTED,
    { forwarded: "proto=https", "x-forwarded-host": "gw.example" },
    "https://gw.example",
  ],
  [
    "host with a path",
    TRUSTED,
    { "x-forwarded-host": "evil.example/x" },
    OWN,
    ["X-Forwarded-Host"],
  ],
  ["host with userinfo", TRUSTED, { "x-forwarded-host": "u@evil.example" }, OWN, [
    "X-Forwarded-Host",
  ]],
  ["host with a space", TRUSTED, { "x-forwarded-host": "a b" }, OWN, ["X-Forwarded-Host"]],
  ["unknown proto", TRUSTED, { "x-forwarded-proto": "gopher" }, OWN, ["X-Forwarded-Proto"]],
  ["prefix without /", TRUSTED, { "x-forwarded-prefix": "gh" }, OWN, ["X-Forwarded-Prefix"]],
  ["prefix with ..", TRUSTED, { "x-forwarded-prefix": "/a/../b" }, OWN, ["X-Forwarded-Prefix"]],
  ["prefix //host", TRUSTED, { "x-forwarded-prefix": "//evil" }, OWN, ["X-Forwarded-Prefix"]],
  ["prefix with a quote", TRUSTED, { "x-forwarded-prefix": '/a"b' }, OWN, ["X-Forwarded-Prefix"]],
  [
    "Forwarded bad host, X-Forwarded-Host used",
    TRUSTED,
    { forwarded: 'host="evil/x"', "x-forwarded-host": "gw.example" },
    "http://gw.example",
    ["Forwarded host"],
  ],
  ["Forwarded bad proto", TRUSTED, { forwarded: "proto=ftp" }, OWN, ["Forwarded proto"]],
  ["Forwarded unterminated quote", TRUSTED, { forwarded: 'host="gw' }, OWN, ["Forwarded"]],
  ["Forwarded pair without =", TRUSTED, { forwarded: "host" }, OWN, ["Forwarded"]],
];

for (const [label, settings, headers, expected, rejected = []] of TABLE) {
  Deno.test(`clientBase: ${label}`, () => {
    const base = clientBase(
      { origin: OWN, headers: new Headers(headers), mount: "", enterprisePrefix: "" },
      settings,
    );
    assert.equal(base.api, expected);
    assert.equal(base.uploads, `${expected}/api/uploads`);
    assert.deepEqual(base.rejected, rejected);
  });
}

Deno.test("clientBase adds the mount, and /api/v3 to the REST base only", () => {
  for (const settings of [UNTRUSTED, PUBLIC]) {
    const root = settings.publicUrl ?? OWN;
    const base = clientBase(
      { origin: OWN, headers: new Headers(), mount: "/github", enterprisePrefix: "/api/v3" },
      settings,
    );
    assert.equal(base.api, `${root}/github/api/v3`);
    assert.equal(base.uploads, `${root}/github/api/uploads`);
  }
});

Deno.test("firstForwardedElement stops at the first unquoted comma", () => {
  assert.deepEqual(
    firstForwardedElement('host="a,b";proto=https, host=c'),
    new Map([["host", "a,b"], ["proto", "https"]]),
  );
  assert.deepEqual(firstForwardedElement('host="a\\"b"'), new Map([["host", 'a"b']]));
  assert.deepEqual(firstForwardedElement(""), new Map());
  assert.equal(firstForwardedElement("host=a b"), null);
});
