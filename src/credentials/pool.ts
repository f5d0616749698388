/**
 * The shared credential pool (DESIGN §8) as a transport layer: it picks the credential with the
 * most quota left for the request's rate-limit resource, puts it on the request, learns from
 * every answer, parks limited credentials and retries the request once elsewhere, so clients do
 * not see a limit while any credential has quota. Credentials are named by `<NAME>` everywhere;
 * their secrets never leave this module.
 */
import type { CredentialSource } from "./sources.ts";
import { type Logger, silentLogger } from "../log.ts";
import { type AppTokens, createAppTokens, MintError } from "./app_tokens.ts";
import type { PoolEvent, PoolObserver, PoolSnapshot } from "./events.ts";
import { withPoolRateLimit } from "./exhausted.ts";
import type { PoolTotals } from "./quota.ts";
import { isBadCredentials, limitVerdict, pointsSpent, readRateLimit } from "./rate_limit.ts";
import { type Credential, Standing } from "./standing.ts";
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
   * or is the pool's own 429/503 (`NO_CREDENTIAL`) when none can. Without credentials, calls
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

export interface PoolOptions {
  /** REST base URL, where App installation tokens are minted. */
  readonly apiUrl: string;
  /** Added to a limit's reset before the credential is used again. */
  readonly paddingMs: number;
  readonly tokenCacheMaxSize: number;
  readonly logger: Logger;
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
}

/** An App whose token cannot be minted, or is refused right after minting, rests this long. */
const APP_FAILURE_REST_MS = 30_000;

const DEFAULTS: PoolOptions = {
  apiUrl: "https://api.github.com",
  paddingMs: 60_000,
  tokenCacheMaxSize: 256,
  logger: silentLogger,
};

/** Answers whose body says whether a limit or a refusal happened. */
const readsBody = (status: number, resource: string) =>
  status === 401 || status === 403 || status === 429 || (status === 200 && resource === "graphql");

export function createPool(
  sources: readonly CredentialSource[],
  options: Partial<PoolOptions> = {},
): CredentialPool {
  const { apiUrl, paddingMs, tokenCacheMaxSize, logger } = { ...DEFAULTS, ...options };
  const now = options.now ?? Date.now;
  const observers = new Set<PoolObserver>();
  const emit = (event: PoolEvent) => observers.forEach((observer) => observer(event));
  const appTokens: AppTokens = createAppTokens({
    apiUrl,
    maxSize: tokenCacheMaxSize,
    fetch: options.fetch,
    now,
    onEvent: emit,
  });
  const standing = new Standing(sources, paddingMs, now);

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
    const quota = credential && standing.quotaOf(credential, resource);
    if (quota && latest) quota.view = latest;
    const verdict = limitVerdict(
      { status: response.status, headers: response.headers, body, receivedAtMs },
      paddingMs,
    );
    const refused = isBadCredentials(response.status, body);
    const points = pointsSpent(
      response.status,
      view !== undefined,
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
    if (quota && verdict.kind !== "none") {
      quota.parkedUntilMs = Math.max(quota.parkedUntilMs, verdict.untilMs);
      logger.warn("credential rate-limited: parked", {
        credential: name,
        resource,
        limit: verdict.kind,
        until: new Date(verdict.untilMs).toISOString(),
      });
      emit({
        type: "limited",
        credential: name,
        resource,
        kind: verdict.kind,
        untilMs: verdict.untilMs,
      });
    }
    return { response, resource, limited: verdict.kind !== "none", refused, points };
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

  const call = async (next: Transport, request: UpstreamRequest): Promise<UpstreamAnswer> => {
    if (standing.credentials.length === 0) {
      const answer = await next(request);
      const { response, points } = await learn(undefined, request, answer);
      return { response, credential: ANONYMOUS, ms: answer.ms, points };
    }
    let retries = request.replayable ? 1 : 0;
    const tried = new Set<Credential>();
    let again: Credential | undefined;
    let refusals = 0;
    let points = 0;
    while (true) {
      const credential = again ??
        standing.pick(request.resource, request.preferredCredential, tried);
      again = undefined;
      if (!credential) return unavailable(request.resource, points);
      const quota = standing.quotaOf(credential, request.resource);
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
      if (retries-- === 0) return unavailable(learned.resource, points);
    }
  };

  return {
    transport: (next) => (request) => call(next, request),
    snapshot: () => standing.snapshot(appTokens.size),
    capacity(resource) {
      const totals = standing.totals(resource);
      if (!totals) return undefined;
      const inFlight = standing.credentials.reduce(
        (sum, credential) => sum + (credential.quotas.get(resource)?.inFlight ?? 0),
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
