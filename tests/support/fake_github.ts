/**
 * In-process fake of the GitHub API for the gateway's tests, listening on 127.0.0.1 (random port).
 *
 * It reproduces what the gateway depends on (DESIGN §5, §7, §8, §11): token and App JWT
 * authentication, rate limits per account and resource with GitHub's headers (every PAT of one
 * user shares that user's budget, an App installation has its own; `GET /user` names the user),
 * primary and secondary limit answers (a concurrency cap and a write-rate rule per account, and a
 * cooldown that grows when the account sends during it), GraphQL queries costing more than one
 * point and both spellings of GraphQL's rate-limit error, credential-dependent ETags with
 * conditional requests, pagination Link headers, runner tokens, installation token minting,
 * releases and release-asset uploads on the uploads root (`<origin>/api/uploads`, GHES's layout;
 * on github.com it is `uploads.github.com`), workflow and repository dispatches
 * (`fake_dispatches.ts`).
 * Everything it receives is recorded in `requests`.
 */
import { Buffer } from "node:buffer";
import { gzipSync } from "node:zlib";
import { createPublicKey, generateKeyPairSync, type KeyObject, verify } from "node:crypto";
import {
  type FakeInstallation,
  installationDocument,
  type MintRequest,
  mintScope,
  page,
  scopeRefusal,
  type TokenScope,
} from "./fake_installations.ts";
import { FakeDispatches } from "./fake_dispatches.ts";

export interface FakeApp {
  id: string;
  /** The one installation of an App given by id (account "fake", every repository). */
  installationId?: string;
  /** Installations on accounts (see `fake_installations.ts`): listed, routed, narrowed. */
  installations?: FakeInstallation[];
  /** SPKI PEM of the RSA key the gateway signs its App JWTs with. */
  publicKeyPem: string;
  /** Limit for every resource of the installation's tokens (default: as for PATs). */
  limit?: number;
}

/**
 * GitHub's secondary limits, per account (all PATs of one user, or one installation). Any rule
 * broken answers 403 "You have exceeded a secondary rate limit" with `retry-after` and starts a
 * cooldown; a request during the cooldown is refused too and extends it (as GitHub does).
 */
export interface SecondaryRules {
  /** Most requests of one account in flight at once. */
  concurrency?: number;
  /** A mutating request less than this long after the account's previous one breaks the rule. */
  minWriteIntervalMs?: number;
  /** Most mutating requests of one account in any 60 s. */
  writesPerMinute?: number;
  /** Cooldown length and `retry-after` (default 60). */
  cooldownSeconds?: number;
}

/** GraphQL's two spellings of a rate-limit error (GitHub has used both). */
export type GraphqlRateLimitSpelling = "RATE_LIMITED" | "RATE_LIMIT";

export interface FakeGitHubOptions {
  /**
   * Known PATs: token value -> limit for every resource (default 5000 core, 30 search, 10
   * code_search, 5000 graphql) and the login of the user it belongs to (default: a user of its
   * own). PATs of one login share one budget per resource; the first one seen sets its limit.
   */
  pats?: Record<string, { limit?: number; login?: string }>;
  apps?: FakeApp[];
  /** Lifetime of minted installation tokens (default 3600). */
  installationTokenLifetimeSeconds?: number;
  /** "" = api.github.com layout (GraphQL at /graphql); "/api/v3" = GHES layout (GraphQL at /api/graphql). */
  prefix?: "" | "/api/v3";
  /**
   * The fake's clock in epoch milliseconds (default `Date.now`): quota resets, `Date` headers,
   * the expiry of the tokens it mints and the JWTs it accepts. Tests that must not depend on
   * where a second boundary falls pass a `ManualClock`'s `now`, shared with the gateway.
   */
  now?: () => number;
  /** Open issues every repository has (default 45). */
  issueCount?: number;
  secondary?: SecondaryRules;
  /** Milliseconds every API answer takes, so concurrent requests overlap (default 0). */
  latencyMs?: number;
  /** Points every GraphQL query costs (default 1); see `setGraphqlCost`. */
  graphqlCost?: number;
  /** How a GraphQL rate limit is spelt in the 200 answer (default `RATE_LIMITED`). */
  graphqlRateLimitSpelling?: GraphqlRateLimitSpelling;
  /**
   * The release-asset upload base its bodies name in `upload_url` (default `<origin>/api/uploads`,
   * GHES's layout, which is also where the gateway looks for a base that is not `api.<domain>`).
   */
  uploadsUrl?: string;
  /** Gzip JSON answers for a client that accepts it, as GitHub does (ETags stay over the plain body). */
  gzip?: boolean;
  /** Accounts whose repositories are private: anonymous calls for them get 404. */
  privateOwners?: string[];
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

/** A release asset as the uploads API stored it. */
export interface FakeAsset {
  readonly id: number;
  readonly releaseId: number;
  readonly name: string;
  readonly label: string | null;
  readonly contentType: string | null;
  readonly bytes: Uint8Array;
}

interface FakeRelease {
  readonly id: number;
  readonly owner: string;
  readonly repo: string;
  readonly tag: string;
  readonly assets: FakeAsset[];
}

export interface IssuedToken {
  token: string;
  appId: string;
  installationId: string;
  expiresAt: Date;
  /** For an installation on an account: what the token may see and do. */
  scope?: TokenScope;
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
const DEFAULT_ISSUE_COUNT = 45;
/** Where the uploads API lives on the fake's origin, in both layouts. */
const UPLOADS_ROOT = "/api/uploads";
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
  /** Path relative to the uploads root; null when outside it. */
  uploadPath: string | null;
  rawQuery: string;
  query: URLSearchParams;
  headers: Headers;
  body: Bytes;
  credential: string | null;
  /** App id when authenticated with a valid App JWT. */
  appId?: string;
}

type Auth = { ok: true; appId?: string } | { ok: false; message: string };

/** One account's secondary-limit state. */
interface Account {
  inFlight: number;
  /** Epoch ms of accepted mutating requests in the last minute. */
  writes: number[];
  cooldownUntilMs: number;
}

const SECONDARY_MESSAGE =
  "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.";
type Route = [
  method: "GET" | "POST" | "*",
  path: RegExp,
  handler: (inc: Incoming, match: string[]) => Answer,
];

export class FakeGitHub implements AsyncDisposable {
  readonly url: string;
  readonly origin: string;
  /** Where `upload_url`s in its bodies point (see `FakeGitHubOptions.uploadsUrl`). */
  readonly uploadsUrl: string;
  readonly requests: RecordedRequest[] = [];
  /** Every successful `POST /app/installations/{id}/access_tokens`, as asked. */
  readonly mintRequests: MintRequest[] = [];
  /** The dispatch endpoints webhook rules call, and what they received. */
  readonly dispatches: FakeDispatches = new FakeDispatches();

  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #prefix: string;
  readonly #gzip: boolean;
  readonly #privateOwners: Set<string>;
  readonly #pats: Map<string, { limit?: number; login: string; id: number }>;
  readonly #rules: SecondaryRules;
  readonly #spelling: GraphqlRateLimitSpelling;
  readonly #accounts = new Map<string, Account>();
  readonly #spent = new Map<string, number>();
  #latencyMs: number;
  #listingLatencyMs = 0;
  #graphqlCost: number;
  #secondaryAnswers = 0;
  #peakInFlight = 0;
  #cooldownExtensions = 0;
  readonly #apps: { app: FakeApp; key: KeyObject }[];
  readonly #tokenLifetime: number;
  readonly #now: () => number;
  readonly #issueCount: number;
  readonly #resources = new Map<string, Resource>();
  readonly #quotas = new Map<string, Quota>();
  readonly #secondary = new Map<string, { count: number; retryAfterSeconds: number | null }>();
  readonly #revoked = new Set<string>();
  readonly #issued = new Map<string, IssuedToken>();
  readonly #hanging = new Set<string>();
  readonly #released = Promise.withResolvers<void>();
  readonly #releases = new Map<number, FakeRelease>();
  #nextAssetId = 1;
  readonly #uploadRoutes: Route[] = [
    [
      "POST",
      /^\/repos\/([^/]+)\/([^/]+)\/releases\/(\d+)\/assets$/,
      (inc, [o, r, id]) => this.#uploadAsset(inc, o, r, Number(id)),
    ],
  ];
  readonly #routes: Route[] = [
    ["GET", /^\/zen$/, () => text("Keep it logically awesome.")],
    ["GET", /^\/user$/, (inc) => this.#user(inc.credential)],
    ["GET", /^\/rate_limit$/, (inc) => this.#rateLimit(inc.credential)],
    ["POST", /^\/graphql$/, (inc) => this.#graphql(inc)],
    ["GET", /^\/echo\/binary$/, (inc) => this.#binary(inc)],
    ["*", /^\/echo(?:\/.*)?$/, (inc) => echo(inc)],
    ["*", /^\/status\/(\d{3})$/, (_, [code]) => this.#status(Number(code))],
    ["GET", /^\/repos\/([^/]+)\/([^/]+)$/, (_, [owner, repo]) => this.#repo(owner, repo)],
    ["GET", /^\/orgs\/([^/]+)$/, (_, [org]) => this.#org(org)],
    ["GET", /^\/repos\/([^/]+)\/([^/]+)\/issues$/, (inc, [o, r]) => this.#issues(inc, o, r)],
    [
      "GET",
      /^\/repos\/([^/]+)\/([^/]+)\/releases\/(\d+)$/,
      (_, [o, r, id]) => this.#release(o, r, id),
    ],
    ["POST", /^\/repos\/([^/]+)\/([^/]+)\/issues$/, (inc, [o, r]) => this.#createIssue(inc, o, r)],
    [
      "POST",
      /^\/repos\/([^/]+)\/([^/]+)\/releases$/,
      (inc, [o, r]) => this.#createRelease(inc, o, r),
    ],
    [
      "GET",
      /^\/repos\/([^/]+)\/([^/]+)\/releases\/(\d+)$/,
      (_, [o, r, id]) => this.#getRelease(o, r, Number(id)),
    ],
    [
      "POST",
      /^\/(?:orgs|repos|enterprises)\/([^/]+)(?:\/[^/]+)?\/actions\/runners\/(?:registration|remove)-token$/,
      (_, [owner]) => owner.startsWith("unknown-") ? notFound() : this.#runnerToken(),
    ],
    ["GET", /^\/app\/installations$/, (inc) => this.#installations(inc)],
    [
      "POST",
      /^\/repos\/([^/]+)\/([^/]+)\/actions\/workflows\/([^/]+)\/dispatches$/,
      (inc, [o, r, w]) =>
        this.dispatches.workflowDispatch(inc.path, o, r, w, inc.body, inc.credential),
    ],
    [
      "POST",
      /^\/repos\/([^/]+)\/([^/]+)\/dispatches$/,
      (inc, [o, r]) => this.dispatches.repositoryDispatch(inc.path, o, r, inc.body, inc.credential),
    ],
    ["GET", /^\/app\/installations\/([^/]+)$/, (inc, [id]) => this.#installation(inc, id)],
    ["POST", /^\/app\/installations\/([^/]+)\/access_tokens$/, (inc, [id]) => this.#mint(inc, id)],
  ];

  private constructor(opts: FakeGitHubOptions) {
    this.#prefix = opts.prefix ?? "";
    this.#gzip = opts.gzip ?? false;
    this.#privateOwners = new Set((opts.privateOwners ?? []).map((owner) => owner.toLowerCase()));
    const logins = new Map<string, number>();
    this.#pats = new Map(
      Object.entries(opts.pats ?? {}).map(([token, o], index) => {
        const login = o.login ?? `user-${index + 1}`;
        if (!logins.has(login)) logins.set(login, logins.size + 1);
        return [token, { limit: o.limit, login, id: logins.get(login)! }];
      }),
    );
    this.#rules = opts.secondary ?? {};
    this.#spelling = opts.graphqlRateLimitSpelling ?? "RATE_LIMITED";
    this.#latencyMs = opts.latencyMs ?? 0;
    this.#graphqlCost = opts.graphqlCost ?? 1;
    this.#apps = (opts.apps ?? []).map((app) => ({ app, key: createPublicKey(app.publicKeyPem) }));
    this.#tokenLifetime = opts.installationTokenLifetimeSeconds ?? 3600;
    this.#now = opts.now ?? Date.now;
    this.#issueCount = opts.issueCount ?? DEFAULT_ISSUE_COUNT;
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      (req) => this.#handle(req),
    );
    this.origin = `http://127.0.0.1:${this.#server.addr.port}`;
    this.url = this.origin + this.#prefix;
    this.uploadsUrl = opts.uploadsUrl ?? this.origin + UPLOADS_ROOT;
  }

  static start(opts: FakeGitHubOptions = {}): Promise<FakeGitHub> {
    return Promise.resolve(new FakeGitHub(opts));
  }

  /** Creates release `tag` of `owner/repo` (as `POST /repos/{o}/{r}/releases` does); its id. */
  addRelease(owner: string, repo: string, tag: string): number {
    const id = this.#releases.size + 1;
    this.#releases.set(id, { id, owner, repo, tag, assets: [] });
    return id;
  }

  /** The assets uploaded to release `releaseId`, bytes included. */
  assets(releaseId: number): FakeAsset[] {
    return [...this.#releases.get(releaseId)?.assets ?? []];
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
      new Date(Math.max(this.#now(), Date.parse(old.lastModified) + 1000)).toUTCString();
    this.setResource(path, body, { status: old?.status, headers: old?.headers, lastModified });
  }

  /** Every API answer from now on takes `ms`. */
  setLatency(ms: number): void {
    this.#latencyMs = ms;
  }

  /** Every `GET /app/installations` answer from now on takes `ms` more (a slow listing). */
  setListingLatency(ms: number): void {
    this.#listingLatencyMs = ms;
  }

  /** Points every GraphQL query costs from now on (GitHub: about one per 100 nodes asked for). */
  setGraphqlCost(points: number): void {
    this.#graphqlCost = points;
  }

  /** Points charged so far to the account `token` belongs to, or to every account. */
  pointsSpent(token?: string): number {
    if (token !== undefined) return this.#spent.get(this.#accountOf(token)) ?? 0;
    return [...this.#spent.values()].reduce((total, points) => total + points, 0);
  }

  /** Secondary-limit 403s answered so far (the rules below, not `triggerSecondaryLimit`). */
  get secondaryLimitAnswers(): number {
    return this.#secondaryAnswers;
  }

  /** The most requests one account has had in flight at once. */
  get peakInFlight(): number {
    return this.#peakInFlight;
  }

  /** Times an account sent during its cooldown and so made it longer. */
  get cooldownExtensions(): number {
    return this.#cooldownExtensions;
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

  /** Accepts a revoked token again (its owner fixed it on GitHub's side). */
  restoreToken(token: string): void {
    this.#revoked.delete(token);
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

  /** `await using fake = await FakeGitHub.start()` closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
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
      uploadPath: path.startsWith(`${UPLOADS_ROOT}/`) ? path.slice(UPLOADS_ROOT.length) : null,
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
    const auth = this.#authenticate(inc, authorized);
    const key = auth.ok ? inc.credential : null;
    const account = key === null ? undefined : this.#accountState(key);
    if (account) {
      account.inFlight++;
      this.#peakInFlight = Math.max(this.#peakInFlight, account.inFlight);
    }
    try {
      // Judged on arrival, as GitHub counts what is in flight when a request comes in.
      const secondaryBroken = auth.ok && account !== undefined &&
        this.#breaksSecondaryRule(inc, account);
      if (this.#latencyMs > 0 && inc.apiPath !== null) {
        await new Promise((resolve) => setTimeout(resolve, this.#latencyMs));
      }
      if (this.#listingLatencyMs > 0 && inc.apiPath === "/app/installations") {
        await new Promise((resolve) => setTimeout(resolve, this.#listingLatencyMs));
      }
      return await this.#decide(inc, auth, key, account, secondaryBroken);
    } finally {
      if (account) account.inFlight--;
    }
  }

  async #decide(
    inc: Incoming,
    auth: Auth,
    key: string | null,
    account: Account | undefined,
    secondaryBroken: boolean,
  ): Promise<Response> {
    const resource = rateResource(inc.apiPath);
    const quota = this.#quota(key, resource);
    const secondary = key === null ? undefined : this.#secondary.get(key);
    const free = inc.apiPath === "/rate_limit";
    const cost = resource === "graphql" ? this.#graphqlCost : 1;
    let answer: Answer;
    let charge = false;
    if (!auth.ok) {
      answer = json(401, { message: auth.message, documentation_url: DOCS });
    } else if (secondaryBroken) {
      answer = secondaryLimit(this.#rules.cooldownSeconds ?? 60);
    } else if (secondary && secondary.count > 0) {
      secondary.count--;
      answer = secondaryLimit(secondary.retryAfterSeconds);
    } else if (quota.remaining < cost && !free) {
      const message = "API rate limit exceeded for user ID 1.";
      answer = resource === "graphql"
        ? json(200, { errors: [graphqlRateLimitError(this.#spelling, message)] })
        : json(403, { message, documentation_url: RATE_LIMIT_DOCS });
    } else if (this.#outOfScope(inc, key)) {
      answer = this.#outOfScope(inc, key)!;
      charge = true;
    } else {
      answer = this.#route({ ...inc, appId: auth.appId });
      charge = !free;
      if (account && isMutating(inc)) account.writes.push(Date.now());
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
    if (charge) {
      quota.remaining -= cost;
      const id = this.#accountOf(key);
      this.#spent.set(id, (this.#spent.get(id) ?? 0) + cost);
    }
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
    headers.set("date", new Date(this.#now()).toUTCString());
    if (this.#gzip && body && /\bgzip\b/.test(inc.headers.get("accept-encoding") ?? "")) {
      body = new Uint8Array(gzipSync(body));
      headers.set("content-encoding", "gzip");
    }
    return new Response(inc.method === "HEAD" ? null : body ?? null, { status, headers });
  }

  #apiPath(path: string): string | null {
    if (path.startsWith(`${UPLOADS_ROOT}/`)) return null;
    if (path === (this.#prefix ? "/api/graphql" : "/graphql")) return "/graphql";
    if (!path.startsWith(this.#prefix + "/")) return null;
    const rel = path.slice(this.#prefix.length);
    return rel === "/graphql" ? null : rel;
  }

  #authenticate(inc: Incoming, authorized: boolean): Auth {
    if (!authorized) {
      return inc.apiPath === "/graphql" || inc.uploadPath !== null
        ? { ok: false, message: "This endpoint requires you to be authenticated." }
        : { ok: true };
    }
    const token = inc.credential;
    if (token === null || this.#revoked.has(token)) {
      return { ok: false, message: "Bad credentials" };
    }
    const issued = this.#issued.get(token);
    if (this.#pats.has(token) || (issued && issued.expiresAt.getTime() > this.#now())) {
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
        exp - iat <= JWT_MAX_LIFETIME_SECONDS && exp > this.#now() / 1000 &&
        verify("sha256", signed, entry.key, Buffer.from(signature, "base64url"));
      return valid ? entry.app.id : null;
    } catch {
      return null;
    }
  }

  /** Who GitHub charges for `token`: its user, its installation, or (unknown) the token. */
  #accountOf(token: string | null): string {
    if (token === null) return "";
    const pat = this.#pats.get(token);
    if (pat) return `user:${pat.login}`;
    const issued = this.#issued.get(token);
    return issued ? `installation:${issued.installationId}` : `token:${token}`;
  }

  #accountState(token: string): Account {
    const id = this.#accountOf(token);
    let account = this.#accounts.get(id);
    if (!account) {
      account = { inFlight: 0, writes: [], cooldownUntilMs: 0 };
      this.#accounts.set(id, account);
    }
    return account;
  }

  /**
   * Whether this request meets a secondary limit: sent during the account's cooldown (which
   * then grows), over the concurrency cap, or a write too soon after the last or over the
   * minute's allowance. Breaking a rule starts the cooldown.
   */
  #breaksSecondaryRule(inc: Incoming, account: Account): boolean {
    const rules = this.#rules;
    const now = Date.now();
    const cooldownMs = (rules.cooldownSeconds ?? 60) * 1000;
    if (now < account.cooldownUntilMs) {
      this.#cooldownExtensions++;
      account.cooldownUntilMs = now + cooldownMs;
      this.#secondaryAnswers++;
      return true;
    }
    account.writes = account.writes.filter((at) => at > now - 60_000);
    const write = isMutating(inc);
    const broken = (rules.concurrency !== undefined && account.inFlight > rules.concurrency) ||
      (write && rules.minWriteIntervalMs !== undefined && account.writes.length > 0 &&
        now - account.writes[account.writes.length - 1] < rules.minWriteIntervalMs) ||
      (write && rules.writesPerMinute !== undefined &&
        account.writes.length >= rules.writesPerMinute);
    if (!broken) return false;
    account.cooldownUntilMs = now + cooldownMs;
    this.#secondaryAnswers++;
    return true;
  }

  #quota(key: string | null, resource: string): Quota {
    const id = `${this.#accountOf(key)}\n${resource}`;
    let quota = this.#quotas.get(id);
    if (!quota) {
      const limit = key === null
        ? ANONYMOUS_LIMITS[resource] ?? 60
        : this.#pats.get(key)?.limit ?? this.#appLimit(key) ?? DEFAULT_LIMITS[resource] ?? 5000;
      quota = { limit, remaining: 0, reset: 0 };
      this.#quotas.set(id, quota);
    }
    const now = this.#nowSeconds();
    if (now >= quota.reset) {
      quota.remaining = quota.limit;
      quota.reset = now + RESET_INTERVAL_SECONDS;
    }
    return quota;
  }

  #nowSeconds(): number {
    return Math.floor(this.#now() / 1000);
  }

  #runnerToken(): Answer {
    return json(201, {
      token: randomString(29).toUpperCase(),
      expires_at: isoSeconds(new Date((this.#nowSeconds() + 3600) * 1000)),
    });
  }

  #appLimit(token: string): number | undefined {
    const issued = this.#issued.get(token);
    return issued && this.#apps.find(({ app }) => app.id === issued.appId)?.app.limit;
  }

  #route(inc: Incoming): Answer {
    const { apiPath, uploadPath, method } = inc;
    if (uploadPath !== null) {
      for (const [routeMethod, pattern, handler] of this.#uploadRoutes) {
        const match = pattern.exec(uploadPath);
        if (match && routeMethod === method) return handler(inc, match.slice(1));
      }
      return notFound();
    }
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

  /** The authenticated user, as `GET /user` answers it; installations are not users. */
  #user(token: string | null): Answer {
    const pat = token === null ? undefined : this.#pats.get(token);
    if (!pat) {
      return token !== null && this.#issued.has(token)
        ? json(403, { message: "Resource not accessible by integration", documentation_url: DOCS })
        : json(401, { message: "Requires authentication", documentation_url: DOCS });
    }
    const url = `${this.url}/users/${pat.login}`;
    return {
      ...json(200, {
        login: pat.login,
        id: pat.id,
        node_id: btoa(`04:User${pat.id}`),
        url,
        html_url: `https://github.com/${pat.login}`,
        type: "User",
        site_admin: false,
      }),
      validators: true,
    };
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

  #org(org: string): Answer {
    const url = `${this.url}/orgs/${org}`;
    return {
      ...json(200, { login: org, id: 1, url, repos_url: `${url}/repos` }),
      validators: true,
    };
  }

  #repo(owner: string, repo: string): Answer {
    return { ...json(200, repositoryDocument(this.url, owner, repo)), validators: true };
  }

  /** `issueCount` generated issues, paginated like GitHub (per_page default 30, max 100). */
  #issues(inc: Incoming, owner: string, repo: string): Answer {
    const perPage = Math.min(100, Math.max(1, positiveInt(inc.query.get("per_page"), 30)));
    const page = positiveInt(inc.query.get("page"), 1);
    const last = Math.max(1, Math.ceil(this.#issueCount / perPage));
    const base = `${this.url}/repos/${owner}/${repo}/issues`;
    const first = (page - 1) * perPage + 1;
    const issues = [];
    for (let n = first; n < first + perPage && n <= this.#issueCount; n++) {
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
    const number = this.#issueCount + 1;
    const url = `${this.url}/repos/${owner}/${repo}/issues/${number}`;
    return json(201, { id: number, number, title, state: "open", url }, { location: url });
  }

  #createRelease(inc: Incoming, owner: string, repo: string): Answer {
    const input = parseJson(inc.body) as { tag_name?: unknown } | undefined;
    if (typeof input?.tag_name !== "string") {
      return validationFailed({ resource: "Release", code: "missing_field", field: "tag_name" });
    }
    const id = this.addRelease(owner, repo, input.tag_name);
    return json(201, this.#releaseDocument(this.#releases.get(id)!));
  }

  #getRelease(owner: string, repo: string, id: number): Answer {
    const release = this.#releases.get(id);
    if (!release || release.owner !== owner || release.repo !== repo) return notFound();
    return { ...json(200, this.#releaseDocument(release)), validators: true };
  }

  /** GitHub's release-asset upload: the body is the asset, `name` (and `label`) in the query. */
  #uploadAsset(inc: Incoming, owner: string, repo: string, releaseId: number): Answer {
    const release = this.#releases.get(releaseId);
    if (!release || release.owner !== owner || release.repo !== repo) return notFound();
    // GitHub's uploads host takes no chunked bodies.
    if (!inc.headers.has("content-length")) {
      return json(411, { message: "Length Required", documentation_url: DOCS });
    }
    const name = inc.query.get("name");
    if (!name) {
      return validationFailed({ resource: "ReleaseAsset", code: "missing_field", field: "name" });
    }
    if (release.assets.some((asset) => asset.name === name)) {
      return validationFailed({ resource: "ReleaseAsset", code: "already_exists", field: "name" });
    }
    const asset: FakeAsset = {
      id: this.#nextAssetId++,
      releaseId,
      name,
      label: inc.query.get("label"),
      contentType: inc.headers.get("content-type"),
      bytes: inc.body,
    };
    release.assets.push(asset);
    return json(201, this.#assetDocument(release, asset));
  }

  #releaseDocument(release: FakeRelease): unknown {
    const { id, owner, repo, tag } = release;
    const url = `${this.url}/repos/${owner}/${repo}/releases/${id}`;
    return {
      url,
      assets_url: `${url}/assets`,
      upload_url: `${this.uploadsUrl}/repos/${owner}/${repo}/releases/${id}/assets{?name,label}`,
      html_url: `https://github.com/${owner}/${repo}/releases/tag/${tag}`,
      id,
      node_id: `RE_${id}`,
      tag_name: tag,
      name: tag,
      draft: false,
      prerelease: false,
      assets: release.assets.map((asset) => this.#assetDocument(release, asset)),
    };
  }

  #assetDocument(release: FakeRelease, asset: FakeAsset): unknown {
    const { owner, repo, tag } = release;
    return {
      url: `${this.url}/repos/${owner}/${repo}/releases/assets/${asset.id}`,
      browser_download_url:
        `https://github.com/${owner}/${repo}/releases/download/${tag}/${asset.name}`,
      id: asset.id,
      node_id: `RA_${asset.id}`,
      name: asset.name,
      label: asset.label,
      state: "uploaded",
      content_type: asset.contentType,
      size: asset.bytes.length,
      download_count: 0,
      created_at: "2026-12-01T00:00:00Z",
      updated_at: "2026-12-01T00:00:00Z",
      uploader: { login: "fake" },
    };
  }

  /** The app authenticated by the request's JWT when it owns the installation. */
  #appOwning(inc: Incoming, installationId: string): FakeApp | undefined {
    return this.#apps.find(({ app }) =>
      app.id === inc.appId &&
      (app.installationId === installationId ||
        app.installations?.some((installation) => installation.id === installationId))
    )?.app;
  }

  /**
   * GitHub's answer for a call its credential may not make: an installation token outside its
   * account, repositories or permissions; anonymous for a private account. Undefined: go on.
   */
  #outOfScope(inc: Incoming, key: string | null): Answer | undefined {
    if (inc.apiPath === null) return undefined;
    const scope = key === null ? undefined : this.#issued.get(key)?.scope;
    if (scope) {
      const refusal = scopeRefusal(scope, inc.method, inc.apiPath);
      return refusal && json(refusal.status, { message: refusal.message, documentation_url: DOCS });
    }
    const owner = /^\/(?:repos|orgs)\/([^/]+)/.exec(inc.apiPath)?.[1];
    return key === null && owner !== undefined && this.#privateOwners.has(owner.toLowerCase())
      ? notFound()
      : undefined;
  }

  /** `GET /app/installations`: the JWT's App's installations, paginated. */
  #installations(inc: Incoming): Answer {
    const app = this.#apps.find(({ app }) => app.id === inc.appId)?.app;
    if (!app) return jwtRefused();
    const all = app.installations ?? [];
    const { items, link } = page(all, inc.query, `${this.url}/app/installations`);
    return json(
      200,
      items.map((installation) => installationDocument(this.url, app.id, installation)),
      link ? { link } : {},
    );
  }

  #installation(inc: Incoming, installationId: string): Answer {
    const app = this.#appOwning(inc, installationId);
    if (!app) return jwtRefused();
    const installation = app.installations?.find((entry) => entry.id === installationId);
    if (installation) return json(200, installationDocument(this.url, app.id, installation));
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
    const installation = app.installations?.find((entry) => entry.id === installationId);
    const asked = (parseJson(inc.body) ?? {}) as { repositories?: unknown; permissions?: unknown };
    let scope: TokenScope | undefined;
    if (installation) {
      const minted = mintScope(installation, asked);
      if (!minted.ok) {
        return json(minted.status, { message: minted.message, documentation_url: DOCS });
      }
      scope = minted.scope;
    }
    this.mintRequests.push({
      installationId,
      ...(Array.isArray(asked.repositories) ? { repositories: asked.repositories } : {}),
      ...(asked.permissions ? { permissions: asked.permissions as Record<string, string> } : {}),
    });
    const token = `ghs_${randomString(36)}`;
    const expiresAt = new Date((this.#nowSeconds() + this.#tokenLifetime) * 1000);
    this.#issued.set(token, { token, appId: app.id, installationId, expiresAt, scope });
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
    open_issues_count: DEFAULT_ISSUE_COUNT,
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

function secondaryLimit(retryAfterSeconds: number | null): Answer {
  return json(
    403,
    {
      message: SECONDARY_MESSAGE,
      documentation_url: `${RATE_LIMIT_DOCS}#about-secondary-rate-limits`,
    },
    retryAfterSeconds === null ? {} : { "retry-after": String(retryAfterSeconds) },
  );
}

function graphqlRateLimitError(spelling: GraphqlRateLimitSpelling, message: string) {
  return spelling === "RATE_LIMITED"
    ? { type: "RATE_LIMITED", message }
    : { type: "RATE_LIMIT", code: "graphql_rate_limit", message };
}

/** What GitHub counts as a write: any method but GET/HEAD/OPTIONS, and GraphQL mutations. */
function isMutating(inc: Incoming): boolean {
  if (inc.method === "GET" || inc.method === "HEAD" || inc.method === "OPTIONS") return false;
  if (inc.apiPath !== "/graphql") return true;
  const request = parseJson(inc.body);
  const query = typeof request === "object" && request !== null && "query" in request
    ? request.query
    : undefined;
  return typeof query === "string" && /^\s*mutation\b/.test(query);
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

/** GitHub's 422 for one invalid field. */
function validationFailed(error: { resource: string; code: string; field: string }): Answer {
  return json(422, { message: "Validation Failed", errors: [error], documentation_url: DOCS });
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

function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}
