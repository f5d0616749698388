/**
 * What an event makes stale (DESIGN §12): resource patterns under one repository
 * (`/repos/{o}/{r}`) or organisation (`/orgs/{o}`). A pattern is the path after that scope:
 * `""` is the scope itself, a `*` at the end matches anything (further segments too), a `*`
 * elsewhere matches one path segment. Patterns come from a fixed table, never from a client,
 * and matching is a single left-to-right pass.
 */

/** Resources of one repository or organisation that an event may have changed. */
export interface StaleResource {
  /** `/repos/{owner}/{repo}` or `/orgs/{org}`, lower-cased (GitHub's names are case-insensitive). */
  readonly scope: string;
  /** The path after `scope/`: `commits*`, `branches/*\/protection*`, `""` for the scope itself. */
  readonly pattern: string;
}

/** A cached path split into its scope and the rest; undefined for paths outside any scope. */
export function scopeOf(path: string): { scope: string; rest: string } | undefined {
  const segments = path.split("/");
  // ["", "repos", owner, repo, ...rest] or ["", "orgs", org, ...rest]
  const width = segments[1] === "repos" ? 4 : segments[1] === "orgs" ? 3 : 0;
  if (width === 0 || segments.length < width || segments.slice(2, width).some((s) => !s)) {
    return undefined;
  }
  return {
    scope: segments.slice(0, width).join("/").toLowerCase(),
    rest: segments.slice(width).join("/"),
  };
}

/** Whether `pattern` covers `rest` (the path after the scope, without its leading `/`). */
export function covers(pattern: string, rest: string): boolean {
  const parts = pattern.split("*");
  let at = 0;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    if (!rest.startsWith(part, at)) return false;
    at += part.length;
    if (i === parts.length - 1) return at === rest.length;
    if (i === parts.length - 2 && parts[i + 1] === "") return true;
    // A `*` inside the pattern: one non-empty segment.
    const slash = rest.indexOf("/", at);
    const end = slash < 0 ? rest.length : slash;
    if (end === at) return false;
    at = end;
  }
  return false;
}

/** The scope of repository `fullName` (`owner/repo`). */
export function repositoryScope(fullName: string): string {
  return `/repos/${fullName}`.toLowerCase();
}

/** The scope of organisation `login`. */
export function organizationScope(login: string): string {
  return `/orgs/${login}`.toLowerCase();
}
