/**
 * The shared credential pool (DESIGN §8): picks the credential with the most quota left for
 * the request's rate-limit resource, learns from every answer, parks limited credentials and
 * retries the request once elsewhere, so clients do not see a limit while any credential has
 * quota. Credentials are named by `<NAME>` everywhere; their secrets never leave this module.
 */
import type { CredentialSource } from "./sources.ts";
import { type Logger, silentLogger } from "../log.ts";
import { type AppTokens, createAppTokens, MintError, type TokenCacheEvent } from "./app_tokens.ts";
import {
  availableAtMs,
  choose,
  newQuota,
  poolTotals,
  type Quota,
  remainingNow,
  score,
} from "./quota.ts";
import { exhaustedResponse, noCredentialResponse, withPoolRateLimit } from "./exhausted.ts";
import { isBadCredentials, limitVerdict, pointsSpent, readRateLimit } from "./rate_limit.ts";
import { UpstreamError } from "../http/upstream.ts";

/** Who an upstream call is made for: named in usage telemetry, told which credential answered. */
export interface Requester {
  readonly client: string;
  answered(credential: string, ms: number): void;
}

export interface UpstreamAttempt {
  /** Rate-limit resource the request will be charged to (see `inferResource`). */
  readonly resource: string;
  /** Credential to prefer, e.g. the one a cache entry was stored with. */
  readonly preferredCredential?: string;
  /** False when `send` can run only once (a streamed request body): then no retry. */
  readonly replayable?: boolean;
  readonly requester?: Requester;
  /** Sends the request with this `Authorization` value (`null`: anonymous). */
  send(authorization: string | null): Promise<Response>;
}

export interface PoolAnswer {
  readonly response: Response;
  /** `<NAME>` of the credential that answered, `anonymous` without one, `""` for the pool's own. */
  readonly credential: string;
  /** The exact `Authorization` value sent, which GitHub's ETag depends on. */
  readonly authorization: string | null;
}

/** Something that happened in the pool, for metrics and logs. */
export type PoolEvent =
  | TokenCacheEvent
  | {
    /** One upstream call answered (retries are calls of their own). */
    readonly type: "answer";
    readonly credential: string;
    readonly resource: string;
    readonly status: number;
    /** The client the call was made for, when the caller said. */
    readonly client: string | undefined;
    readonly ms: number;
    /** Rate-limit points the call cost: none for a 304 or a refusal. */
    readonly points: number;
    /** GitHub's quota after the call, when it said. */
    readonly quota?: {
      readonly limit: number;
      readonly remaining: number;
      readonly resetAtMs: number;
    };
  }
  | {
    readonly type: "limited";
    readonly credential: string;
    readonly resource: string;
    readonly kind: "primary" | "secondary";
    readonly untilMs: number;
  }
  | { readonly type: "refused"; readonly credential: string };

export type PoolObserver = (event: PoolEvent) => void;

export interface ResourceSnapshot {
  readonly resource: string;
  /** Undefined until GitHub has answered this credential for the resource. */
  readonly limit: number | undefined;
  readonly remaining: number | undefined;
  readonly resetAtMs: number | undefined;
  /** 0 when not parked. */
  readonly parkedUntilMs: number;
  readonly inFlight: number;
}

export interface CredentialSnapshot {
  readonly name: string;
  readonly kind: CredentialSource["kind"];
  /** Refused by GitHub (a PAT's 401): out of the pool until the gateway restarts. */
  readonly bad: boolean;
  /** An App whose token could not be minted rests until then; 0 otherwise. */
  readonly unusableUntilMs: number;
  readonly resources: readonly ResourceSnapshot[];
}

export interface PoolSnapshot {
  readonly atMs: number;
  readonly credentials: readonly CredentialSnapshot[];
  readonly tokenCache: { readonly items: number };
}

export interface CredentialPool {
  readonly names: readonly string[];
  call(attempt: UpstreamAttempt): Promise<PoolAnswer>;
  /** The pool's state now, read-only. */
  snapshot(): PoolSnapshot;
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

export const ANONYMOUS = "anonymous";
/** `PoolAnswer.credential` of answers the pool made itself (nothing was sent). */
export const NO_CREDENTIAL = "";

/** An App whose token cannot be minted, or is refused right after minting, rests this long. */
const APP_FAILURE_REST_MS = 30_000;

interface Credential {
  readonly source: CredentialSource;
  bad: boolean;
  unusableUntilMs: number;
  readonly quotas: Map<string, Quota>;
}

const DEFAULTS: PoolOptions = {
  apiUrl: "https://api.github.com",
  paddingMs: 60_000,
  tokenCacheMaxSize: 256,
  logger: silentLogger,
};

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
  const credentials: Credential[] = sources.map((source) => ({
    source,
    bad: false,
    unusableUntilMs: 0,
    quotas: new Map(),
  }));
  let cursor = 0;

  const quotaOf = (credential: Credential, resource: string): Quota => {
    let quota = credential.quotas.get(resource);
    if (!quota) {
      quota = newQuota();
      credential.quotas.set(resource, quota);
    }
    return quota;
  };
  const usable = (credential: Credential, at: number) =>
    !credential.bad && credential.unusableUntilMs <= at;

  const pick = (resource: string, preferred: string | undefined, tried: Set<Credential>) => {
    const at = now();
    const candidates = credentials.map((credential) => {
      const quota = quotaOf(credential, resource);
      return {
        name: credential.source.name,
        available: usable(credential, at) && !tried.has(credential) &&
          availableAtMs(quota, at, paddingMs) <= at,
        score: score(quota, at, paddingMs),
      };
    });
    const name = choose(candidates, preferred, cursor++);
    return credentials.find((credential) => credential.source.name === name);
  };

  const totals = (resource: string) => {
    const at = now();
    const quotas = credentials.filter((credential) => usable(credential, at))
      .map((credential) => quotaOf(credential, resource));
    return poolTotals(quotas, at, paddingMs);
  };

  /** The pool's own answer when no credential can take the request now. */
  const unavailable = (resource: string): PoolAnswer => {
    const at = now();
    const standing = credentials.filter((credential) => !credential.bad).map((credential) => {
      const quota = quotaOf(credential, resource);
      return {
        limitedUntil: availableAtMs(quota, at, paddingMs),
        readyAt: Math.max(availableAtMs(quota, at, paddingMs), credential.unusableUntilMs),
        limit: quota.view?.limit ?? 0,
      };
    });
    const readyAt = standing.length === 0
      ? undefined
      : Math.min(...standing.map((entry) => entry.readyAt));
    const limited = standing.some((entry) => entry.limitedUntil > at);
    const response = limited && readyAt !== undefined
      ? exhaustedResponse(
        resource,
        standing.reduce((total, entry) => total + entry.limit, 0),
        readyAt,
        at,
      )
      : noCredentialResponse(readyAt, at);
    return { response, credential: NO_CREDENTIAL, authorization: null };
  };

  const authorizationFor = async (credential: Credential): Promise<string> => {
    const source = credential.source;
    return source.kind === "pat"
      ? `token ${source.token}`
      : `token ${await appTokens.token(source)}`;
  };

  /** Reads GitHub's verdict on one answer and updates the credential's standing. */
  const learn = async (
    credential: Credential,
    attempt: UpstreamAttempt,
    sent: Response,
    ms: number,
  ) => {
    const resource = attempt.resource;
    const receivedAtMs = now();
    const readBody = sent.status === 401 || sent.status === 403 || sent.status === 429 ||
      (sent.status === 200 && resource === "graphql");
    let response = sent;
    let body: string | undefined;
    if (readBody && sent.body !== null) {
      const bytes = await sent.bytes().catch(() => {
        throw new UpstreamError("unreachable", "GitHub's answer was cut off");
      });
      body = new TextDecoder().decode(bytes);
      response = new Response(bytes, {
        status: sent.status,
        statusText: sent.statusText,
        headers: sent.headers,
      });
    }
    const view = readRateLimit(response.headers, receivedAtMs);
    const actual = view?.resource ?? resource;
    const name = credential.source.name;
    const quota = quotaOf(credential, actual);
    if (view) {
      quota.view = { limit: view.limit, remaining: view.remaining, resetAtMs: view.resetAtMs };
    }
    const verdict = limitVerdict(
      { status: response.status, headers: response.headers, body, receivedAtMs },
      paddingMs,
    );
    const refused = isBadCredentials(response.status, body);
    attempt.requester?.answered(name, ms);
    emit({
      type: "answer",
      credential: name,
      resource: actual,
      status: response.status,
      client: attempt.requester?.client,
      ms,
      points: pointsSpent(response.status, view !== undefined, verdict.kind !== "none" || refused),
      quota: quota.view,
    });
    if (verdict.kind !== "none") {
      quota.parkedUntilMs = Math.max(quota.parkedUntilMs, verdict.untilMs);
      logger.warn("credential rate-limited: parked", {
        credential: name,
        resource: actual,
        limit: verdict.kind,
        until: new Date(verdict.untilMs).toISOString(),
      });
      emit({
        type: "limited",
        credential: name,
        resource: actual,
        kind: verdict.kind,
        untilMs: verdict.untilMs,
      });
    }
    return {
      response,
      resource: actual,
      limited: verdict.kind !== "none",
      refused,
    };
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

  return {
    names: sources.map((source) => source.name),

    async call(attempt) {
      if (credentials.length === 0) {
        const sentAt = performance.now();
        const response = await attempt.send(null);
        const ms = performance.now() - sentAt;
        attempt.requester?.answered(ANONYMOUS, ms);
        const view = readRateLimit(response.headers, now());
        emit({
          type: "answer",
          credential: ANONYMOUS,
          resource: view?.resource ?? attempt.resource,
          status: response.status,
          client: attempt.requester?.client,
          ms,
          points: pointsSpent(response.status, view !== undefined, false),
          quota: view &&
            { limit: view.limit, remaining: view.remaining, resetAtMs: view.resetAtMs },
        });
        return { response, credential: ANONYMOUS, authorization: null };
      }
      let retries = attempt.replayable === false ? 0 : 1;
      const tried = new Set<Credential>();
      let again: Credential | undefined;
      let refusals = 0;
      while (true) {
        const credential = again ?? pick(attempt.resource, attempt.preferredCredential, tried);
        again = undefined;
        if (!credential) return unavailable(attempt.resource);
        const quota = quotaOf(credential, attempt.resource);
        quota.inFlight++;
        let authorization: string;
        let answer;
        try {
          authorization = await authorizationFor(credential);
          const sentAt = performance.now();
          const sent = await attempt.send(authorization);
          answer = await learn(credential, attempt, sent, performance.now() - sentAt);
        } catch (error) {
          if (!(error instanceof MintError)) throw error;
          mintFailed(credential, error);
          tried.add(credential);
          continue;
        } finally {
          quota.inFlight--;
        }
        if (!answer.limited && !answer.refused) {
          return {
            response: withPoolRateLimit(answer.response, answer.resource, totals(answer.resource)),
            credential: credential.source.name,
            authorization,
          };
        }
        await answer.response.body?.cancel();
        if (
          answer.refused && refuse(credential, authorization, refusals++ === 0) === "mint again"
        ) {
          again = credential;
        } else {
          tried.add(credential);
        }
        if (retries-- === 0) return unavailable(answer.resource);
      }
    },

    snapshot() {
      const atMs = now();
      return {
        atMs,
        credentials: credentials.map((credential) => ({
          name: credential.source.name,
          kind: credential.source.kind,
          bad: credential.bad,
          unusableUntilMs: credential.unusableUntilMs,
          resources: [...credential.quotas].map(([resource, quota]) => ({
            resource,
            limit: quota.view?.limit,
            remaining: quota.view && remainingNow(quota, atMs, paddingMs),
            resetAtMs: quota.view?.resetAtMs,
            parkedUntilMs: quota.parkedUntilMs,
            inFlight: quota.inFlight,
          })),
        })),
        tokenCache: { items: appTokens.size },
      };
    },

    observe(observer) {
      observers.add(observer);
      return () => observers.delete(observer);
    },
  };
}
