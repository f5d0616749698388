/**
 * The registry's `github_token:` narrowings against the pool (DESIGN §8), when the registry
 * loads: a narrowing needs an App in the pool, and asks for nothing that every installation
 * whose permissions are known refuses. Problems name the registry line, never a secret.
 */
import type { Registry } from "../registry/model.ts";
import type { CredentialSource } from "./sources.ts";
import { describeUngranted, ungranted } from "./narrowing.ts";

/** What is wrong with the registry's narrowings for a pool of `sources`; empty when nothing. */
export function narrowingProblems(
  registry: Registry,
  sources: readonly CredentialSource[],
): string[] {
  const apps = sources.flatMap((source) => source.kind === "app" ? [source] : []);
  const problems: string[] = [];
  for (const client of registry.clients) {
    const narrowing = client.githubToken;
    if (narrowing === undefined) continue;
    const where = client.githubTokenAt ?? "registry";
    if (apps.length === 0) {
      problems.push(
        `${where}: client "${client.name}" github_token needs a GitHub App in the pool (GITHUB_APP_<NAME>_ID and _PEM)`,
      );
      continue;
    }
    const known = apps.filter((app) => app.permissions !== undefined);
    // An App given by installation id whose permissions could not be read (the pool logged
    // why): GitHub then judges at the mint.
    if (known.length < apps.length) continue;
    const refusals = known.map((app) => ({ app, missing: ungranted(narrowing, app.permissions!) }));
    if (refusals.every(({ missing }) => missing !== undefined)) {
      const first = refusals[0];
      problems.push(
        `${where}: client "${client.name}" github_token asks for ${
          describeUngranted(first.missing!)
        }, which no installation of the pool's GitHub Apps can grant (${first.app.name} and ${
          known.length - 1
        } more checked)`,
      );
    }
  }
  return problems;
}
