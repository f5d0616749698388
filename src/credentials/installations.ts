/**
 * Installation discovery (DESIGN §8): an App given without `GITHUB_APP_<NAME>_INSTALLATION_ID`
 * is installed on one or more accounts, listed with its JWT (`GET /app/installations`, every page
 * by `Link: rel="next"`). Each installation becomes a credential of its own, `<NAME>@<login>`,
 * with its account (for routing) and the permissions it may grant (for narrowed tokens).
 */
import { createAppAuth } from "@octokit/auth-app";
import type { AppSource } from "./sources.ts";
import { pkcs8 } from "./app_tokens.ts";
import { USER_AGENT } from "../http/headers.ts";

/** Most installations one App routes to: the bound on the account labels in metrics. */
export const MAX_INSTALLATIONS = 100;
/** Pages of 100, at most enough for `MAX_INSTALLATIONS` and one more to see it is exceeded. */
const PER_PAGE = 100;
/** One listing may take this long, every page included. */
const LISTING_TIMEOUT_MS = 20_000;

/** One installation of an App, as `GET /app/installations` describes it. */
export interface Installation {
  readonly id: string;
  /** The account's login as GitHub spells it. */
  readonly login: string;
  /** `all` or `selected` repositories of the account. */
  readonly repositorySelection: string;
  /** What the installation was granted: permission → `read`, `write` or `admin`. */
  readonly permissions: Readonly<Record<string, string>>;
  /**
   * When the account suspended the App (`suspended_at`); undefined: not suspended. GitHub still
   * lists a suspended installation but refuses its mints (403 "This installation has been
   * suspended"), so the pool does not route to it.
   */
  readonly suspendedAt?: string;
}

/** Thrown when the installations cannot be read; names the App, never its key or JWT. */
export class DiscoveryError extends Error {
  constructor(readonly app: string, readonly detail: string) {
    super(`could not read the installations of GitHub App ${app}: ${detail}`);
    this.name = "DiscoveryError";
  }
}

/** `GET url` with the App's JWT; a 200 answer's JSON, else a `DiscoveryError`. */
async function getAsApp(
  app: AppSource,
  url: string,
  jwt: string,
  signal: AbortSignal,
  fetchImpl: typeof fetch,
): Promise<{ json: unknown; link: string | null }> {
  let response: Response;
  try {
    response = await fetchImpl(url, {
      headers: {
        authorization: `Bearer ${jwt}`,
        accept: "application/vnd.github+json",
        "user-agent": USER_AGENT,
      },
      signal,
    });
  } catch (error) {
    throw new DiscoveryError(app.name, `GitHub could not be reached (${(error as Error).name})`);
  }
  if (response.status !== 200) {
    await response.body?.cancel();
    throw new DiscoveryError(app.name, `GitHub answered ${response.status}`);
  }
  const json = await response.json().catch(() => undefined);
  return { json, link: response.headers.get("link") };
}

async function appJwt(app: AppSource): Promise<string> {
  const auth = createAppAuth({ appId: app.appId, privateKey: pkcs8(app.privateKey) });
  return (await auth({ type: "app" })).token;
}

/** Lists every installation of `app` (at most `MAX_INSTALLATIONS`, and whether more exist). */
export async function listInstallations(
  app: AppSource,
  apiUrl: string,
  fetchImpl: typeof fetch = fetch,
): Promise<{ installations: Installation[]; truncated: boolean }> {
  const token = await appJwt(app);
  const signal = AbortSignal.timeout(LISTING_TIMEOUT_MS);
  const installations: Installation[] = [];
  let url: string | undefined = `${apiUrl}/app/installations?per_page=${PER_PAGE}`;
  while (url !== undefined && installations.length <= MAX_INSTALLATIONS) {
    const { json: page, link } = await getAsApp(app, url, token, signal, fetchImpl);
    if (!Array.isArray(page)) throw new DiscoveryError(app.name, "the answer is not a list");
    installations.push(...page.flatMap(installationOf));
    url = nextLink(link);
  }
  return {
    installations: installations.slice(0, MAX_INSTALLATIONS),
    truncated: installations.length > MAX_INSTALLATIONS || url !== undefined,
  };
}

/**
 * The installation of an App given by id (`GET /app/installations/{id}`): what it may grant,
 * against which the registry's narrowings are checked, and whether it is suspended.
 */
export async function installationById(
  app: AppSource,
  apiUrl: string,
  fetchImpl: typeof fetch = fetch,
): Promise<Installation> {
  const url = `${apiUrl}/app/installations/${app.installationId}`;
  const signal = AbortSignal.timeout(LISTING_TIMEOUT_MS);
  const { json } = await getAsApp(app, url, await appJwt(app), signal, fetchImpl);
  const installation = installationOf(json)[0];
  if (!installation) throw new DiscoveryError(app.name, "the answer is not an installation");
  return installation;
}

/** The `rel="next"` URL of a `Link` header (GitHub's pagination), if any. */
export function nextLink(link: string | null): string | undefined {
  for (const part of (link ?? "").split(",")) {
    const match = /^\s*<([^>]*)>\s*;\s*rel="next"\s*$/.exec(part);
    if (match) return match[1];
  }
  return undefined;
}

function installationOf(value: unknown): Installation[] {
  const entry = value as {
    id?: unknown;
    account?: { login?: unknown } | null;
    repository_selection?: unknown;
    permissions?: unknown;
    suspended_at?: unknown;
  };
  const login = entry?.account?.login;
  if (typeof entry?.id !== "number" || typeof login !== "string" || login === "") return [];
  const permissions = typeof entry.permissions === "object" && entry.permissions !== null
    ? Object.fromEntries(
      Object.entries(entry.permissions).filter(([, level]) => typeof level === "string"),
    ) as Record<string, string>
    : {};
  return [{
    id: String(entry.id),
    login,
    repositorySelection: typeof entry.repository_selection === "string"
      ? entry.repository_selection
      : "all",
    permissions,
    ...(typeof entry.suspended_at === "string" ? { suspendedAt: entry.suspended_at } : {}),
  }];
}

/** The credential an installation of the App root `app` becomes. */
export function installationSource(app: AppSource, installation: Installation): AppSource {
  return {
    kind: "app",
    name: `${app.name}@${installation.login.toLowerCase()}`,
    appId: app.appId,
    installationId: installation.id,
    privateKey: app.privateKey,
    account: installation.login.toLowerCase(),
    permissions: installation.permissions,
  };
}
