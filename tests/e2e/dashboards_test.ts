/**
 * deploy/'s Grafana dashboard and Prometheus alert rules: importable, `promtool check rules`
 * clean, and built only on metrics the gateway exports.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { fakeAndGateway } from "../support/fixtures.ts";
import { parseExposition } from "../support/prometheus_text.ts";
import { requiredTool, runTool } from "../support/tools.ts";

const DASHBOARD = new URL("../../deploy/grafana-dashboard.json", import.meta.url).pathname;
const RULES = new URL("../../deploy/prometheus-alerts.yml", import.meta.url).pathname;

interface Panel {
  readonly id: number;
  readonly title: string;
  readonly type: string;
  readonly datasource: { readonly type: string; readonly uid: string };
  readonly gridPos: {
    readonly x: number;
    readonly y: number;
    readonly w: number;
    readonly h: number;
  };
  readonly targets: readonly { readonly expr: string }[];
}

async function dashboard() {
  return JSON.parse(await Deno.readTextFile(DASHBOARD)) as {
    schemaVersion: number;
    uid: string;
    title: string;
    __inputs: { name: string; type: string; pluginId: string }[];
    panels: Panel[];
  };
}

async function ruleExpressions(): Promise<string[]> {
  const rules = parse(await Deno.readTextFile(RULES)) as {
    groups: { rules: { alert: string; expr: string }[] }[];
  };
  return rules.groups.flatMap((group) => group.rules.map((rule) => rule.expr));
}

const metricNames = (expr: string) =>
  [...expr.matchAll(/\bgithub_proxy_[a-z_]+/g)].map((m) => m[0]);

Deno.test("the Grafana dashboard imports: schema, a Prometheus input, the operators' four questions", async () => {
  const board = await dashboard();
  assert.equal(typeof board.schemaVersion, "number");
  assert.ok(board.schemaVersion >= 36);
  assert.equal(board.uid, "github-proxy");
  assert.deepEqual(board.__inputs.map((input) => [input.name, input.type, input.pluginId]), [
    ["DS_PROMETHEUS", "datasource", "prometheus"],
  ]);
  const titles = board.panels.map((panel) => panel.title);
  for (
    const question of [
      /^Who spent how much/,
      /^How much did the cache save/,
      /^Which credential is low/,
      /^Is anything cooling down/,
    ]
  ) {
    assert.ok(titles.some((title) => question.test(title)), `${question}`);
  }
  assert.equal(new Set(board.panels.map((panel) => panel.id)).size, board.panels.length);
  for (const panel of board.panels) {
    assert.deepEqual(
      panel.datasource,
      { type: "prometheus", uid: "${DS_PROMETHEUS}" },
      panel.title,
    );
    assert.ok(panel.targets.length > 0 && panel.gridPos.w > 0, panel.title);
  }
});

Deno.test("promtool check rules passes on the alert rules", async () => {
  const promtool = requiredTool(["promtool"], "prometheus");
  if (!promtool) return;
  const result = await runTool(promtool, ["check", "rules", RULES]);
  assert.equal(result.code, 0, `${result.stdout}${result.stderr}`);
  assert.match(result.stdout, /SUCCESS: \d+ rules found/);
});

Deno.test("the alert rules cover reserve, bad credentials, cooldowns, cache backend and webhook signatures", async () => {
  const exprs = (await ruleExpressions()).join("\n");
  for (
    const name of [
      "github_proxy_pool_reserve_percent",
      "github_proxy_credential_bad",
      "github_proxy_owner_cooldown_seconds",
      "github_proxy_cache_errors_total",
      "github_proxy_webhook_signature_failures_total",
    ]
  ) {
    assert.ok(exprs.includes(name), name);
  }
});

Deno.test("every metric the dashboard and the rules use is exported by the gateway", async () => {
  await using setup = await fakeAndGateway({
    fake: { pats: { ghp_dash_secret: {} } },
    env: { GITHUB_PAT_MAIN: "ghp_dash_secret" },
  });
  const response = await fetch(`${setup.gw.url}/metrics`);
  const families = parseExposition(await response.text()).types;
  const exported = (name: string) =>
    families.has(name) ||
    [..."_bucket _sum _count".split(" ")].some((suffix) =>
      name.endsWith(suffix) && families.get(name.slice(0, -suffix.length)) === "histogram"
    );
  const board = await dashboard();
  const used = new Set([
    ...board.panels.flatMap((panel) => panel.targets.flatMap((target) => metricNames(target.expr))),
    ...(await ruleExpressions()).flatMap(metricNames),
  ]);
  assert.ok(used.size > 10, `${used.size} metrics used`);
  for (const name of used) {
    assert.ok(exported(name), `${name} is used but not exported`);
  }
});
