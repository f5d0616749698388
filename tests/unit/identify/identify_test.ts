import assert from "node:assert/strict";
import { Hono } from "hono";
import {
  authority,
  findClient,
  identify,
  type IdentifyVariables,
} from "../../../src/identify/identify.ts";
import { DEFAULT_RESERVE } from "../../../src/registry/fair_share.ts";
import { parseRegistry } from "../../../src/registry/parse.ts";

const registry = parseRegistry(
  `clients:
  - name: ci
    token: t-ci
  - name: bot
    token_sha256: ${await sha256Hex("t-bot")}
`,
  "r.yaml",
  () => undefined,
);

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

type Env = { Variables: IdentifyVariables };

/** The two stages alone, answering with what identify put in the context. */
function app(): Hono<Env> {
  const stages = new Hono<Env>();
  stages.use("*", authority());
  stages.use("*", identify({ current: registry }));
  stages.all("*", (c) =>
    c.json({
      client: c.get("client").name,
      target: c.get("target"),
      clientBase: c.get("clientBase"),
    }));
  return stages;
}

const basic = (user: string, password: string) => `Basic ${btoa(`${user}:${password}`)}`;

/** Authorization header → the client identified, or the status and message refusing it. */
const TOKENS: [header: string | undefined, expected: string | [number, RegExp]][] = [
  ["token t-ci", "ci"],
  ["Bearer t-ci", "ci"],
  ["bearer t-bot", "bot"],
  ["  token   t-bot  ", "bot"],
  [basic("x-access-token", "t-ci"), "ci"],
  [basic("", "t-bot"), "bot"],
  [undefined, [401, /^Requires authentication$/]],
  ["", [401, /^Requires authentication$/]],
  ["token", [401, /^Requires authentication$/]],
  ["Digest t-ci", [401, /^Requires authentication$/]],
  [basic("t-ci", ""), [401, /^Requires authentication$/]],
  ["Basic !!!", [401, /^Requires authentication$/]],
  ["token t-unknown", [401, /^Bad credentials$/]],
  ["token T-CI", [401, /^Bad credentials$/]],
  ["token t-c", [401, /^Bad credentials$/]],
];

for (const [header, expected] of TOKENS) {
  Deno.test(`identify: Authorization ${JSON.stringify(header)}`, async () => {
    const response = await app().request("http://gw/zen", {
      headers: header === undefined ? {} : { authorization: header },
    });
    const body = await response.json();
    if (typeof expected === "string") {
      assert.equal(response.status, 200);
      assert.equal(body.client, expected);
    } else {
      assert.equal(response.status, expected[0]);
      assert.match(body.message, expected[1]);
    }
  });
}

/** Request URL → the 400 it earns, before any token is looked at. */
const MALFORMED: [url: string, message: RegExp][] = [
  // (`new Request` already resolves dot segments; the raw-socket e2e tests send them as written.)
  ["http://gw/repos//acme", /^Malformed request path: empty path segment/],
  ["http://gw/repos/acme%5c..%5cadmin", /^Malformed request path: encoded/],
  ["http://gw/repos/acme%2fx", /^Malformed request path: encoded/],
  ["http://gw/api/v3/api/v3/zen", /^Malformed request path: repeated/],
];

for (const [url, message] of MALFORMED) {
  Deno.test(`identify: ${url} → 400`, async () => {
    const response = await app().request(url, { headers: { authorization: "token t-nobody" } });
    assert.equal(response.status, 400);
    assert.match((await response.json()).message, message);
  });
}

Deno.test("authority: a Host that is not host[:port] is refused before identify", async () => {
  const response = await app().request("http://gw/zen", {
    headers: { host: "gw/metrics?", authorization: "token t-ci" },
  });
  assert.equal(response.status, 400);
  assert.match((await response.json()).message, /^Malformed request: Host header/);
});

Deno.test("identify: the target carries the method upper-cased, the raw query and GraphQL", async () => {
  const response = await app().request("http://gw:8080/api/v3/graphql?x=%41&y", {
    method: "post",
    headers: { authorization: "token t-ci" },
  });
  assert.deepEqual(await response.json(), {
    client: "ci",
    target: {
      path: "/graphql",
      query: "x=%41&y",
      enterprisePrefix: "/api/v3",
      upload: false,
      method: "POST",
      graphql: "endpoint",
    },
    clientBase: "http://gw:8080/api/v3",
  });
});

Deno.test("identify: under a mount prefix the path starts after it and clientBase keeps it", async () => {
  const outer = new Hono<Env>();
  outer.route("/github", app());
  const response = await outer.request("http://gw/github/repos/acme/app", {
    headers: { authorization: "token t-ci" },
  });
  const body = await response.json();
  assert.equal(body.target.path, "/repos/acme/app");
  assert.equal(body.clientBase, "http://gw/github");
});

Deno.test("findClient: the client holding the token, whichever way the file wrote it", () => {
  assert.equal(findClient(registry, "t-ci")?.name, "ci");
  assert.equal(findClient(registry, "t-bot")?.name, "bot");
  assert.equal(findClient(registry, "t-"), undefined);
  assert.equal(
    findClient({ ...registry, clients: [], reserve: DEFAULT_RESERVE, variables: [] }, "t-ci"),
    undefined,
  );
});
