/**
 * The shared credential pool (DESIGN §8, §11) as a transport layer: it learns which GitHub
 * account owns each PAT, picks a credential of the owner with the most quota left for the
 * request's rate-limit resource, holds the request at the owner's gate (concurrency, write
 * pacing) so GitHub's secondary limits are not met, puts the credential on the request, learns
 * from every answer, parks limited owners (a secondary limit freezes the whole owner) and retries
 * the request once elsewhere, so clients do not see a limit while any owner has quota.
 * Credentials are named by `<NAME>` everywhere; their secrets never leave this module.
 */
import type { AppSource, CredentialSource } from "./sources.ts";
import { type Logger, silentLogger } from "../log.ts";
import {
  type AppTokens,
  type CachedTokenView,
  createAppTokens,
  MintError,
  type TokenShare,
} from "./app_tokens.ts";
import type { PoolEvent, PoolObserver, PoolSnapshot } from "./events.ts";
import { poolRateLimitFor, secondaryLimitResponse } from "./exhausted.ts";
import type { PoolTotals } from "./quota.ts";
import { lookUpOwners } from "./owners.ts";
import {
  type Installation,
  installationById,
  installationSource,
  listInstallations,
} from "./installations.ts";
import { describeUngranted, type Ungranted, ungranted } from "./narrowing.ts";
import { RefusedNarrowings } from "./refused_narrowings.ts";
import { route } from "./routing.ts";
import { githubError } from "../http/errors.ts";
import type { RateLimitStatus } from "../http/rate_refusal.ts";
import { isBadCredentials, limitVerdict, pointsSpent, readRateLimit } from "./rate_limit.ts";
import { type Credential, markRefused, markTriedAgain, type Owner, Standing } from "./standing.ts";
import {
  ANONYMOUS,
  narrowingKey,
  NO_CREDENTIAL,
  type TokenNarrowing,
  type Transport,
  type UpstreamAnswer,
  UpstreamError,
  type UpstreamRequest,
} from "../http/upstream.ts";

/** An installation the pool routes to, as the start-up summary and `/metrics` show it. */
export interface InstallationView {
  /** The credential it is: `<NAME>@<login>`. */
  readonly credential: string;
  /** The App's `<NAME>`. */
  readonly app: string;
  readonly id: string;
  readonly account: string;
  readonly repositorySelection: string;
}

/** An App installation the pool lends out, explicit or discovered, with its cached tokens. */
export interface AppInstallationView {
  /** The credential: `<NAME>`, or `<NAME>@<login>` when discovered. */
  readonly credential: string;
  readonly installationId: string;
  /** The account it is on (discovered installations; an explicit id does not say). */
  readonly account?: string;
  /** `all` or `selected` (discovered installations). */
  readonly repositorySelection?: string;
  readonly tokens: readonly CachedTokenView[];
}

export interface CredentialPool {
  /**
   * `next` with a pool credential on each call: the answer names the credential that gave it,
   * or is the pool's own rate refusal or 503 (`NO_CREDENTIAL`) when none can. Without credentials, calls
   * go out anonymously.
   */
  transport(next: Transport): Transport;
  /** The pool's state now, read-only. */
  snapshot(): PoolSnapshot;
  /**
   * The pool's capacity for `resource` as clients are told it (`x-ratelimit-*`), less the calls
   * in flight on it, which are about to spend; undefined while GitHub has not said.
   */
  capacity(resource: string): PoolTotals | undefined;
  /** Calls `observer` for every event until the returned function is called. */
  observe(observer: PoolObserver): () => void;
  /**
   * Lists the installations of every App given without an installation id again now (as the
   * `installation` and `installation_repositories` webhooks ask, and hourly): new ones join,
   * gone ones leave. Resolves when a listing begun after the call is done (calls made during a
   * listing share the one after it); a listing that fails keeps what was known (logged).
   */
  refreshInstallations(): Promise<void>;
  /** The discovered installations the pool routes to now. */
  installations(): readonly InstallationView[];
  /** Every App installation the pool lends out now, with the tokens cached for it. */
  appInstallations(): readonly AppInstallationView[];
  /** The credentials the pool lends out now, discovered installations included. */
  credentialSources(): readonly CredentialSource[];
  /**
   * The pool's credentials become `sources` (a reload): new ones join, removed ones leave after
   * their calls in flight, a PAT marked bad is tried again, App tokens of a changed key are
   * dropped. Resolves once new PATs' owners are known and new Apps' installations listed.
   */
  replace(sources: readonly CredentialSource[]): Promise<void>;
}

/** What replicas share of the pool (DESIGN §13); the implementation is `src/state/`. */
export interface PoolShare {
  /** Keeps `standing` in step with the other replicas' until the shared state closes. */
  attach(standing: Standing): void;
  readonly tokens: TokenShare;
}

export interface PoolOptions {
  /** REST base URL, where App installation tokens are minted. */
  readonly apiUrl: string;
  /** Added to a limit's reset before the credential is used again. */
  readonly paddingMs: number;
  readonly tokenCacheMaxSize: number;
  /** Status of the pool's rate refusal (`RATE_LIMIT_STATUS`): GitHub's 403, or 429. */
  readonly rateLimitStatus: RateLimitStatus;
  /** `UPSTREAM_CONCURRENCY`: requests in flight per owner; more wait in its queue. */
  readonly concurrency: number;
  readonly logger: Logger;
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
  /** Shared with other replicas; without it the pool knows only what it saw. */
  readonly shared?: PoolShare;
}

/** Installations are listed again this often (and on webhooks). */
const INSTALLATIONS_REFRESH_MS = 3_600_000;

/** Most refused narrowings remembered (see `RefusedNarrowings`). */
const MAX_REFUSED_NARROWINGS = 256;

/** An App whose token cannot be minted, or is refused right after minting, rests this long. */
const APP_FAILURE_REST_MS = 30_000;

/** An owner's queue holds this many requests per slot, each waiting at most `QUEUE_WAIT_MS`. */
const QUEUED_PER_SLOT = 4;
const QUEUE_WAIT_MS = 10_000;

const DEFAULTS: PoolOptions = {
  apiUrl: "https://api.github.com",
  paddingMs: 60_000,
  tokenCacheMaxSize: 256,
  rateLimitStatus: 403,
  concurrency: 25,
  logger: silentLogger,
};

/** Answers whose body says whether a limit or a refusal happened. */
const readsBody = (status: number, resource: string) =>
  status === 401 || status === 403 || status === 429 || (status === 200 && resource === "graphql");

export function createPool(
  sources: readonly CredentialSource[],
  options: Partial<PoolOptions> = {},
): CredentialPool {
  const { apiUrl, paddingMs, tokenCacheMaxSize, rateLimitStatus, concurrency, logger } = {
    ...DEFAULTS,
    ...options,
  };
  const now = options.now ?? Date.now;
  const observers = new Set<PoolObserver>();
  const emit = (event: PoolEvent) => observers.forEach((observer) => observer(event));
  const appTokens: AppTokens = createAppTokens({
    apiUrl,
    maxSize: tokenCacheMaxSize,
    fetch: options.fetch,
    now,
    onEvent: (event) => {
      // Every mint is one log line: when, for which installation, narrowed or not.
      if (event.type === "mint") {
        logger.info("installation token minted", {
          credential: event.credential,
          outcome: event.outcome,
          narrowed: event.narrowed,
        });
      }
      emit(event);
    },
    shared: options.shared?.tokens,
  });
  /** Apps without an installation id: roots whose installations are discovered. */
  let roots = sources.filter(isRoot);
  const standing = new Standing(
    sources.filter((source) => !isRoot(source)),
    paddingMs,
    now,
    rateLimitStatus,
    { concurrency, maxQueued: concurrency * QUEUED_PER_SLOT, maxWaitMs: QUEUE_WAIT_MS },
  );
  options.shared?.attach(standing);
  // With one PAT at most there is nothing to group: no lookup is made.
  let owners: Promise<void> | undefined =
    sources.filter((source) => source.kind === "pat").length < 2 ? Promise.resolve() : undefined;
  let discovered = new Map<string, { app: string; installation: Installation }>();
  let nextListingAtMs = roots.length > 0 ? -Infinity : Infinity;
  let listing: Promise<void> | undefined;
  let relisting: Promise<void> | undefined;
  /** Installations listed as suspended (each logged once), not routed to: name → App. */
  const suspended = new Map<string, string>();
  /** Apps given by id whose installation is suspended (each logged once). */
  const suspendedExplicit = new Set<string>();
  /** Narrowed mints GitHub refused for a repository: answered again without a mint. */
  const refusedNarrowings = new RefusedNarrowings(
    MAX_REFUSED_NARROWINGS,
    INSTALLATIONS_REFRESH_MS,
    now,
  );

  /**
   * What each App given by installation id may grant (`GET /app/installations/{id}`), read
   * with the listing so the registry's `github_token:` narrowings are checked against it at
   * load. A failed lookup is logged and does not hold up start-up: GitHub then judges the mint.
   */
  const lookUpExplicit = () => {
    const names = new Set(standing.credentials.map(({ source }) => source.name));
    for (const name of suspendedExplicit) if (!names.has(name)) suspendedExplicit.delete(name);
    return Promise.all(standing.credentials.map(async ({ source }) => {
      if (source.kind !== "app" || source.account !== undefined) return;
      await permissionsOf(source).catch((error) => {
        logger.warn(
          "GitHub App installation permissions could not be read; GitHub judges narrowed mints",
          {
            credential: source.name,
            detail: error instanceof Error ? error.message : "error",
          },
        );
      });
    }));
  };

  /** Lists every root's installations; the credentials follow what GitHub now says. */
  const listAll = async () => {
    nextListingAtMs = now() + INSTALLATIONS_REFRESH_MS;
    const found = new Map<string, { app: string; installation: Installation }>();
    const sourcesFound: AppSource[] = [];
    const failed = new Set<string>();
    const suspendedNow = new Set<string>();
    const suspendedApps = new Map<string, string>();
    const listed = Promise.all(roots.map(async (root) => {
      try {
        const { installations, truncated } = await listInstallations(
          root,
          apiUrl,
          options.fetch,
        );
        if (truncated) {
          logger.warn("GitHub App has more installations than the gateway routes to", {
            credential: root.name,
            routed: installations.length,
          });
        }
        for (const installation of installations) {
          const source = installationSource(root, installation);
          if (installation.suspendedAt !== undefined) {
            suspendedNow.add(source.name);
            suspendedApps.set(source.name, root.name);
            if (!suspended.has(source.name)) {
              logger.warn("GitHub App installation is suspended: not routed to", {
                credential: source.name,
                account: installation.login,
                suspendedAt: installation.suspendedAt,
              });
            }
            continue;
          }
          found.set(source.name, { app: root.name, installation });
          sourcesFound.push(source);
        }
      } catch (error) {
        failed.add(root.name);
        logger.error("GitHub App installations could not be listed; keeping what was known", {
          credential: root.name,
          detail: error instanceof Error ? error.message : "error",
        });
      }
    }));
    await Promise.all([listed, lookUpExplicit()]);
    // Logged once while it stays suspended (or its App's listing fails); again if suspended anew.
    for (const [name, app] of suspended) {
      if (!suspendedNow.has(name) && !failed.has(app)) suspended.delete(name);
    }
    for (const name of suspendedNow) suspended.set(name, suspendedApps.get(name)!);
    // An App whose listing failed keeps its installations as they were.
    for (const [name, entry] of discovered) {
      if (failed.has(entry.app) && roots.some((root) => root.name === entry.app)) {
        found.set(name, entry);
      }
    }
    const current = new Map(
      standing.credentials.filter((credential) =>
        credential.source.kind === "app" &&
        credential.source.account !== undefined
      ).map((credential) => [credential.source.name, credential.source as AppSource]),
    );
    const leaving = new Set([...current.keys()].filter((name) => !found.has(name)));
    const changed = sourcesFound.filter((source) => {
      const old = current.get(source.name);
      return old !== undefined && !sameSource(old, source);
    });
    for (const source of changed) leaving.add(source.name);
    for (const name of leaving) {
      const old = current.get(name);
      if (old) appTokens.forget(old);
    }
    standing.remove(leaving);
    standing.add(
      sourcesFound.filter((source) => !current.has(source.name) || leaving.has(source.name)),
    );
    for (const name of leaving) {
      if (!found.has(name)) {
        logger.info("GitHub App installation left the pool", { credential: name });
      }
    }
    for (const [name, { installation }] of found) {
      if (discovered.has(name)) continue;
      logger.info("GitHub App installation joined the pool", {
        credential: name,
        account: installation.login,
        repositorySelection: installation.repositorySelection,
      });
    }
    discovered = found;
  };

  /**
   * What Apps given by installation id may grant, read from GitHub with every listing and after
   * it refused a narrowed mint, so a client's narrowing is refused without asking GitHub again.
   * Read anew after `INSTALLATIONS_REFRESH_MS` or a refresh (the installation may have accepted
   * new permissions); `granted` once the lookup answered.
   */
  let learned = new WeakMap<
    AppSource,
    {
      readonly atMs: number;
      readonly permissions: Promise<Readonly<Record<string, string>>>;
      granted?: Readonly<Record<string, string>>;
    }
  >();

  /**
   * A listing under way may have read GitHub before the change that prompted this call (an
   * `installation` webhook): the call gets the next listing, which starts when that one ends
   * and is shared by every call made meanwhile, so a burst of webhooks costs two listings.
   */
  const refreshInstallations = (): Promise<void> => {
    learned = new WeakMap();
    refusedNarrowings.clear();
    if (listing === undefined) return listing = listAll().finally(() => listing = undefined);
    return relisting ??= listing.catch(() => {}).then(() => {
      relisting = undefined;
      return refreshInstallations();
    });
  };

  const learnedOf = (source: AppSource) => {
    const known = learned.get(source);
    return known && now() - known.atMs < INSTALLATIONS_REFRESH_MS ? known : undefined;
  };

  /** The installation's permissions as GitHub says now; one lookup shared by its callers. */
  const permissionsOf = (source: AppSource) => {
    const known = learnedOf(source);
    if (known) return known.permissions;
    const permissions = installationById(source, apiUrl, options.fetch).then((installation) => {
      suspendedById(source, installation.suspendedAt);
      return installation.permissions;
    });
    const entry: {
      atMs: number;
      permissions: typeof permissions;
      granted?: Record<string, string>;
    } = { atMs: now(), permissions };
    permissions.then((granted) => entry.granted = granted, () => {});
    learned.set(source, entry);
    // A failed lookup is not remembered: the next refusal asks again.
    permissions.catch(() => learned.get(source) === entry && learned.delete(source));
    return permissions;
  };

  /**
   * An App given by id whose installation is suspended: GitHub refuses its mints, so it is not
   * lent out until the installations are read again; logged once while it stays suspended.
   */
  const suspendedById = (source: AppSource, suspendedAt: string | undefined) => {
    if (suspendedAt === undefined) {
      suspendedExplicit.delete(source.name);
      return;
    }
    const credential = standing.credentials.find((member) => member.source === source);
    if (credential) credential.unusableUntilMs = Math.max(now(), nextListingAtMs);
    if (suspendedExplicit.has(source.name)) return;
    suspendedExplicit.add(source.name);
    logger.warn("GitHub App installation is suspended: not routed to", {
      credential: source.name,
      installationId: source.installationId,
      suspendedAt,
    });
  };

  /** Groups the PATs by account before the first call; concurrent first calls share it. */
  const ownersKnown = (next: Transport) =>
    owners ??= lookUpOwners(standing.credentials, next, apiUrl, logger, now, paddingMs).then(
      (lookups) => {
        const logins = new Map<Credential, string>();
        for (const [credential, { login }] of lookups) if (login) logins.set(credential, login);
        standing.group(logins);
        for (const [credential, { core, verdict }] of lookups) {
          const owner = credential.owner;
          const quota = standing.quotaOf(owner, "core");
          if (core) quota.view = { ...core };
          if (verdict.kind === "secondary") {
            freeze(owner, credential.source.name, "core", verdict.untilMs);
          } else if (verdict.kind === "primary") {
            quota.parkedUntilMs = Math.max(quota.parkedUntilMs, verdict.untilMs);
          }
        }
      },
    );

  const authorizationFor = async (
    credential: Credential,
    narrowing: TokenNarrowing | undefined,
  ): Promise<string> => {
    const source = credential.source;
    return source.kind === "pat"
      ? `token ${source.token}`
      : `token ${await appTokens.token(source, narrowing)}`;
  };

  /** PATs that joined on a reload, whose accounts are not known yet. */
  let unowned: Credential[] = [];
  let joining: Promise<void> | undefined;
  const joinOwners = (next: Transport): Promise<void> | undefined => {
    if (unowned.length === 0) return joining;
    return joining ??= (async () => {
      const batch = unowned;
      unowned = [];
      const lookups = await lookUpOwners(batch, next, apiUrl, logger, now, paddingMs);
      for (const [credential, { login }] of lookups) {
        if (login && standing.credentials.includes(credential)) standing.join(credential, login);
      }
    })().finally(() => joining = undefined);
  };

  /**
   * Reads GitHub's verdict on one answer, reports it, and updates the standing of the
   * credential that got it (none for an anonymous call).
   */
  const learn = async (
    credential: Credential | undefined,
    request: UpstreamRequest,
    answer: UpstreamAnswer,
  ) => {
    const receivedAtMs = now();
    let response = answer.response;
    let body: string | undefined;
    if (readsBody(response.status, request.resource) && response.body !== null) {
      const bytes = await response.bytes().catch(() => {
        throw new UpstreamError("unreachable", "GitHub's answer was cut off");
      });
      body = new TextDecoder().decode(bytes);
      response = new Response(bytes, {
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
      });
    }
    const view = readRateLimit(response.headers, receivedAtMs);
    const resource = view?.resource ?? request.resource;
    const name = credential?.source.name ?? ANONYMOUS;
    const latest = view &&
      { limit: view.limit, remaining: view.remaining, resetAtMs: view.resetAtMs };
    const owner = credential?.owner;
    const quota = owner && standing.quotaOf(owner, resource);
    const before = quota?.view;
    if (quota && latest) quota.view = latest;
    const verdict = limitVerdict(
      { status: response.status, headers: response.headers, body, receivedAtMs },
      paddingMs,
    );
    const refused = isBadCredentials(response.status, body);
    const points = pointsSpent(
      response.status,
      resource === "graphql",
      before,
      latest,
      verdict.kind !== "none" || refused,
    );
    emit({
      type: "answer",
      credential: name,
      owner: owner?.name ?? name,
      resource,
      status: response.status,
      client: request.client,
      ms: answer.ms,
      points,
      quota: quota ? quota.view : latest,
    });
    if (owner && quota && verdict.kind !== "none") {
      if (verdict.kind === "secondary") freeze(owner, name, resource, verdict.untilMs);
      else {
        quota.parkedUntilMs = Math.max(quota.parkedUntilMs, verdict.untilMs);
        logger.warn("credential rate-limited: parked", {
          credential: name,
          owner: owner.name,
          resource,
          limit: verdict.kind,
          until: new Date(verdict.untilMs).toISOString(),
        });
      }
      emit({
        type: "limited",
        credential: name,
        owner: owner.name,
        resource,
        kind: verdict.kind,
        untilMs: verdict.untilMs,
      });
    }
    return { response, resource, limited: verdict.kind !== "none", refused, points };
  };

  /**
   * A secondary limit: nothing is sent on any of the owner's credentials until `untilMs` —
   * GitHub extends the cooldown of an account that keeps sending.
   */
  const freeze = (owner: Owner, credential: string, resource: string, untilMs: number) => {
    const cooling = owner.frozenUntilMs > now();
    owner.frozenUntilMs = Math.max(owner.frozenUntilMs, untilMs);
    // Requests already in flight may meet the same limit: one line per cooldown.
    if (cooling) return;
    logger.warn("GitHub account cooling down after a secondary rate limit: nothing sent on it", {
      owner: owner.name,
      credentials: owner.credentials.map((member) => member.source.name),
      credential,
      resource,
      until: new Date(owner.frozenUntilMs).toISOString(),
    });
  };

  /** GitHub refused the credential: App tokens are dropped (and retried), PATs are out. */
  const refuse = (
    credential: Credential,
    authorization: string,
    firstRefusal: boolean,
    narrowing: TokenNarrowing | undefined,
  ) => {
    const source = credential.source;
    const name = source.name;
    emit({ type: "refused", credential: name });
    if (source.kind === "app") {
      appTokens.reject(source, authorization.slice("token ".length), narrowing);
      if (firstRefusal) return "mint again" as const;
      credential.unusableUntilMs = now() + APP_FAILURE_REST_MS;
      logger.error("GitHub refused a freshly minted installation token: App rests", {
        credential: name,
        restMs: APP_FAILURE_REST_MS,
      });
      return "next" as const;
    }
    markRefused(credential, now());
    logger.error("GitHub refused a personal access token (401): excluded until reload", {
      credential: name,
    });
    return "next" as const;
  };

  /**
   * The credentials routing keeps away from `request` (DESIGN §8), logged when it falls back;
   * undefined when nothing in the pool may serve it, and it goes out without a credential.
   */
  const routed = (request: UpstreamRequest): Set<Credential> | undefined => {
    const account = request.account;
    const credentials = standing.credentials;
    const decision = route(
      account,
      credentials.map(({ source }) => ({
        name: source.name,
        kind: source.kind,
        account: source.kind === "app" ? source.account : undefined,
      })),
      request.narrowing !== undefined,
    );
    if (decision.kind === "fallback" || decision.kind === "anonymous") {
      logger.info("no installation covers the account: request routed past the installations", {
        client: request.client,
        account,
        route: decision.kind,
        credentials: decision.names,
      });
    }
    if (decision.kind === "anonymous") return undefined;
    const names = new Set<string>(decision.names);
    return new Set(credentials.filter((credential) => !names.has(credential.source.name)));
  };

  /** The pool's 403 for a narrowing an installation cannot grant, as GitHub words it. */
  const narrowingRefusal = (why: string): UpstreamAnswer => ({
    response: githubError(403, `Resource not accessible by integration: ${why}`),
    credential: NO_CREDENTIAL,
    ms: 0,
    points: 0,
  });

  const cannotGrant = (source: AppSource, request: UpstreamRequest, missing: Ungranted) =>
    `GitHub App installation ${source.name} cannot grant ${
      describeUngranted(missing)
    } asked for by the github_token of client "${request.client}"`;

  /** The client's narrowing asks for more than the installation has: GitHub would refuse. */
  const notGrantable = (credential: Credential, request: UpstreamRequest) => {
    const source = credential.source;
    if (request.narrowing === undefined || source.kind !== "app") return undefined;
    const refused = refusedNarrowings.recall(refusalKey(source, request.narrowing));
    if (refused !== undefined) {
      logger.warn("narrowed token not minted: GitHub refused this narrowing before", {
        client: request.client,
        credential: source.name,
      });
      return Promise.resolve(narrowingRefusal(refused));
    }
    const permissions = source.permissions
      ? Promise.resolve(source.permissions)
      : learnedOf(source)?.permissions;
    return permissions?.then((granted) => {
      const missing = ungranted(request.narrowing!, granted);
      if (!missing) return undefined;
      logger.warn("narrowed token not minted: the installation cannot grant it", {
        client: request.client,
        credential: source.name,
        permission: missing.permission,
      });
      return narrowingRefusal(cannotGrant(source, request, missing));
    }, () => undefined);
  };

  /**
   * GitHub refused to mint the client's narrowed token (422): the narrowing is at fault, not
   * the App, which keeps serving other clients. The answer names the permission GitHub refused,
   * read from the installation (an App given by id has no known permissions until then).
   */
  const narrowingRefused = async (
    source: AppSource,
    request: UpstreamRequest,
    message: string,
  ): Promise<UpstreamAnswer> => {
    const missing = await permissionsOf(source).then(
      (granted) => ungranted(request.narrowing!, granted),
      () => undefined,
    );
    logger.warn("narrowed token not minted: GitHub refused the narrowing", {
      client: request.client,
      credential: source.name,
      permission: missing?.permission,
      detail: message,
    });
    if (missing) return narrowingRefusal(cannotGrant(source, request, missing));
    // Every permission is granted: a repository is refused, which only a listing can change.
    const why = `GitHub refused to mint a token for ${
      describeNarrowing(request.narrowing!)
    } on GitHub App installation ${source.name} for the github_token of client "${request.client}": ${message}`;
    refusedNarrowings.remember(refusalKey(source, request.narrowing), why);
    return narrowingRefusal(why);
  };

  const anonymousCall = async (next: Transport, request: UpstreamRequest) => {
    const headers = new Headers(request.headers);
    headers.delete("authorization");
    const answer = await next({ ...request, headers, ownHeaders: true });
    const { response, points } = await learn(undefined, request, answer);
    return { response, credential: ANONYMOUS, ms: answer.ms, points };
  };

  const mintFailed = (credential: Credential, error: MintError) => {
    credential.unusableUntilMs = now() + APP_FAILURE_REST_MS;
    logger.error("GitHub App token could not be minted: App rests", {
      credential: credential.source.name,
      detail: error.detail,
      restMs: APP_FAILURE_REST_MS,
    });
  };

  const unavailable = (resource: string, points: number): UpstreamAnswer => ({
    response: standing.unavailable(resource),
    credential: NO_CREDENTIAL,
    ms: 0,
    points,
  });

  /** The owner's gate refused: its queue is full or the wait was too long. */
  const crowded = (
    request: UpstreamRequest,
    owner: Owner,
    retryAfterMs: number,
    points: number,
  ): UpstreamAnswer => {
    const at = now();
    logger.warn("request refused: too many waiting for one GitHub account", {
      client: request.client,
      owner: owner.name,
      resource: request.resource,
      queued: owner.gate.queued,
    });
    emit({
      type: "rejected",
      client: request.client,
      resource: request.resource,
      reason: "concurrency",
    });
    return {
      response: secondaryLimitResponse(
        rateLimitStatus,
        request.resource,
        standing.limitOf(request.resource),
        at + retryAfterMs,
        at,
        `too many requests waiting for one GitHub account (resource ${request.resource})`,
      ),
      credential: NO_CREDENTIAL,
      ms: 0,
      points,
    };
  };

  const call = async (next: Transport, request: UpstreamRequest): Promise<UpstreamAnswer> => {
    if (now() >= nextListingAtMs) {
      // Only a pool that never listed has no table to route by; the hourly listing (up to
      // its timeout) runs behind the requests, which route by the table as it is meanwhile.
      const first = nextListingAtMs === -Infinity;
      const listed = refreshInstallations();
      if (first) await listed;
      else {
        listed.catch((error) =>
          logger.error("GitHub App installations could not be listed; keeping what was known", {
            detail: error instanceof Error ? error.message : "error",
          })
        );
      }
    }
    if (standing.credentials.length === 0) return anonymousCall(next, request);
    await ownersKnown(next);
    await joinOwners(next);
    const kept = routed(request);
    if (kept === undefined) return anonymousCall(next, request);
    let retries = request.replayable ? 1 : 0;
    const tried = kept;
    let again: Credential | undefined;
    let refusals = 0;
    let points = 0;
    /** Why the client's narrowing was refused, answered when no other credential can serve. */
    let refusal: Promise<UpstreamAnswer> | UpstreamAnswer | undefined;
    while (true) {
      const credential = again ??
        standing.pick(request.resource, request.preferredCredential, tried);
      again = undefined;
      if (!credential) return refusal ? await refusal : rejected(request, points);
      const ungrantable = await notGrantable(credential, request);
      if (ungrantable) {
        refusal = ungrantable;
        tried.add(credential);
        continue;
      }
      const owner = credential.owner;
      const entry = await owner.gate.enter(request.mutating ?? false, request.signal);
      if (!entry.ok) return crowded(request, owner, entry.retryAfterMs, points);
      // It may have cooled down or run dry while the request waited: choose again.
      if (!standing.ready(owner, request.resource)) {
        entry.release();
        continue;
      }
      const quota = standing.quotaOf(owner, request.resource);
      quota.inFlight++;
      let authorization: string;
      let answer: UpstreamAnswer;
      let learned;
      try {
        authorization = await authorizationFor(credential, request.narrowing);
        // Headers made for this call alone are changed in place: each attempt sets what it
        // sends, so a retry replaces the refused credential's header. Others are copied.
        const own = request.ownHeaders === true;
        const headers = own ? request.headers : new Headers(request.headers);
        headers.set("authorization", authorization);
        answer = await next(own ? request : { ...request, headers, ownHeaders: true });
        learned = await learn(credential, request, answer);
      } catch (error) {
        if (!(error instanceof MintError)) throw error;
        tried.add(credential);
        if (error.narrowingRefused !== undefined && credential.source.kind === "app") {
          // Looked up after the gate is left (the finally below runs first).
          refusal = narrowingRefused(credential.source, request, error.narrowingRefused);
        } else {
          mintFailed(credential, error);
        }
        continue;
      } finally {
        quota.inFlight--;
        entry.release();
      }
      points += learned.points;
      if (!learned.limited && !learned.refused) {
        const totals = standing.totals(learned.resource);
        return {
          response: learned.response,
          rateLimit: poolRateLimitFor(learned.response, learned.resource, totals),
          credential: credential.source.name,
          ms: answer.ms,
          points,
        };
      }
      await learned.response.body?.cancel();
      if (
        learned.refused &&
        refuse(credential, authorization, refusals++ === 0, request.narrowing) === "mint again"
      ) {
        again = credential;
      } else {
        tried.add(credential);
      }
      if (retries-- === 0) return rejected({ ...request, resource: learned.resource }, points);
    }
  };

  /** No owner can take the request now: the pool's own answer, counted when it is a limit. */
  const rejected = (request: UpstreamRequest, points: number): UpstreamAnswer => {
    const answer = unavailable(request.resource, points);
    if (answer.response.status === rateLimitStatus) {
      emit({
        type: "rejected",
        client: request.client,
        resource: request.resource,
        reason: "rate",
      });
    }
    return answer;
  };

  return {
    transport: (next) => (request) => call(next, request),
    snapshot: () => standing.snapshot(appTokens.size),
    capacity(resource) {
      const totals = standing.totals(resource);
      if (!totals) return undefined;
      const inFlight = standing.owners.reduce(
        (sum, owner) => sum + (owner.quotas.get(resource)?.inFlight ?? 0),
        0,
      );
      return { ...totals, remaining: Math.max(0, totals.remaining - inFlight) };
    },
    observe(observer) {
      observers.add(observer);
      return () => observers.delete(observer);
    },
    refreshInstallations,
    appInstallations: () =>
      standing.credentials.flatMap(({ source }) => {
        if (source.kind !== "app" || source.installationId === undefined) return [];
        const found = discovered.get(source.name)?.installation;
        return [{
          credential: source.name,
          installationId: source.installationId,
          ...(found
            ? { account: found.login, repositorySelection: found.repositorySelection }
            : {}),
          tokens: appTokens.cached(source),
        }];
      }),
    credentialSources: () =>
      standing.credentials.map(({ source }) => {
        if (source.kind !== "app" || source.permissions !== undefined) return source;
        const granted = learnedOf(source)?.granted;
        return granted ? { ...source, permissions: granted } : source;
      }),
    installations: () =>
      [...discovered].map(([credential, { app, installation }]) => ({
        credential,
        app,
        id: installation.id,
        account: installation.login,
        repositorySelection: installation.repositorySelection,
      })),
    async replace(next) {
      const fixed = next.filter((source) => !isRoot(source));
      const current = new Map(
        standing.credentials.filter((credential) =>
          !(credential.source.kind === "app" && credential.source.account !== undefined)
        ).map((credential) => [credential.source.name, credential]),
      );
      const wanted = new Map(fixed.map((source) => [source.name, source]));
      const leaving = new Set<string>();
      for (const [name, credential] of current) {
        const source = wanted.get(name);
        if (source && sameSource(credential.source, source)) {
          // Reloading is how an operator says a refused PAT was fixed: it is tried again.
          if (credential.bad) {
            logger.info("credential tried again after reload", { credential: name });
          }
          markTriedAgain(credential, now());
          credential.unusableUntilMs = 0;
          continue;
        }
        leaving.add(name);
        if (credential.source.kind === "app") appTokens.forget(credential.source);
      }
      standing.remove(leaving);
      const joining = fixed.filter((source) =>
        !current.has(source.name) || leaving.has(source.name)
      );
      const added = standing.add(joining);
      for (const name of leaving) {
        if (!wanted.has(name)) logger.info("credential left the pool", { credential: name });
      }
      for (const credential of added) {
        logger.info("credential joined the pool", {
          credential: credential.source.name,
          kind: credential.source.kind,
        });
      }
      roots = next.filter(isRoot);
      // PATs that join after the first lookup are looked up before the next call.
      if (owners !== undefined) {
        unowned.push(...added.filter((credential) => credential.source.kind === "pat"));
      }
      // Read again whether or not they changed: an operator reloads after changing an
      // installation's permissions or repositories, and the registry is checked against them.
      await refreshInstallations();
    },
  };
}

/** `repositories [a, b] and permissions {issues: write}`: what a narrowing asks for. */
function describeNarrowing(narrowing: TokenNarrowing): string {
  const parts = [
    narrowing.repositories && `repositories [${narrowing.repositories.join(", ")}]`,
    narrowing.permissions &&
    `permissions {${
      Object.entries(narrowing.permissions).map(([name, level]) => `${name}: ${level}`).join(", ")
    }}`,
  ];
  return parts.filter((part) => part).join(" and ");
}

/** Under what a refused narrowing is remembered: the installation and the client's scope. */
function refusalKey(source: AppSource, narrowing: TokenNarrowing | undefined): string {
  return `${source.name}\n${source.installationId}\n${narrowingKey(narrowing)}`;
}

/** An App given without an installation id: its installations are discovered. */
function isRoot(source: CredentialSource): source is AppSource {
  return source.kind === "app" && source.installationId === undefined;
}

/** The same credential: same kind, same secret, same App and installation. */
function sameSource(a: CredentialSource, b: CredentialSource): boolean {
  if (a.kind === "pat" || b.kind === "pat") {
    return a.kind === b.kind && a.kind === "pat" && b.kind === "pat" && a.token === b.token;
  }
  return a.appId === b.appId && a.installationId === b.installationId &&
    a.privateKey === b.privateKey && a.account === b.account;
}
