/**
 * In-process fake of the GitHub API for the gateway's tests, listening on 127.0.0.1 (random port).
 *
 * It reproduces what the gateway depends on (DESIGN §5, §7, §8): token and App JWT
 * authentication, per-credential and per-resource rate limits with GitHub's headers, primary and
 * secondary limit answers, credential-dependent ETags with conditional requests, pagination Link
 * headers, GraphQL, runner tokens and installation token minting. Everything it receives is
 * recorded in `requests`.
 */
import { Buffer } from "node:buffer";
import { gzipSync } from "node:zlib";
import { createPublicKey, generateKeyPairSync, type KeyObject, verify } from "node:crypto";

export interface FakeApp {
  id: string;
  installationId: string;
  /** SPKI PEM of the RSA key the gateway signs its App JWTs with. */
  publicKeyPem: string;
  /** Limit for every resource of the installation's tokens (default: as for PATs). */
  limit?: number;
}

export interface FakeGitHubOptions {
  /** Known PATs: token value -> limit for every resource (default 5000 core, 30 search, 10 code_search, 5000 graphql). */
  pats?: Record<string, { limit?: number }>;
  apps?: FakeApp[];
  /** Lifetime of minted installation tokens (default 3600). */
  installationTokenLifetimeSeconds?: number;
  /** "" = api.github.com layout (GraphQL at /graphql); "/api/v3" = GHES layout (GraphQL at /api/graphql). */
  prefix?: "" | "/api/v3";
  /**
   * The release-asset upload base its bodies name in `upload_url` (default `<origin>/api/uploads`,
   * GHES's layout, which is also where the gateway looks for a base that is not `api.<domain>`).
   */
  uploadsUrl?: string;
  /** Gzip JSON answers for a client that accepts it, as GitHub does (ETags stay over the plain body). */
  gzip?: boolean;
}

export interface RecordedRequest {
  method: string;
  /** Request path as received, prefix included, not normalised. */
  path: string;
  rawQuery: string;
  headers: Headers;
  body: Uint8Array;
  /** The token after "token "/"Bearer ", null when anonymous (or the header is malformed). */
  credential: string | null;
  /** Status answered; 0 while the request is still pending. */
  status: number;
}

export interface IssuedToken {
  token: string;
  appId: string;
  installationId: string;
  expiresAt: Date;
}

export interface ResourceOptions {
  status?: number;
  headers?: Record<string, string>;
  /** HTTP date sent as Last-Modified and compared with If-Modified-Since. */
  lastModified?: string;
}

const DOCS = "https://docs.github.com/rest";
const RATE_LIMIT_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api";
const JWT_REFUSED = "A JSON web token could not be decoded";
const JSON_TYPE = "application/json; charset=utf-8";
const DEFAULT_LIMITS: Readonly<Record<string, number>> = {
  core: 5000,
  search: 30,
  code_search: 10,
  graphql: 5000,
  actions_runner_registration: 10000,
};
const ANONYMOUS_LIMITS: Readonly<Record<string, number>> = {
  core: 60,
  search: 10,
  code_search: 10,
};
const RESET_INTERVAL_SECONDS = 3600;
const DEFAULT_API_VERSION = "2022-11-28";
const ISSUE_COUNT = 45;
const JWT_MAX_LIFETIME_SECONDS = 600;
const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const encoder = new TextEncoder();

type Bytes = Uint8Array<ArrayBuffer>;

interface Resource {
  body: Bytes;
  status: number;
  headers: Record<string, string>;
  lastModified?: string;
}

interface Quota {
  limit: number;
  remaining: number;
  reset: number;
}

/** What a route produces before the common headers are added. */
interface Answer {
  status: number;
  body?: Bytes;
  headers?: Record<string, string>;
  /** Send an ETag (and Last-Modified) and honour conditional requests. */
  validators?: boolean;
  lastModified?: string;
}

interface Incoming {
  method: string;
  path: string;
  /** Path relative to the API root ("/graphql" for GraphQL); null when outside the API. */
  apiPath: string | null;
  rawQuery: string;
  query: URLSearchParams;
  headers: Headers;
  body: Bytes;
  credential: string | null;
  /** App id when authenticated with a valid App JWT. */
  appId?: string;
}

type Auth = { ok: true; appId?: string } | { ok: false; message: string };
type Route = [
  method: "GET" | "POST" | "*",
  path: RegExp,
  handler: (inc: Incoming, match: string[]) => Answer,
];

export class FakeGitHub {
  readonly url: string;
  readonly origin: string;
  /** Where `upload_url`s in its bodies point (see `FakeGitHubOptions.uploadsUrl`). */
  readonly uploadsUrl: string;
  readonly requests: RecordedRequest[] = [];

  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #prefix: string;
  readonly #gzip: boolean;
  readonly #pats: Map<string, number | undefined>;
  readonly #apps: { app: FakeApp; key: KeyObject }[];
  readonly #tokenLifetime: number;
  readonly #resources = new Map<string, Resource>();
  readonly #quotas = new Map<string, Quota>();
  readonly #secondary = new Map<string, { count: number; retryAfterSeconds: number | null }>();
  readonly #revoked = new Set<string>();
  readonly #issued = new Map<string, IssuedToken>();
  readonly #hanging = new Set<string>();
  readonly #released = Promise.withResolvers<void>();
  readonly #routes: Route[] = [
    ["GET", /^\/zen$/, () => text("Keep it logically awesome.")],
    ["GET", /^\/rate_limit$/, (inc) => this.#rateLimit(inc.credential)],
    ["POST", /^\/graphql$/, (inc) => this.#graphql(inc)],
    ["GET", /^\/echo\/binary$/, (inc) => this.#binary(inc)],
    ["*", /^\/echo(?:\/.*)?$/, (inc) => echo(inc)],
    ["*", /^\/status\/(\d{3})$/, (_, [code]) => this.#status(Number(code))],
    ["GET", /^\/repos\/([^/]+)\/([^/]+)$/, (_, [owner, repo]) => this.#repo(owner, repo)],
    ["GET", /^\/repos\/([^/]+)\/([^/]+)\/issues$/, (inc, [o, r]) => this.#issues(inc, o, r)],
    [
      "GET",
      /^\/repos\/([^/]+)\/([^/]+)\/releases\/(\d+)$/,
      (_, [o, r, id]) => this.#release(o, r, id),
    ],
    ["POST", /^\/repos\/([^/]+)\/([^/]+)\/issues$/, (inc, [o, r]) => this.#createIssue(inc, o, r)],
    [
      "POST",
      /^\/(?:orgs|repos|enterprises)\/([^/]+)(?:\/[^/]+)?\/actions\/runners\/(?:registration|remove)-token$/,
      (_, [owner]) => owner.startsWith("unknown-") ? notFound() : runnerToken(),
    ],
    ["GET", /^\/app\/installations\/([^/]+)$/, (inc, [id]) => this.#installation(inc, id)],
    ["POST", /^\/app\/installations\/([^/]+)\/access_tokens$/, (inc, [id]) => this.#mint(inc, id)],
  ];

  private constructor(opts: FakeGitHubOptions) {
    this.#prefix = opts.prefix ?? "";
    this.#gzip = opts.gzip ?? false;
    this.#pats = new Map(Object.entries(opts.pats ?? {}).map(([token, o]) => [token, o.limit]));
    this.#apps = (opts.apps ?? []).map((app) => ({ app, key: createPublicKey(app.publicKeyPem) }));
    this.#tokenLifetime = opts.installationTokenLifetimeSeconds ?? 3600;
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      (req) => this.#handle(req),
    );
    this.origin = `http://127.0.0.1:${this.#server.addr.port}`;
    this.url = this.origin + this.#prefix;
    this.uploadsUrl = opts.uploadsUrl ?? `${this.origin}/api/uploads`;
  }

  static start(opts: FakeGitHubOptions = {}): Promise<FakeGitHub> {
    return Promise.resolve(new FakeGitHub(opts));
  }

  clearRequests(): void {
    this.requests.length = 0;
  }

  /** Serves `body` (JSON-encoded unless bytes) at GET `path` (relative to the prefix, no query). */
  setResource(path: string, body: unknown, opts: ResourceOptions = {}): void {
    const bytes = body instanceof Uint8Array;
    this.#resources.set(path, {
      body: bytes ? new Uint8Array(body) : encoder.encode(JSON.stringify(body)),
      status: opts.status ?? 200,
      headers: { "content-type": bytes ? "application/octet-stream" : JSON_TYPE, ...opts.headers },
      lastModified: opts.lastModified,
    });
  }

  /** Replaces a resource's body (its ETag changes; a Last-Modified moves forward by at least 1 s). */
  mutate(path: string, body: unknown): void {
    const old = this.#resources.get(path);
    const lastModified = old?.lastModified &&
      new Date(Math.max(Date.now(), Date.parse(old.lastModified) + 1000)).toUTCString();
    this.setResource(path, body, { status: old?.status, headers: old?.headers, lastModified });
  }

  remaining(token: string | null, resource = "core"): number {
    return this.#quota(token, resource).remaining;
  }

  setRemaining(
    token: string,
    resource: string,
    remaining: number,
    resetEpochSeconds?: number,
  ): void {
    const quota = this.#quota(token, resource);
    quota.remaining = remaining;
    if (resetEpochSeconds !== undefined) quota.reset = resetEpochSeconds;
  }

  triggerSecondaryLimit(
    token: string,
    opts: { retryAfterSeconds?: number | null; count?: number } = {},
  ): void {
    this.#secondary.set(token, {
      count: opts.count ?? 1,
      retryAfterSeconds: opts.retryAfterSeconds === undefined ? 60 : opts.retryAfterSeconds,
    });
  }

  revokeToken(token: string): void {
    this.#revoked.add(token);
  }

  mints(appId?: string): number {
    return this.issuedTokens().filter((t) => appId === undefined || t.appId === appId).length;
  }

  issuedTokens(): IssuedToken[] {
    return [...this.#issued.values()].map((t) => ({ ...t }));
  }

  /** Requests to `path` (relative to the prefix, "/graphql" for GraphQL) get no answer until close. */
  hang(path: string): void {
    this.#hanging.add(path);
  }

  async close(): Promise<void> {
    this.#released.resolve();
    await this.#server.shutdown();
  }

  async #handle(req: Request): Promise<Response> {
    const { path, rawQuery } = splitTarget(req.url);
    const authorization = req.headers.get("authorization");
    const credential = authorization === null
      ? null
      : /^(?:token|bearer)\s+(\S+)\s*$/i.exec(authorization)?.[1] ?? null;
    const body = new Uint8Array(await req.arrayBuffer());
    const record: RecordedRequest = {
      method: req.method,
      path,
      rawQuery,
      headers: req.headers,
      body,
      credential,
      status: 0,
    };
    this.requests.push(record);
    const inc: Incoming = {
      ...record,
      body,
      apiPath: this.#apiPath(path),
      query: new URLSearchParams(rawQuery),
    };
    if (inc.apiPath !== null && this.#hanging.has(inc.apiPath)) {
      await this.#released.promise;
      record.status = 503;
      return new Response(null, { status: 503 });
    }
    const response = await this.#answer(inc, authorization !== null);
    record.status = response.status;
    return response;
  }

  async #answer(inc: Incoming, authorized: boolean): Promise<Response> {
    const resource = rateResource(inc.apiPath);
    const auth = this.#authenticate(inc, authorized);
    const key = auth.ok ? inc.credential : null;
    const quota = this.#quota(key, resource);
    const secondary = key === null ? undefined : this.#secondary.get(key);
    const free = inc.apiPath === "/rate_limit";
    let answer: Answer;
    let charge = false;
    if (!auth.ok) {
      answer = json(401, { message: auth.message, documentation_url: DOCS });
    } else if (secondary && secondary.count > 0) {
      secondary.count--;
      answer = json(
        403,
        {
          message:
            "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
          documentation_url: `${RATE_LIMIT_DOCS}#about-secondary-rate-limits`,
        },
        secondary.retryAfterSeconds === null
          ? {}
          : { "retry-after": String(secondary.retryAfterSeconds) },
      );
    } else if (quota.remaining <= 0 && !free) {
      const message = "API rate limit exceeded for user ID 1.";
      answer = resource === "graphql"
        ? json(200, { errors: [{ type: "RATE_LIMITED", message }] })
        : json(403, { message, documentation_url: RATE_LIMIT_DOCS });
    } else {
      answer = this.#route({ ...inc, appId: auth.appId });
      charge = !free;
    }

    const headers = new Headers(answer.headers);
    let status = answer.status;
    let body = answer.body;
    const read = inc.method === "GET" || inc.method === "HEAD";
    if (answer.validators && read && status === 200 && body) {
      const etag = `W/"${await githubEtag(requestHashHeaders(inc.headers), body)}"`;
      headers.set("etag", etag);
      if (answer.lastModified) headers.set("last-modified", answer.lastModified);
      if (notModified(inc.headers, etag, answer.lastModified)) {
        status = 304;
        body = undefined;
        charge = false;
      }
    }
    if (charge) quota.remaining--;
    headers.set("x-ratelimit-limit", String(quota.limit));
    headers.set("x-ratelimit-remaining", String(quota.remaining));
    headers.set("x-ratelimit-used", String(quota.limit - quota.remaining));
    headers.set("x-ratelimit-reset", String(quota.reset));
    headers.set("x-ratelimit-resource", resource);
    headers.set("x-github-request-id", crypto.randomUUID().toUpperCase());
    // GitHub names the REST API version it answered with: the one asked for, else the default.
    headers.set(
      "x-github-api-version-selected",
      inc.headers.get("x-github-api-version") ?? DEFAULT_API_VERSION,
    );
    headers.set("date", new Date().toUTCString());
    if (this.#gzip && body && /\bgzip\b/.test(inc.headers.get("accept-encoding") ?? "")) {
      body = new Uint8Array(gzipSync(body));
      headers.set("content-encoding", "gzip");
    }
    return new Response(inc.method === "HEAD" ? null : body ?? null, { status, headers });
  }

  #apiPath(path: string): string | null {
    if (path === (this.#prefix ? "/api/graphql" : "/graphql")) return "/graphql";
    if (!path.startsWith(this.#prefix + "/")) return null;
    const rel = path.slice(this.#prefix.length);
    return rel === "/graphql" ? null : rel;
  }

  #authenticate(inc: Incoming, authorized: boolean): Auth {
    if (!authorized) {
      return inc.apiPath === "/graphql"
        ? { ok: false, message: "This endpoint requires you to be authenticated." }
        : { ok: true };
    }
    const token = inc.credential;
    if (token === null || this.#revoked.has(token)) {
      return { ok: false, message: "Bad credentials" };
    }
    const issued = this.#issued.get(token);
    if (this.#pats.has(token) || (issued && issued.expiresAt.getTime() > Date.now())) {
      return { ok: true };
    }
    if (inc.apiPath?.startsWith("/app/")) {
      const appId = this.#verifyJwt(token);
      return appId === null ? { ok: false, message: JWT_REFUSED } : { ok: true, appId };
    }
    return { ok: false, message: "Bad credentials" };
  }

  /** The app id of a valid RS256 App JWT (signature, iss, exp - iat ≤ 600 s, unexpired), else null. */
  #verifyJwt(jwt: string): string | null {
    const [header, payload, signature, extra] = jwt.split(".");
    if (signature === undefined || extra !== undefined) return null;
    try {
      const alg = JSON.parse(Buffer.from(header, "base64url").toString()).alg;
      const { iss, iat, exp } = JSON.parse(Buffer.from(payload, "base64url").toString());
      const entry = this.#apps.find(({ app }) => app.id === String(iss));
      const signed = encoder.encode(`${header}.${payload}`);
      const valid = alg === "RS256" && entry !== undefined &&
        typeof iat === "number" && typeof exp === "number" &&
        exp - iat <= JWT_MAX_LIFETIME_SECONDS && exp > Date.now() / 1000 &&
        verify("sha256", signed, entry.key, Buffer.from(signature, "base64url"));
      return valid ? entry.app.id : null;
    } catch {
      return null;
    }
  }

  #quota(key: string | null, resource: string): Quota {
    const id = `${key ?? ""}\n${resource}`;
    let quota = this.#quotas.get(id);
    if (!quota) {
      const limit = key === null
        ? ANONYMOUS_LIMITS[resource] ?? 60
        : this.#pats.get(key) ?? this.#appLimit(key) ?? DEFAULT_LIMITS[resource] ?? 5000;
      quota = { limit, remaining: 0, reset: 0 };
      this.#quotas.set(id, quota);
    }
    const now = nowSeconds();
    if (now >= quota.reset) {
      quota.remaining = quota.limit;
      quota.reset = now + RESET_INTERVAL_SECONDS;
    }
    return quota;
  }

  #appLimit(token: string): number | undefined {
    const issued = this.#issued.get(token);
    return issued && this.#apps.find(({ app }) => app.id === issued.appId)?.app.limit;
  }

  #route(inc: Incoming): Answer {
    const { apiPath, method } = inc;
    if (apiPath === null) return notFound();
    const read = method === "GET" || method === "HEAD";
    const stored = this.#resources.get(apiPath);
    if (stored && read) return { ...stored, validators: true };
    for (const [routeMethod, pattern, handler] of this.#routes) {
      const match = pattern.exec(apiPath);
      const methodOk = routeMethod === "*" || routeMethod === method ||
        (routeMethod === "GET" && read);
      if (match && methodOk) return handler(inc, match.slice(1));
    }
    return notFound();
  }

  #rateLimit(key: string | null): Answer {
    const resources = Object.fromEntries(
      ["core", "search", "code_search", "graphql"].map((name) => {
        const { limit, remaining, reset } = this.#quota(key, name);
        return [name, { limit, used: limit - remaining, remaining, reset }];
      }),
    );
    return json(200, { resources, rate: resources.core });
  }

  #graphql(inc: Incoming): Answer {
    const request = parseJson(inc.body);
    return request === undefined
      ? json(400, {
        message: "Problems parsing JSON",
        documentation_url: "https://docs.github.com/graphql",
      })
      : json(200, { data: { viewer: { login: "fake" }, echo: request } });
  }

  /** `size` deterministic bytes: byte i is i % 251. */
  #binary(inc: Incoming): Answer {
    const size = Math.max(0, Number.parseInt(inc.query.get("size") ?? "0", 10) || 0);
    const body = new Uint8Array(size).map((_, i) => i % 251);
    return {
      status: 200,
      body,
      headers: { "content-type": "application/octet-stream" },
      validators: true,
    };
  }

  #status(code: number): Answer {
    if (code < 200 || code > 599) return notFound();
    const location: Record<string, string> = code >= 300 && code < 400
      ? { location: `${this.url}/zen` }
      : {};
    return [204, 205, 304].includes(code)
      ? { status: code, headers: location }
      : json(code, { message: `Status ${code}`, documentation_url: DOCS }, location);
  }

  #repo(owner: string, repo: string): Answer {
    return { ...json(200, repositoryDocument(this.url, owner, repo)), validators: true };
  }

  /** 45 generated issues, paginated like GitHub (per_page default 30, max 100). */
  #issues(inc: Incoming, owner: string, repo: string): Answer {
    const perPage = Math.min(100, Math.max(1, positiveInt(inc.query.get("per_page"), 30)));
    const page = positiveInt(inc.query.get("page"), 1);
    const last = Math.max(1, Math.ceil(ISSUE_COUNT / perPage));
    const base = `${this.url}/repos/${owner}/${repo}/issues`;
    const first = (page - 1) * perPage + 1;
    const issues = [];
    for (let n = first; n < first + perPage && n <= ISSUE_COUNT; n++) {
      issues.push({
        id: n,
        number: n,
        title: `Issue ${n}`,
        state: "open",
        url: `${base}/${n}`,
        repository_url: `${this.url}/repos/${owner}/${repo}`,
        comments_url: `${base}/${n}/comments`,
        html_url: `https://github.com/${owner}/${repo}/issues/${n}`,
      });
    }
    const link = (target: number, rel: string) => {
      const query = new URLSearchParams(inc.rawQuery);
      query.set("page", String(target));
      return `<${base}?${query}>; rel="${rel}"`;
    };
    const links = [
      ...(page > 1 ? [link(page - 1, "prev")] : []),
      ...(page < last ? [link(page + 1, "next"), link(last, "last")] : []),
      ...(page > 1 ? [link(1, "first")] : []),
    ];
    return {
      ...json(200, issues, links.length ? { link: links.join(", ") } : {}),
      validators: true,
    };
  }

  /** A release as GitHub answers it: API URLs, an `upload_url` template at the uploads base. */
  #release(owner: string, repo: string, id: string): Answer {
    const url = `${this.url}/repos/${owner}/${repo}/releases/${id}`;
    return {
      ...json(200, {
        url,
        assets_url: `${url}/assets`,
        upload_url: `${this.uploadsUrl}/repos/${owner}/${repo}/releases/${id}/assets{?name,label}`,
        html_url: `https://github.com/${owner}/${repo}/releases/tag/v${id}`,
        id: Number(id),
        tag_name: `v${id}`,
        name: `Release ${id}`,
        body: `Notes mention ${url} in passing.`,
        tarball_url: `${this.url}/repos/${owner}/${repo}/tarball/v${id}`,
        zipball_url: `${this.url}/repos/${owner}/${repo}/zipball/v${id}`,
        assets: [],
      }),
      validators: true,
    };
  }

  #createIssue(inc: Incoming, owner: string, repo: string): Answer {
    const input = parseJson(inc.body);
    const title = typeof input === "object" && input !== null && "title" in input
      ? input.title
      : null;
    const url = `${this.url}/repos/${owner}/${repo}/issues/${ISSUE_COUNT + 1}`;
    return json(201, { id: ISSUE_COUNT + 1, number: ISSUE_COUNT + 1, title, state: "open", url }, {
      location: url,
    });
  }

  /** The app authenticated by the request's JWT when it owns the installation. */
  #appOwning(inc: Incoming, installationId: string): FakeApp | undefined {
    return this.#apps.find(({ app }) =>
      app.id === inc.appId && app.installationId === installationId
    )?.app;
  }

  #installation(inc: Incoming, installationId: string): Answer {
    const app = this.#appOwning(inc, installationId);
    if (!app) return jwtRefused();
    return json(200, {
      id: Number(installationId),
      app_id: Number(app.id),
      account: { login: "fake" },
      repository_selection: "all",
      permissions: {},
    });
  }

  #mint(inc: Incoming, installationId: string): Answer {
    const app = this.#appOwning(inc, installationId);
    if (!app) return jwtRefused();
    const token = `ghs_${randomString(36)}`;
    const expiresAt = new Date((nowSeconds() + this.#tokenLifetime) * 1000);
    this.#issued.set(token, { token, appId: app.id, installationId, expiresAt });
    return json(201, {
      token,
      expires_at: isoSeconds(expiresAt),
      permissions: {},
      repository_selection: "all",
    });
  }
}

/**
 * GitHub's ETag (DESIGN §7): hex SHA-256 of each present header value among Accept,
 * Authorization, Cookie followed by ":", then the body. Returns the bare hex.
 */
export async function githubEtag(
  headers: { accept?: string | null; authorization?: string | null; cookie?: string | null },
  body: Uint8Array,
): Promise<string> {
  const prefix = encoder.encode(
    [headers.accept, headers.authorization, headers.cookie]
      .filter((value) => value != null)
      .map((value) => `${value}:`)
      .join(""),
  );
  const data = new Uint8Array(prefix.length + body.length);
  data.set(prefix);
  data.set(body, prefix.length);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** `name_url` fields: a path's first word names it unless `name=` says otherwise. */
function links(base: string, paths: readonly string[]): Record<string, string> {
  return Object.fromEntries(paths.map((spec) => {
    const [name, path] = spec.includes("=") ? spec.split("=") : [spec.replace(/[/{].*$/, ""), spec];
    return [`${name}_url`, `${base}/${path}`];
  }));
}

const OWNER_LINKS = [
  "followers",
  "following{/other_user}",
  "gists{/gist_id}",
  "starred{/owner}{/repo}",
  "subscriptions",
  "organizations=orgs",
  "repos",
  "events{/privacy}",
  "received_events",
];
const REPO_LINKS = [
  "forks",
  "keys{/key_id}",
  "collaborators{/collaborator}",
  "teams",
  "hooks",
  "issue_events=issues/events{/number}",
  "events",
  "assignees{/user}",
  "branches{/branch}",
  "tags",
  "blobs=git/blobs{/sha}",
  "git_tags=git/tags{/sha}",
  "git_refs=git/refs{/sha}",
  "trees=git/trees{/sha}",
  "statuses/{sha}",
  "languages",
  "stargazers",
  "contributors",
  "subscribers",
  "subscription",
  "commits{/sha}",
  "git_commits=git/commits{/sha}",
  "comments{/number}",
  "issue_comment=issues/comments{/number}",
  "contents/{+path}",
  "compare/{base}...{head}",
  "merges",
  "archive={archive_format}{/ref}",
  "downloads",
  "issues{/number}",
  "pulls{/number}",
  "milestones{/number}",
  "notifications{?since,all,participating}",
  "labels{/name}",
  "releases{/id}",
  "deployments",
];

/**
 * `owner/repo` as GitHub's `GET /repos/{owner}/{repo}` answers it, with its links under `api`
 * (about 4.5 KB of JSON, the typical size of a cached answer).
 */
export function repositoryDocument(api: string, owner: string, repo: string): unknown {
  const url = `${api}/repos/${owner}/${repo}`;
  const account = {
    login: owner,
    id: 1,
    node_id: "MDEyOk9yZ2FuaXphdGlvbjE=",
    avatar_url: "https://avatars.githubusercontent.com/u/1?v=4",
    gravatar_id: "",
    url: `${api}/users/${owner}`,
    html_url: `https://github.com/${owner}`,
    ...links(`${api}/users/${owner}`, OWNER_LINKS),
    type: "Organization",
    site_admin: false,
  };
  return {
    id: 1,
    node_id: "MDEwOlJlcG9zaXRvcnkx",
    name: repo,
    full_name: `${owner}/${repo}`,
    private: false,
    owner: account,
    html_url: `https://github.com/${owner}/${repo}`,
    description: "A repository served by the fake GitHub.",
    fork: false,
    url,
    ...links(url, REPO_LINKS),
    created_at: "2020-01-01T00:00:00Z",
    updated_at: "2026-12-01T00:00:00Z",
    pushed_at: "2026-12-01T00:00:00Z",
    git_url: `git://github.com/${owner}/${repo}.git`,
    ssh_url: `git@github.com:${owner}/${repo}.git`,
    clone_url: `https://github.com/${owner}/${repo}.git`,
    homepage: null,
    size: 1024,
    stargazers_count: 42,
    watchers_count: 42,
    language: "TypeScript",
    forks_count: 3,
    open_issues_count: ISSUE_COUNT,
    topics: ["ci", "github", "proxy", "cache"],
    visibility: "public",
    default_branch: "main",
    permissions: { admin: false, maintain: false, push: true, triage: true, pull: true },
    license: {
      key: "mit",
      name: "MIT License",
      spdx_id: "MIT",
      url: `${api}/licenses/mit`,
      node_id: "MDc6TGljZW5zZTEz",
    },
  };
}

/** A fresh RSA 2048 key pair for a test App (private key PEM in the requested encoding). */
export function generateAppKey(
  format: "pkcs1" | "pkcs8" = "pkcs1",
): Promise<{ privateKeyPem: string; publicKeyPem: string }> {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: format, format: "pem" },
  });
  return Promise.resolve({ privateKeyPem: privateKey, publicKeyPem: publicKey });
}

/** Splits a request URL into its raw path and query (no normalisation, unlike `new URL`). */
function splitTarget(url: string): { path: string; rawQuery: string } {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  const target = start < 0 ? "/" : url.slice(start);
  const mark = target.indexOf("?");
  return mark < 0
    ? { path: target, rawQuery: "" }
    : { path: target.slice(0, mark), rawQuery: target.slice(mark + 1) };
}

function rateResource(apiPath: string | null): string {
  if (apiPath === "/graphql") return "graphql";
  if (apiPath === "/search/code") return "code_search";
  if (apiPath?.startsWith("/search/")) return "search";
  if (apiPath?.endsWith("/actions/runners/registration-token")) {
    return "actions_runner_registration";
  }
  return "core";
}

function requestHashHeaders(headers: Headers) {
  return {
    accept: headers.get("accept"),
    authorization: headers.get("authorization"),
    cookie: headers.get("cookie"),
  };
}

/** If-None-Match (strong or weak, lists, `*`) decides when present; else If-Modified-Since. */
function notModified(headers: Headers, etag: string, lastModified?: string): boolean {
  const opaque = (tag: string) => tag.trim().replace(/^W\//, "");
  const noneMatch = headers.get("if-none-match");
  if (noneMatch !== null) {
    return noneMatch.split(",").some((tag) => tag.trim() === "*" || opaque(tag) === opaque(etag));
  }
  const since = headers.get("if-modified-since");
  return since !== null && lastModified !== undefined &&
    Date.parse(since) >= Date.parse(lastModified);
}

function echo(inc: Incoming): Answer {
  return json(200, {
    method: inc.method,
    path: inc.path,
    rawQuery: inc.rawQuery,
    headers: Object.fromEntries(inc.headers),
    bodyBase64: Buffer.from(inc.body).toString("base64"),
    contentType: inc.headers.get("content-type"),
  });
}

function runnerToken(): Answer {
  return json(201, {
    token: randomString(29).toUpperCase(),
    expires_at: isoSeconds(new Date((nowSeconds() + 3600) * 1000)),
  });
}

function json(status: number, value: unknown, headers: Record<string, string> = {}): Answer {
  return {
    status,
    body: encoder.encode(JSON.stringify(value)),
    headers: { "content-type": JSON_TYPE, ...headers },
  };
}

function text(value: string): Answer {
  return { status: 200, body: encoder.encode(value), headers: { "content-type": "text/plain" } };
}

function jwtRefused(): Answer {
  return json(401, { message: JWT_REFUSED, documentation_url: DOCS });
}

function notFound(): Answer {
  return json(404, { message: "Not Found", documentation_url: DOCS });
}

/** The parsed JSON body, or undefined when it is not JSON. */
function parseJson(body: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(body));
  } catch {
    return undefined;
  }
}

function positiveInt(value: string | null, fallback: number): number {
  const n = Number.parseInt(value ?? "", 10);
  return n > 0 ? n : fallback;
}

function randomString(length: number): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(length)),
    (b) => ALPHANUMERIC[b % ALPHANUMERIC.length],
  ).join("");
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}
