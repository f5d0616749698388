/**
 * Regenerates src/telemetry/github_routes.json, the route templates metrics collapse paths to,
 * from GitHub's published OpenAPI descriptions (api.github.com, GHEC and the newest GHES):
 *
 *   deno run --no-lock --allow-read --allow-write scripts/generate_routes.ts
 *
 * The descriptions (`@octokit/openapi`, 385 MB) are imported by a computed specifier and run
 * without the lockfile, so they stay out of every module graph and lockfile the gateway is
 * type-checked, started or compiled with: the gateway embeds the generated JSON only.
 */
const OPENAPI = "npm:@octokit/openapi@23.0.2/generated";
const OUTPUT = new URL("../src/telemetry/github_routes.json", import.meta.url);

const routes = new Set<string>(["/graphql"]);
for (const description of ["api.github.com", "ghec", "ghes-3.19"]) {
  const spec = await import(`${OPENAPI}/${description}.json`, { with: { type: "json" } });
  for (const path of Object.keys(spec.default.paths)) routes.add(path);
}
const sorted = [...routes].sort();
await Deno.writeTextFile(OUTPUT, `${JSON.stringify(sorted, null, 2)}\n`);
console.log(`wrote ${sorted.length} route templates to ${OUTPUT.pathname}`);
