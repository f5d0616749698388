/**
 * Regenerates src/telemetry/github_routes.json, the route templates metrics collapse paths to,
 * from GitHub's published OpenAPI descriptions (api.github.com, GHEC and the newest GHES):
 *
 *   deno run --allow-read --allow-write scripts/generate_routes.ts
 */
import dotcom from "npm:@octokit/openapi@23.0.2/generated/api.github.com.json" with {
  type: "json",
};
import ghec from "npm:@octokit/openapi@23.0.2/generated/ghec.json" with { type: "json" };
import ghes from "npm:@octokit/openapi@23.0.2/generated/ghes-3.19.json" with { type: "json" };

const OUTPUT = new URL("../src/telemetry/github_routes.json", import.meta.url);

const routes = new Set<string>(["/graphql"]);
for (const spec of [dotcom, ghec, ghes]) {
  for (const path of Object.keys(spec.paths)) routes.add(path);
}
const sorted = [...routes].sort();
await Deno.writeTextFile(OUTPUT, `${JSON.stringify(sorted, null, 2)}\n`);
console.log(`wrote ${sorted.length} route templates to ${OUTPUT.pathname}`);
