import assert from "node:assert/strict";
import { parseRegistry, RegistryError } from "../../../src/registry/parse.ts";
import { findClient } from "../../../src/identify/identify.ts";
import { renderTemplate } from "../../../src/registry/template.ts";
import { sha256, toHex } from "../../../src/digest.ts";

const noEnv = () => undefined;

function problemsOf(source: string, env: (name: string) => string | undefined = noEnv): string[] {
  try {
    parseRegistry(source, "r.yaml", env);
  } catch (error) {
    assert.ok(error instanceof RegistryError, String(error));
    return [...error.problems];
  }
  assert.fail("expected the registry to be refused");
}

/** One refused file per validation rule: the problem names the line it is on. */
const INVALID: { rule: string; source: string; line: number; message: RegExp }[] = [
  {
    rule: "unknown top-level field",
    source: "version: 1\nclients: []\nclient: []\n",
    line: 3,
    message: /unknown field "client"/,
  },
  {
    rule: "unknown client field",
    source: "clients:\n  - name: a\n    token: t\n    scope: []\n",
    line: 4,
    message: /unknown field "scope"/,
  },
  {
    rule: "unknown scope field",
    source:
      "clients:\n  - name: a\n    token: t\n    scopes:\n      - path: /x\n        methods: GET\n",
    line: 6,
    message: /unknown field "methods"/,
  },
  {
    rule: "unknown cache field",
    source: "clients:\n  - name: a\n    token: t\n    cache:\n      maxage: 5\n",
    line: 5,
    message: /unknown field "maxage" in cache/,
  },
  {
    rule: "empty token",
    source: "clients:\n  - name: a\n    token: ''\n",
    line: 2,
    message: /empty or missing token/,
  },
  {
    rule: "missing token",
    source: "clients:\n  - name: a\n",
    line: 2,
    message: /empty or missing token/,
  },
  {
    rule: "token that is a list",
    source: "clients:\n  - name: a\n    token: [x]\n",
    line: 3,
    message: /token must be a single value/,
  },
  {
    rule: "duplicate token",
    source: "clients:\n  - name: a\n    token: same\n  - name: b\n    token: same\n",
    line: 4,
    message: /client "b" has the same token as client at r\.yaml:2/,
  },
  {
    rule: "duplicate token, once hashed",
    source: `clients:\n  - name: a\n    token: same\n  - name: b\n    token_sha256: ${
      toHex(sha256("same"))
    }\n`,
    line: 4,
    message: /same token/,
  },
  {
    rule: "duplicate name",
    source: "clients:\n  - name: a\n    token: one\n  - name: a\n    token: two\n",
    line: 4,
    message: /duplicate client name "a" \(first at r\.yaml:2\)/,
  },
  {
    rule: "missing name",
    source: "clients:\n  - token: one\n",
    line: 2,
    message: /client has no "name"/,
  },
  {
    rule: "both token and token_sha256",
    source: `clients:\n  - name: a\n    token: x\n    token_sha256: ${"0".repeat(64)}\n`,
    line: 2,
    message: /both "token" and "token_sha256"/,
  },
  {
    rule: "token_sha256 not 64 hex digits",
    source: "clients:\n  - name: a\n    token_sha256: abc\n",
    line: 2,
    message: /64 hex digits/,
  },
  {
    rule: "invalid path regex",
    source: "clients:\n  - name: a\n    token: t\n    scopes:\n      - path: /repos/(acme\n",
    line: 5,
    message: /invalid path regex "\/repos\/\(acme"/,
  },
  {
    rule: "path regex that would escape the anchors",
    source: "clients:\n  - name: a\n    token: t\n    scopes:\n      - path: /a)|(/b\n",
    line: 5,
    message: /invalid path regex/,
  },
  {
    rule: "invalid method regex",
    source:
      "clients:\n  - name: a\n    token: t\n    scopes:\n      - method: GET|*\n        path: /x\n",
    line: 5,
    message: /invalid method regex/,
  },
  {
    rule: "invalid deny regex",
    source: "clients:\n  - name: a\n    token: t\n    deny:\n      - path: '['\n",
    line: 5,
    message: /invalid path regex/,
  },
  {
    rule: "rule without path",
    source: "clients:\n  - name: a\n    token: t\n    scopes:\n      - method: GET\n",
    line: 5,
    message: /rule has no "path"/,
  },
  {
    rule: "graphql allowance not query, mutation or any",
    source:
      "clients:\n  - name: a\n    token: t\n    scopes:\n      - path: /graphql\n        graphql: read\n",
    line: 5,
    message: /"graphql" must be query, mutation or any/,
  },
  {
    rule: "scopes key with nothing under it",
    source: "clients:\n  - name: a\n    token: t\n    scopes:\n    # - path: /x\n",
    line: 4,
    message: /scopes is empty; write \[\] for no access/,
  },
  {
    rule: "scopes not a list",
    source: "clients:\n  - name: a\n    token: t\n    scopes: /repos/.*\n",
    line: 4,
    message: /scopes must be a list/,
  },
  {
    rule: "deny not a list",
    source: "clients:\n  - name: a\n    token: t\n    deny:\n",
    line: 4,
    message: /deny is empty/,
  },
  {
    rule: "cache.max_age not a whole number",
    source: "clients:\n  - name: a\n    token: t\n    cache: {max_age: soon}\n",
    line: 4,
    message: /cache\.max_age must be a whole number/,
  },
  {
    rule: "unsupported version",
    source: "version: 2\nclients: []\n",
    line: 1,
    message: /unsupported version/,
  },
  {
    rule: "clients not a list",
    source: "version: 1\nclients: {}\n",
    line: 2,
    message: /"clients" must be a list/,
  },
  {
    rule: "client not a mapping",
    source: "clients:\n  - just-a-name\n",
    line: 2,
    message: /a client must be a mapping/,
  },
  {
    rule: "duplicate key (YAML)",
    source: "clients:\n  - name: a\n    token: t\n    token: u\n",
    line: 4,
    message: /unique/i,
  },
  {
    rule: "path regex with a backreference (needs backtracking; RE2 has none)",
    source: "clients:\n  - name: a\n    token: t\n    scopes:\n      - path: /repos/(\\w+)/\\1\n",
    line: 5,
    message: /invalid path regex .*no lookaround or backreferences/,
  },
  {
    rule: "path regex with a lookahead",
    source: "clients:\n  - name: a\n    token: t\n    deny:\n      - path: /repos/(?!acme/).*\n",
    line: 5,
    message: /invalid path regex .*no lookaround or backreferences/,
  },
  {
    rule: "method present but empty (a commented-out value)",
    source:
      "clients:\n  - name: a\n    token: t\n    scopes:\n      - path: /repos/.*\n        method: # POST\n",
    line: 6,
    message: /scopes "method" is empty; write a value or remove the key/,
  },
  {
    rule: "method present but null",
    source: "clients:\n  - name: a\n    token: t\n    deny:\n      - method: ~\n        path: .*\n",
    line: 5,
    message: /deny "method" is empty/,
  },
  {
    rule: "graphql present but empty",
    source:
      "clients:\n  - name: a\n    token: t\n    scopes:\n      - method: POST\n        path: /graphql\n        graphql:\n",
    line: 7,
    message: /scopes "graphql" is empty/,
  },
  {
    rule: "graphql present but empty in a deny rule",
    source:
      "clients:\n  - name: a\n    token: t\n    deny:\n      - path: /graphql\n        graphql: ''\n",
    line: 6,
    message: /deny "graphql" is empty/,
  },
  {
    rule: "path present but empty",
    source:
      "clients:\n  - name: a\n    token: t\n    scopes:\n      - method: GET\n        path:\n",
    line: 6,
    message: /scopes "path" is empty/,
  },
  {
    rule: "token with an explicit YAML type",
    source: "clients:\n  - name: a\n    token: !!int 12\n",
    line: 3,
    message: /token must be text; write it in quotes/,
  },
  {
    rule: "missing environment variable",
    source: "clients:\n  - name: a\n    token: {{ env.TOKEN_A }}\n",
    line: 3,
    message: /environment variable TOKEN_A is not set/,
  },
  {
    rule: "environment variable with a line break",
    source: "clients:\n  - name: a\n    token: {{ env.MULTI }}\n",
    line: 3,
    message: /environment variable MULTI contains a line break/,
  },
  {
    rule: "unknown priority",
    source: "clients:\n  - name: a\n    token: t\n    priority: urgent\n",
    line: 4,
    message: /client "a" priority must be low, normal or high/,
  },
  {
    rule: "limits that are not a mapping",
    source: "clients:\n  - name: a\n    token: t\n    limits: 1000\n",
    line: 4,
    message: /client "a" limits must be a mapping/,
  },
  {
    rule: "unknown limit",
    source: "clients:\n  - name: a\n    token: t\n    limits:\n      points: 5\n",
    line: 5,
    message: /unknown field "points" in client "a" limits/,
  },
  {
    rule: "a limit of 0",
    source: "clients:\n  - name: a\n    token: t\n    limits:\n      concurrency: 0\n",
    line: 5,
    message: /client "a" limits.concurrency must be a whole number above 0/,
  },
  {
    rule: "a fractional limit",
    source: "clients:\n  - name: a\n    token: t\n    limits:\n      points_per_hour: 2.5\n",
    line: 5,
    message: /limits.points_per_hour must be a whole number above 0/,
  },
  {
    rule: "a limit written as text",
    source: "clients:\n  - name: a\n    token: t\n    limits:\n      requests_per_minute: '60'\n",
    line: 5,
    message: /limits.requests_per_minute must be a whole number above 0/,
  },
  {
    rule: "unknown field in defaults",
    source: "clients: []\ndefaults:\n  limit: {}\n",
    line: 3,
    message: /unknown field "limit" in defaults/,
  },
  {
    rule: "a bad default limit",
    source: "clients: []\ndefaults:\n  limits:\n    points_per_hour: -1\n",
    line: 4,
    message: /defaults.limits.points_per_hour must be a whole number above 0/,
  },
  {
    rule: "a reserve over 100 %",
    source: "clients: []\nreserve:\n  low: 130\n",
    line: 3,
    message: /reserve.low must be a % from 0 to 100/,
  },
  {
    rule: "unknown reserve",
    source: "clients: []\nreserve:\n  high: 5\n",
    line: 3,
    message: /unknown field "high" in reserve/,
  },
  {
    rule: "a low reserve under the normal one",
    source: "clients: []\nreserve:\n  low: 5\n  normal: 10\n",
    line: 3,
    message: /reserve.low \(5\) must be at least reserve.normal \(10\)/,
  },
];

for (const { rule, source, line, message } of INVALID) {
  Deno.test(`registry refuses: ${rule}`, () => {
    const problems = problemsOf(source, (name) => name === "MULTI" ? "a\nb" : undefined);
    const problem = problems.find((p) => message.test(p));
    assert.ok(problem, `no problem matching ${message} in:\n${problems.join("\n")}`);
    assert.ok(problem.startsWith(`r.yaml:${line}:`), `wrong line in "${problem}"`);
  });
}

Deno.test("registry lists every problem of a file at once", () => {
  const problems = problemsOf(`version: 1
clients:
  - name: a
    token: {{ env.MISSING }}
  - name: a
    token: other
    scopes:
      - path: /repos/(
    colour: blue
`);
  assert.ok(problems.some((p) => p.startsWith("r.yaml:4:") && /MISSING is not set/.test(p)));
  assert.ok(problems.some((p) => p.startsWith("r.yaml:5:") && /duplicate client name/.test(p)));
  assert.ok(problems.some((p) => p.startsWith("r.yaml:8:") && /invalid path regex/.test(p)));
  assert.ok(problems.some((p) => p.startsWith("r.yaml:9:") && /unknown field "colour"/.test(p)));
});

Deno.test("registry error message names the file and never the token", () => {
  try {
    parseRegistry(
      "clients:\n  - name: a\n    token: s3cr3t-value\n  - name: b\n    token: s3cr3t-value\n",
      "r.yaml",
      noEnv,
    );
    assert.fail("expected a RegistryError");
  } catch (error) {
    assert.ok(error instanceof RegistryError);
    assert.match(error.message, /invalid client registry r\.yaml/);
    assert.doesNotMatch(error.message, /s3cr3t/);
  }
});

Deno.test("registry parses every feature", () => {
  const registry = parseRegistry(
    `version: 1
clients:
  - name: ci
    token: {{ env.TOKEN_CI }}
  - name: registrar
    token_sha256: ${toHex(sha256("registrar-token")).toUpperCase()}
    scopes:
      - method: POST
        path: /orgs/acme/actions/runners/(registration|remove)-token
  - name: reader
    token: reader-token
    cache: {max_age: 30}
    scopes: &read
      - method: GET
        path: /repos/acme/.*
      - method: POST
        path: /graphql
        graphql: query
    deny:
      - path: /repos/acme/secrets-.*
  - name: twin
    token: twin-token
    scopes: *read
  - name: nobody
    token: nobody-token
    scopes: []
`,
    "r.yaml",
    (name) => name === "TOKEN_CI" ? "ci: # not a comment" : undefined,
  );
  assert.deepEqual(registry.variables, ["TOKEN_CI"]);
  assert.deepEqual(registry.clients.map((c) => c.name), [
    "ci",
    "registrar",
    "reader",
    "twin",
    "nobody",
  ]);
  const [ci, registrar, reader, twin, nobody] = registry.clients;
  assert.equal(findClient(registry, "ci: # not a comment"), ci);
  assert.equal(findClient(registry, "registrar-token"), registrar);
  assert.equal(findClient(registry, "reader-token"), reader);
  assert.equal(findClient(registry, "unknown"), undefined);
  assert.equal(ci.scopes, null);
  assert.deepEqual(ci.deny, []);
  assert.deepEqual(nobody.scopes, []);
  assert.equal(reader.maxAgeSeconds, 30);
  assert.equal(ci.maxAgeSeconds, undefined);
  assert.deepEqual(reader.scopes?.map((s) => [s.source, s.graphql]), [
    ["GET /repos/acme/.*", "any"],
    ["POST /graphql", "query"],
  ]);
  assert.deepEqual(twin.scopes?.map((s) => s.source), reader.scopes?.map((s) => s.source));
  const [read] = reader.scopes!;
  assert.ok(read.path.matches("/repos/ACME/App"), "case-insensitive");
  assert.ok(!read.path.matches("/x/repos/acme/app"), "anchored at the start");
  assert.ok(!read.method.matches("GETS"), "method anchored");
  assert.ok(registrar.scopes![0].path.matches("/orgs/acme/actions/runners/remove-token"));
  assert.ok(!registrar.scopes![0].path.matches("/orgs/acme/actions/runners/remove-token/x"));
});

/**
 * A token is the characters written: YAML would read these unquoted values as numbers, a
 * boolean or infinity, and accept a different token than the one in the file.
 */
const TYPED_SCALARS: [written: string, yamlWouldRead: string][] = [
  ["0x1F2E3D4C", "523124044"],
  ["000123456789", "123456789"],
  [".inf", "Infinity"],
  ["-.INF", "-Infinity"],
  [".nan", "NaN"],
  ["1e3", "1000"],
  ["0o17", "15"],
  ["1.50", "1.5"],
  ["true", "true"],
  ["False", "false"],
];

for (const [written, yamlWouldRead] of TYPED_SCALARS) {
  Deno.test(`registry: unquoted token ${written} is exactly "${written}"`, () => {
    const registry = parseRegistry(
      `clients:\n  - name: a\n    token: ${written}\n`,
      "r.yaml",
      noEnv,
    );
    assert.equal(findClient(registry, written)?.name, "a");
    if (yamlWouldRead !== written) assert.equal(findClient(registry, yamlWouldRead), undefined);
  });
}

Deno.test("registry: names, hashed tokens and rendered templates stay the text written", () => {
  const digits = "1234567890".repeat(6) + "1234";
  const env = (name: string) => ({ ZEROS: "000123", HEX: "x1F" })[name];
  const registry = parseRegistry(
    `clients:
  - name: 007
    token_sha256: ${digits}
  - name: whole
    token: {{ env.ZEROS }}
  - name: part
    token: 0{{ env.HEX }}
`,
    "r.yaml",
    env,
  );
  const [bond, whole, part] = registry.clients;
  assert.equal(bond.name, "007");
  assert.equal(toHex(bond.tokenDigest), digits);
  assert.equal(findClient(registry, "000123"), whole);
  assert.equal(findClient(registry, "0x1F"), part);
  assert.equal(findClient(registry, "31"), undefined);
});

Deno.test("template: a whole value is quoted so it cannot change the document", () => {
  const rendered = renderTemplate(
    "a: {{ env.A }}\nb: prefix-{{env.B}}-suffix\n# c: {{ env.C }}\n- {{ env.A }} # note\n",
    (name) => ({ A: "x: [y] # z", B: "inner" })[name],
  );
  assert.equal(
    rendered.text,
    'a: "x: [y] # z"\nb: prefix-inner-suffix\n# c: {{ env.C }}\n- "x: [y] # z" # note\n',
  );
  assert.deepEqual(rendered.variables, ["A", "B"]);
  assert.deepEqual(rendered.problems, []);
});

Deno.test("template: every unset variable is a problem with its line", () => {
  const rendered = renderTemplate("a: {{ env.ONE }}\nb: {{ env.TWO }}{{ env.THREE }}\n", noEnv);
  assert.deepEqual(rendered.problems, [
    { line: 1, message: "environment variable ONE is not set" },
    { line: 2, message: "environment variable TWO is not set" },
    { line: 2, message: "environment variable THREE is not set" },
  ]);
});

Deno.test("registry.example.yaml loads, full-access example client first", async () => {
  const path = new URL("../../../registry.example.yaml", import.meta.url).pathname;
  const registry = parseRegistry(await Deno.readTextFile(path), path, noEnv);
  const [example] = registry.clients;
  assert.equal(example.name, "example");
  assert.equal(example.scopes, null);
  assert.deepEqual(example.deny, []);
  assert.equal(findClient(registry, "example-token-change-me"), example);
  assert.equal(findClient(registry, "registrar-token-change-me")?.name, "runner-registrar");
  const reader = registry.clients.find((c) => c.name === "reader")!;
  assert.equal(reader.maxAgeSeconds, 60);
  assert.deepEqual(reader.scopes?.map((s) => s.graphql), ["any", "query"]);
  assert.ok(reader.deny[0].path.matches("/repos/acme/secrets-prod/issues"));
  assert.deepEqual(registry.clients.find((c) => c.name === "suspended")?.scopes, []);
});

Deno.test("registry: priority, limits with defaults per field, and the reserve", () => {
  const registry = parseRegistry(
    `version: 1
clients:
  - name: cop
    token: t-cop
    priority: low
    limits:
      points_per_hour: 1000
      requests_per_minute: 600
      concurrency: 16
  - name: ci
    token: t-ci
    limits: { concurrency: 4 }
  - name: deploy
    token: t-deploy
    priority: high
defaults:
  limits: { points_per_hour: 3000, requests_per_minute: 1200 }
reserve:
  low: 40
  normal: 15
`,
    "r.yaml",
    noEnv,
  );
  const [cop, ci, deploy] = registry.clients;
  assert.equal(cop.priority, "low");
  assert.deepEqual(cop.limits, { pointsPerHour: 1000, requestsPerMinute: 600, concurrency: 16 });
  assert.equal(ci.priority, "normal", "normal by default");
  assert.deepEqual(ci.limits, { pointsPerHour: 3000, requestsPerMinute: 1200, concurrency: 4 });
  assert.equal(deploy.priority, "high");
  assert.deepEqual(deploy.limits, { pointsPerHour: 3000, requestsPerMinute: 1200 });
  assert.deepEqual(registry.reserve, { low: 40, normal: 15 });
});

Deno.test("registry: without fair-share fields nothing is limited and low keeps 30 % back", () => {
  const registry = parseRegistry("clients:\n  - name: a\n    token: t\n", "r.yaml", noEnv);
  assert.deepEqual(registry.clients[0].limits, {});
  assert.equal(registry.clients[0].priority, "normal");
  assert.deepEqual(registry.reserve, { low: 30, normal: 0 });
  const partial = parseRegistry("clients: []\nreserve: { normal: 20 }\n", "r.yaml", noEnv);
  assert.deepEqual(partial.reserve, { low: 30, normal: 20 });
});
