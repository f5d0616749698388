/**
 * The shared credential pool (DESIGN §8, §11) as a transport layer: it learns which GitHub
 * account owns each PAT, picks a credential of the owner with the most quota left for the
 * request's rate-limit resource, holds the request at the owner's gate (concurrency, write
 * pacing) so GitHub's secondary limits are not met, puts the credential on the request, learns
 * from every answer, parks limited owners (a secondary limit freezes the whole owner) and retries
 * the request once elsewhere, so clients do not see a limit while any owner has quota.
 * Credentials are named by `<NAME>` everywhere; their secrets never leave this module.
 */
import type { CredentialSource } from "./sources.ts";
import { type Logger, silentLogger } from "../log.ts";
import { type AppTokens, createAppTokens, MintError, type TokenShare } from "./app_tokens.ts";
import type { PoolEvent, PoolObserver, PoolSnapshot } from "./events.ts";
import { secondaryLimitResponse, withPoolRateLimit } from "./exhausted.ts";
import type { PoolTotals } from "./quota.ts";
import { lookUpOwners } from "./owners.ts";
import type { RateLimitStatus } from "../http/rate_refusal.ts";
import { isBadCredentials, limitVerdict, pointsSpent, readRateLimit } from "./rate_limit.ts";
import { type Credential, type Owner, Standing } from "./standing.ts";
import {
  ANONYMOUS,
  NO_CREDENTIAL,
  type Transport,
  type UpstreamAnswer,
  UpstreamError,
  type UpstreamRequest,
} from "../http/upstream.ts";

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
    onEvent: emit,
    shared: options.shared?.tokens,
  });
  const standing = new Standing(sources, paddingMs, now, rateLimitStatus, {
    concurrency,
    maxQueued: concurrency * QUEUED_PER_SLOT,
    maxWaitMs: QUEUE_WAIT_MS,
  });
  options.shared?.attach(standing);
  // With one PAT at most there is nothing to group: no lookup is made.
  let owners: Promise<void> | undefined =
    sources.filter((source) => source.kind === "pat").length < 2 ? Promise.resolve() : undefined;

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

  const authorizationFor = async (credential: Credential): Promise<string> => {
    const source = credential.source;
    return source.kind === "pat"
      ? `token ${source.token}`
      : `token ${await appTokens.token(source)}`;
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
  const refuse = (credential: Credential, authorization: string, firstRefusal: boolean) => {
    const source = credential.source;
    const name = source.name;
    emit({ type: "refused", credential: name });
    if (source.kind === "app") {
      appTokens.reject(source, authorization.slice("token ".length));
      if (firstRefusal) return "mint again" as const;
      credential.unusableUntilMs = now() + APP_FAILURE_REST_MS;
      logger.error("GitHub refused a freshly minted installation token: App rests", {
        credential: name,
        restMs: APP_FAILURE_REST_MS,
      });
      return "next" as const;
    }
    credential.bad = true;
    logger.error("GitHub refused a personal access token (401): excluded until restart", {
      credential: name,
    });
    return "next" as const;
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
    if (standing.credentials.length === 0) {
      const answer = await next(request);
      const { response, points } = await learn(undefined, request, answer);
      return { response, credential: ANONYMOUS, ms: answer.ms, points };
    }
    await ownersKnown(next);
    let retries = request.replayable ? 1 : 0;
    const tried = new Set<Credential>();
    let again: Credential | undefined;
    let refusals = 0;
    let points = 0;
    while (true) {
      const credential = again ??
        standing.pick(request.resource, request.preferredCredential, tried);
      again = undefined;
      if (!credential) return rejected(request, points);
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
        authorization = await authorizationFor(credential);
        // A copy per attempt: a retry must not inherit the refused credential's header.
        const headers = new Headers(request.headers);
        headers.set("authorization", authorization);
        answer = await next({ ...request, headers });
        learned = await learn(credential, request, answer);
      } catch (error) {
        if (!(error instanceof MintError)) throw error;
        mintFailed(credential, error);
        tried.add(credential);
        continue;
      } finally {
        quota.inFlight--;
        entry.release();
      }
      points += learned.points;
      if (!learned.limited && !learned.refused) {
        const totals = standing.totals(learned.resource);
        return {
          response: withPoolRateLimit(learned.response, learned.resource, totals),
          credential: credential.source.name,
          ms: answer.ms,
          points,
        };
      }
      await learned.response.body?.cancel();
      if (
        learned.refused && refuse(credential, authorization, refusals++ === 0) === "mint again"
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
  };
}
