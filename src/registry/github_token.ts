/**
 * A client's `github_token:` (DESIGN §6, §8): the repositories and permissions its installation
 * tokens are minted with, so GitHub itself enforces the client's scope. Each problem is reported
 * at its line, like the rest of the file.
 */
import { isMap, isScalar, isSeq } from "yaml";
import type { TokenNarrowing } from "../http/upstream.ts";
import type { At, FieldOf } from "./fair_share.ts";

const FIELDS = new Set(["repositories", "permissions"]);
const LEVELS = new Set(["read", "write", "admin"]);
/** GitHub mints a token for at most 500 repositories. */
const MAX_REPOSITORIES = 500;
/** What a repository name may be on GitHub: letters, digits, `-`, `_`, `.`. */
const REPOSITORY = /^[A-Za-z0-9._-]{1,100}$/;
/** A permission's name as GitHub spells them: `contents`, `pull_requests`, … */
const PERMISSION = /^[a-z][a-z_]{0,63}$/;

/** `github_token:` of client `name`; undefined when absent or broken (problems recorded). */
export function parseGithubToken(
  node: unknown,
  name: string,
  field: FieldOf,
  at: At,
  problems: string[],
): TokenNarrowing | undefined {
  if (node === undefined) return undefined;
  const what = `client "${name}" github_token`;
  if (!isMap(node)) {
    problems.push(
      `${
        at(node)
      }: ${what} must be a mapping like {repositories: [app], permissions: {contents: read}}`,
    );
    return undefined;
  }
  const before = problems.length;
  for (const pair of node.items) {
    const key = String(isScalar(pair.key) ? pair.key.value : pair.key);
    if (!FIELDS.has(key)) problems.push(`${at(pair.key)}: unknown field "${key}" in ${what}`);
  }
  const repositoriesNode = field(node, "repositories");
  let repositories: string[] | undefined;
  if (repositoriesNode !== undefined) {
    if (!isSeq(repositoriesNode) || repositoriesNode.items.length === 0) {
      problems.push(`${at(repositoriesNode)}: ${what}.repositories must be a non-empty list`);
    } else {
      repositories = [];
      for (const item of repositoriesNode.items) {
        const value = isScalar(item) ? String(item.value ?? "") : "";
        if (!REPOSITORY.test(value)) {
          problems.push(
            `${at(item)}: ${what}.repositories: "${value}" is not a repository name (no owner)`,
          );
        } else repositories.push(value);
      }
      if (repositories.length > MAX_REPOSITORIES) {
        problems.push(`${at(repositoriesNode)}: ${what}.repositories: at most ${MAX_REPOSITORIES}`);
      }
    }
  }
  const permissionsNode = field(node, "permissions");
  let permissions: Record<string, string> | undefined;
  if (permissionsNode !== undefined) {
    if (!isMap(permissionsNode) || permissionsNode.items.length === 0) {
      problems.push(
        `${at(permissionsNode)}: ${what}.permissions must be a mapping like {contents: read}`,
      );
    } else {
      permissions = {};
      for (const pair of permissionsNode.items) {
        const permission = String(isScalar(pair.key) ? pair.key.value : pair.key);
        const level = isScalar(pair.value) ? String(pair.value.value ?? "") : "";
        if (!PERMISSION.test(permission)) {
          problems.push(
            `${at(pair.key)}: ${what}.permissions: "${permission}" is not a permission`,
          );
        } else if (!LEVELS.has(level)) {
          problems.push(
            `${
              at(pair.value ?? pair.key)
            }: ${what}.permissions.${permission} must be read, write or admin`,
          );
        } else permissions[permission] = level;
      }
    }
  }
  if (repositories === undefined && permissions === undefined && problems.length === before) {
    problems.push(`${at(node)}: ${what} narrows nothing; give repositories or permissions`);
  }
  if (problems.length > before) return undefined;
  return {
    ...(repositories ? { repositories } : {}),
    ...(permissions ? { permissions } : {}),
  };
}
