/**
 * The metrics contract of DESIGN §14: every family prefixed `github_proxy_`, the series of known
 * label values at 0 from the first scrape and after a registry reload, help texts, and an
 * exposition `promtool check metrics` finds clean.
 */
import assert from "node:assert/strict";
import { KNOWN_RESOURCES } from "../../src/credentials/resource.ts";
import { REFUSAL_REASONS } from "../../src/admit/state.ts";
import { CACHE_RESULTS } from "../../src/telemetry/events.ts";
import { fakeAndGateway } from "../support/fixtures.ts";
import { parseExposition } from "../support/prometheus_text.ts";
import { requiredTool, runTool } from "../support/tools.ts";

const REGISTRY = `version: 1
clients:
  - name: ci
    token: ci-token-secret
  - name: bot
    token: bot-token-secret
`;

function gateway() {
  return fakeAndGateway({
    fake: { pats: { ghp_main_secret: {}, ghp_spare_secret: {} } },
    gateway: { registry: REGISTRY, registryReload: { settleMs: 20 } },
    env: { GITHUB_PAT_MAIN: "ghp_main_secret", GITHUB_PAT_SPARE: "ghp_spare_secret" },
  });
}

async function metricsText(url: string): Promise<string> {
  const response = await fetch(`${url}/metrics`);
  assert.equal(response.status, 200);
  return await response.text();
}

Deno.test("every metric family is prefixed github_proxy_ and has a help text", async () => {
  await using setup = await gateway();
  const text = await metricsText(setup.gw.url);
  const helps = [...text.matchAll(/^# HELP (\S+) (.*)$/gm)];
  assert.ok(helps.length > 20, `${helps.length} families`);
  for (const [, name, help] of helps) {
    assert.match(name, /^github_proxy_/, name);
    assert.ok(help.length > 20, `${name}: ${help}`);
  }
  for (const name of parseExposition(text).types.keys()) assert.match(name, /^github_proxy_/);
});

Deno.test("known label values are exported at 0 before any request", async () => {
  await using setup = await gateway();
  const metrics = parseExposition(await metricsText(setup.gw.url));
  const has = (name: string, labels: Record<string, string>) => {
    const found = metrics.series(name).find((sample) =>
      Object.entries(labels).every(([key, value]) => sample.labels[key] === value)
    );
    assert.ok(found, `${name}${JSON.stringify(labels)} missing`);
    assert.equal(found.value, 0, `${name}${JSON.stringify(labels)}`);
  };
  for (const client of ["ci", "bot"]) {
    for (const reason of REFUSAL_REASONS) {
      has("github_proxy_client_refusals_total", { client, reason });
    }
    for (const cache of CACHE_RESULTS) {
      has("github_proxy_client_cache_results_total", { client, cache });
    }
    for (const resource of KNOWN_RESOURCES) {
      has("github_proxy_client_points_spent_total", { client, resource });
      has("github_proxy_client_points_saved_total", { client, resource });
    }
  }
  for (const credential of ["MAIN", "SPARE"]) {
    has("github_proxy_credential_bad", { credential });
    has("github_proxy_credential_points_spent_total", { credential, resource: "core" });
  }
  has("github_proxy_cache_errors_total", { operation: "get" });
  has("github_proxy_token_cache_requests_total", { status: "failure" });
});

Deno.test("a client added by a registry reload is exported at 0 on the next scrape", async () => {
  await using setup = await gateway();
  const { gw } = setup;
  await Deno.writeTextFile(gw.registryPath, `${REGISTRY}  - name: nightly\n    token: n-secret\n`);
  assert.equal(await gw.gateway.registry.reload(gw.gateway.logger), true);
  const metrics = parseExposition(await metricsText(gw.url));
  const nightly = metrics.series("github_proxy_client_refusals_total")
    .filter((sample) => sample.labels.client === "nightly");
  assert.equal(nightly.length, REFUSAL_REASONS.length);
  assert.ok(
    metrics.series("github_proxy_client_points_saved_total")
      .some((sample) => sample.labels.client === "nightly" && sample.labels.resource === "core"),
  );
});

Deno.test("points spent and saved per client and resource", async () => {
  await using setup = await gateway();
  const { gw } = setup;
  for (const path of ["/repos/acme/app", "/repos/acme/app", "/search/issues?q=x"]) {
    const response = await fetch(`${gw.url}${path}`, {
      headers: { authorization: "token ci-token-secret" },
    });
    await response.body?.cancel();
  }
  const metrics = parseExposition(await metricsText(gw.url));
  const ci = (resource: string) => ({ client: "ci", resource });
  assert.equal(metrics.value("github_proxy_client_points_spent_total", ci("core")), 1);
  assert.equal(metrics.value("github_proxy_client_points_spent_total", ci("search")), 1);
  assert.equal(metrics.value("github_proxy_client_points_saved_total", ci("core")), 1);
  assert.equal(metrics.value("github_proxy_client_points_saved_total", ci("search")), 0);
  assert.equal(metrics.value("github_proxy_pool_limit", { resource: "core" }), 10_000);
  assert.equal(metrics.value("github_proxy_pool_reserve_percent", { priority: "low" }) > 0, true);
});

Deno.test("promtool check metrics finds the exposition clean", async () => {
  const promtool = requiredTool(["promtool"], "prometheus");
  if (!promtool) return;
  await using setup = await gateway();
  const { gw } = setup;
  const response = await fetch(`${gw.url}/repos/acme/app`, {
    headers: { authorization: "token ci-token-secret" },
  });
  await response.body?.cancel();
  const result = await runTool(promtool, ["check", "metrics"], await metricsText(gw.url));
  assert.equal(result.code, 0, `${result.stdout}${result.stderr}`);
  assert.equal(`${result.stdout}${result.stderr}`.trim(), "");
});
