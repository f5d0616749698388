/**
 * GitHub App installations for the fake GitHub, as GitHub behaves: one App installed on several
 * accounts, `GET /app/installations` (App JWT, paginated by `Link`), installation tokens that
 * see only their account (404 elsewhere), tokens minted with `repositories`/`permissions` that
 * see only those repositories (404) and may write only with the permission (403 "Resource not
 * accessible by integration"), and a mint refused (422) for a permission the installation lacks.
 */

/** One installation of an App on an account. */
export interface FakeInstallation {
  readonly id: string;
  /** The account's login. */
  readonly account: string;
  /** What the installation was granted (default `{contents: "write", issues: "write", metadata: "read"}`). */
  readonly permissions?: Readonly<Record<string, string>>;
  /** Repositories selected; absent: all of the account's. */
  readonly repositories?: readonly string[];
  /**
   * When the account suspended the App (ISO 8601): GitHub still lists the installation, with
   * `suspended_at` and `suspended_by`, and refuses its mints (403).
   */
  readonly suspendedAt?: string;
}

/** What one mint asked for, as GitHub received it. */
export interface MintRequest {
  readonly installationId: string;
  readonly repositories?: readonly string[];
  readonly permissions?: Readonly<Record<string, string>>;
}

/** What an installation token may see. */
export interface TokenScope {
  readonly installation: FakeInstallation;
  /** Narrowed at the mint; absent: every repository the installation has. */
  readonly repositories?: readonly string[];
  readonly permissions: Readonly<Record<string, string>>;
}

const DEFAULT_PERMISSIONS = { contents: "write", issues: "write", metadata: "read" };
const LEVELS: Readonly<Record<string, number>> = { read: 1, write: 2, admin: 3 };

/** The installation's permissions, defaults applied. */
export function permissionsOf(installation: FakeInstallation): Readonly<Record<string, string>> {
  return installation.permissions ?? DEFAULT_PERMISSIONS;
}

/** `GET /app/installations` entry for `installation` of App `appId`. */
export function installationDocument(
  api: string,
  appId: string,
  installation: FakeInstallation,
): unknown {
  return {
    id: Number(installation.id),
    app_id: Number(appId),
    account: {
      login: installation.account,
      type: "Organization",
      url: `${api}/users/${installation.account}`,
    },
    repository_selection: installation.repositories ? "selected" : "all",
    access_tokens_url: `${api}/app/installations/${installation.id}/access_tokens`,
    permissions: permissionsOf(installation),
    events: [],
    suspended_at: installation.suspendedAt ?? null,
    suspended_by: installation.suspendedAt === undefined
      ? null
      : { login: `${installation.account}-admin`, type: "User" },
  };
}

/** One page of `items` and its `Link` header, as GitHub paginates (per_page ≤ 100, default 30). */
export function page<T>(
  items: readonly T[],
  query: URLSearchParams,
  base: string,
): { items: T[]; link?: string } {
  const perPage = Math.min(100, Math.max(1, Number(query.get("per_page")) || 30));
  const number = Math.max(1, Number(query.get("page")) || 1);
  const last = Math.max(1, Math.ceil(items.length / perPage));
  const at = (n: number) => {
    const next = new URLSearchParams(query);
    next.set("page", String(n));
    return `${base}?${next}`;
  };
  const links = [
    ...(number < last ? [`<${at(number + 1)}>; rel="next"`, `<${at(last)}>; rel="last"`] : []),
    ...(number > 1 ? [`<${at(number - 1)}>; rel="prev"`, `<${at(1)}>; rel="first"`] : []),
  ];
  return {
    items: items.slice((number - 1) * perPage, number * perPage),
    link: links.length > 0 ? links.join(", ") : undefined,
  };
}

/**
 * The scope a mint asks for, or GitHub's refusal: 403 for a suspended installation; 422 for a
 * permission the installation does not have at that level, or a repository it does not cover.
 */
export function mintScope(
  installation: FakeInstallation,
  body: { repositories?: unknown; permissions?: unknown },
): { ok: true; scope: TokenScope } | { ok: false; status: 403 | 422; message: string } {
  if (installation.suspendedAt !== undefined) {
    return { ok: false, status: 403, message: "This installation has been suspended" };
  }
  const granted = permissionsOf(installation);
  const asked = body.permissions as Record<string, string> | undefined;
  for (const [permission, level] of Object.entries(asked ?? {})) {
    if ((LEVELS[granted[permission]] ?? 0) < (LEVELS[level] ?? Infinity)) {
      return {
        ok: false,
        status: 422,
        message: "The permissions requested are not granted to this installation.",
      };
    }
  }
  const repositories = body.repositories as string[] | undefined;
  if (repositories && installation.repositories) {
    const missing = repositories.find((repo) => !installation.repositories!.includes(repo));
    if (missing) {
      return {
        ok: false,
        status: 422,
        message:
          `There is at least one repository that does not exist or is not accessible to the parent installation.`,
      };
    }
  }
  return {
    ok: true,
    scope: { installation, repositories, permissions: asked ?? granted },
  };
}

/** Which permission a REST call needs: writes to issues need `issues`, other repo writes `contents`. */
function neededPermission(method: string, rest: string): { permission: string; level: string } {
  const write = method !== "GET" && method !== "HEAD";
  const permission = /^\/issues(?:\/|$)/.test(rest) ? "issues" : write ? "contents" : "metadata";
  return { permission, level: write ? "write" : "read" };
}

/**
 * What GitHub answers a token of `scope` for `method path` before the route runs: 404 for an
 * account or repository it does not see, 403 for a write it lacks the permission for; undefined
 * when the call may go on.
 */
export function scopeRefusal(
  scope: TokenScope,
  method: string,
  apiPath: string,
): { status: 404 | 403; message: string } | undefined {
  const match = /^\/(repos|orgs|users)\/([^/]+)(?:\/([^/]+))?(\/.*)?$/.exec(apiPath);
  if (!match) return undefined;
  const [, kind, owner, repo, rest] = match;
  if (owner.toLowerCase() !== scope.installation.account.toLowerCase()) {
    return { status: 404, message: "Not Found" };
  }
  if (kind !== "repos" || repo === undefined) return undefined;
  const visible = scope.repositories ?? scope.installation.repositories;
  if (visible && !visible.some((name) => name.toLowerCase() === repo.toLowerCase())) {
    return { status: 404, message: "Not Found" };
  }
  const { permission, level } = neededPermission(method, rest ?? "");
  if ((LEVELS[scope.permissions[permission]] ?? 0) < LEVELS[level]) {
    // GitHub lets every installation token read metadata of what it sees.
    if (permission === "metadata") return undefined;
    return { status: 403, message: "Resource not accessible by integration" };
  }
  return undefined;
}
