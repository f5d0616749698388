/**
 * The status page in a real browser: headless Chromium loads `/status` of a gateway that has
 * served traffic against the fake GitHub, and the test reads the DOM Chromium rendered. The
 * browser reaches the page through a loopback proxy that adds the operator's Basic credentials,
 * as a browser's own prompt would. A screenshot goes to test-output/status.png. A second gateway
 * with a discovered App installation and a webhook rule shows those sections.
 */
import assert from "node:assert/strict";
import { fakeAndGateway } from "../support/fixtures.ts";
import { withStatusSections } from "../support/status_sections.ts";
import { requiredTool, runTool } from "../support/tools.ts";

const PAT = "ghp_browser_test_secret";
const REGISTRY = `version: 1
clients:
  - name: ci-builds
    token: ci-token-secret
    limits:
      points_per_hour: 5
  - name: nightly-sync
    token: nightly-token-secret
`;
const OUTPUT = new URL("../../test-output/", import.meta.url).pathname;

function chromiumArgs(profile: string): string[] {
  return [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    `--user-data-dir=${profile}`,
  ];
}

/** Serves `target` on loopback, adding `authorization` to every request. */
function authorizingProxy(target: string, authorization: string) {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const url = new URL(request.url);
    const headers = new Headers(request.headers);
    headers.set("authorization", authorization);
    return fetch(`${target}${url.pathname}${url.search}`, { headers });
  });
}

/**
 * Runs `browse` with the URL of `/status` behind an authorizing proxy (the operator's Basic
 * credentials) and a fresh Chromium profile, both gone afterwards.
 */
async function withStatusUrl(
  gatewayUrl: string,
  browse: (url: string, profile: string) => Promise<void>,
): Promise<void> {
  const proxy = authorizingProxy(gatewayUrl, `Basic ${btoa("operator:metrics-token-secret")}`);
  const profile = await Deno.makeTempDir({ prefix: "github-proxy-chromium-" });
  try {
    await browse(`http://127.0.0.1:${proxy.addr.port}/status`, profile);
  } finally {
    await proxy.shutdown();
    await Deno.remove(profile, { recursive: true });
  }
}

/** The Chromium binary; missing, a failure under CI, else undefined (the test is skipped). */
function chromiumBinary(): string | undefined {
  return requiredTool(["chromium", "chromium-browser"], "chromium");
}

Deno.test("headless Chromium renders /status with the clients and the fake's quota", async () => {
  const chromium = chromiumBinary();
  if (!chromium) return;
  await using fixture = await fakeAndGateway({
    fake: { pats: { [PAT]: {} } },
    gateway: { registry: REGISTRY },
    env: { GITHUB_PAT_MAIN: PAT, METRICS_TOKEN: "metrics-token-secret" },
  });
  const { gw, fake } = fixture;
  const traffic: [string, string][] = [
    ["ci-token-secret", "/repos/acme/app"],
    ["ci-token-secret", "/repos/acme/app"],
    ["ci-token-secret", "/repos/acme/app/issues"],
    ["nightly-token-secret", "/repos/acme/lib"],
  ];
  for (const [token, path] of traffic) {
    const response = await fetch(`${gw.url}${path}`, {
      headers: { authorization: `token ${token}` },
    });
    assert.equal(response.status, 200);
    await response.body?.cancel();
  }
  await withStatusUrl(gw.url, async (url, profile) => {
    const dump = await runTool(chromium, [...chromiumArgs(profile), "--dump-dom", url]);
    assert.equal(dump.code, 0, dump.stderr);
    const dom = new DOMParserLike(dump.stdout);
    assert.equal(dom.text("title"), "github-proxy status");
    assert.deepEqual(dom.attributes("tr", "data-client"), ["ci-builds", "nightly-sync"]);
    assert.equal(dom.cell("ci-builds", "requests"), "3");
    assert.equal(dom.cell("ci-builds", "spent"), "2");
    assert.equal(dom.cell("ci-builds", "saved"), "1");
    assert.equal(dom.cell("ci-builds", "budget"), "2 / 5");
    assert.equal(dom.cell("nightly-sync", "spent"), "1");
    assert.equal(dom.resourceCell("core", "remaining"), String(fake.remaining(PAT)));
    assert.equal(dom.resourceCell("core", "limit"), "5000");
    assert.equal(dom.byId("spent-total"), "3");
    assert.equal(dom.byId("saved-total"), "1");
    assert.equal(dom.byId("hit-ratio"), "25.0 %");
    assert.match(dump.stdout, /<svg id="points-chart"/);
    assert.ok(!dump.stdout.includes(PAT) && !dump.stdout.includes("metrics-token-secret"));

    await Deno.mkdir(OUTPUT, { recursive: true });
    const screenshot = `${OUTPUT}status.png`;
    const shot = await runTool(chromium, [
      ...chromiumArgs(profile),
      `--screenshot=${screenshot}`,
      "--window-size=1280,2000",
      url,
    ]);
    assert.equal(shot.code, 0, shot.stderr);
    const png = await Deno.readFile(screenshot);
    assert.deepEqual([...png.slice(1, 4)], [0x50, 0x4e, 0x47], "a PNG");
    console.log(`status page screenshot: ${screenshot}`);
  });
});

Deno.test("headless Chromium renders the App installations and webhooks sections", async () => {
  const chromium = chromiumBinary();
  if (!chromium) return;
  const { fixture, deliveryId: id } = await withStatusSections();
  await using _ = fixture;
  const { gw, fake } = fixture;
  await withStatusUrl(gw.url, async (url, profile) => {
    const dump = await runTool(chromium, [...chromiumArgs(profile), "--dump-dom", url]);
    assert.equal(dump.code, 0, dump.stderr);
    const dom = new DOMParserLike(dump.stdout);
    const installation = dom.rowText("data-installation", "501");
    assert.match(installation, /^BOT@acme 501 acme all /);
    assert.match(installation, /repositories site; contents:read; expires in 59m \d\ds/);
    assert.match(installation, /all; expires in 59m \d\ds/, "the dispatch's full token");
    assert.match(dom.rowText("data-delivery", id), /repository\.created acme\/new .* processed$/);
    assert.equal(dom.byAttribute("data-outcome", "sent"), "sent: 1");
    for (const { token } of fake.issuedTokens()) assert.ok(!dump.stdout.includes(token));
  });
});

/**
 * Reads the serialised DOM Chromium dumped. Deno has no DOM parser; the page is regular enough
 * (one element per row and cell, attributes quoted) for anchored patterns on Chromium's output.
 */
class DOMParserLike {
  constructor(private readonly html: string) {}

  #inner(pattern: RegExp): string {
    const match = pattern.exec(this.html);
    assert.ok(match, `${pattern} not in the DOM`);
    return match[1].replace(/<[^>]*>/g, "").replace(/\s+/g, " ").trim();
  }

  text(tag: string): string {
    return this.#inner(new RegExp(`<${tag}[^>]*>([^<]*)</${tag}>`));
  }

  byId(id: string): string {
    return this.byAttribute("id", id);
  }

  /** The text of the first element whose `attribute` is `value`. */
  byAttribute(attribute: string, value: string): string {
    return this.#inner(new RegExp(`<[a-z]+ [^>]*\\b${attribute}="${value}"[^>]*>(.*?)</`, "s"));
  }

  attributes(tag: string, attribute: string): string[] {
    return [...this.html.matchAll(new RegExp(`<${tag} [^>]*${attribute}="([^"]*)"`, "g"))]
      .map((match) => match[1]);
  }

  #row(attribute: string, value: string): string {
    const match = new RegExp(`<tr ${attribute}="${value}">(.*?)</tr>`, "s").exec(this.html);
    assert.ok(match, `row ${attribute}=${value} not in the DOM`);
    return match[1];
  }

  /** The text of the row whose `attribute` is `value`, its cells' text joined by spaces. */
  rowText(attribute: string, value: string): string {
    return this.#row(attribute, value).replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim();
  }

  cell(client: string, name: string): string {
    const row = this.#row("data-client", client);
    const match = new RegExp(`class="[^"]*\\b${name}\\b[^"]*">(.*?)</(td|span)>`, "s").exec(row);
    assert.ok(match, `${name} of ${client}`);
    return match[1].replace(/<[^>]*>/g, "").trim();
  }

  resourceCell(resource: string, name: string): string {
    const row = this.#row("data-resource", resource);
    const match = new RegExp(`class="n ${name}">(\\d+)</td>`).exec(row);
    assert.ok(match, `${name} of ${resource}`);
    return match[1];
  }
}
