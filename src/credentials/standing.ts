/**
 * Where each credential stands: its quota per rate-limit resource, whether GitHub refused it
 * (bad) or it rests (an App that could not mint), and the choices that follow from that: which
 * credential takes a request, the pool's totals, and the pool's own answer when none can.
 */
import type { RateLimitStatus } from "../http/rate_refusal.ts";
import type { CredentialSource } from "./sources.ts";
import { exhaustedResponse, noCredentialResponse } from "./exhausted.ts";
import type { PoolSnapshot } from "./events.ts";
import {
  availableAtMs,
  choose,
  newQuota,
  type PoolTotals,
  poolTotals,
  type Quota,
  remainingNow,
  score,
} from "./quota.ts";

export interface Credential {
  readonly source: CredentialSource;
  /** Refused by GitHub (a PAT's 401): out of the pool until the gateway restarts. */
  bad: boolean;
  /** An App that could not mint rests until then. */
  unusableUntilMs: number;
  readonly quotas: Map<string, Quota>;
}

export class Standing {
  readonly credentials: readonly Credential[];
  #cursor = 0;

  constructor(
    sources: readonly CredentialSource[],
    private readonly paddingMs: number,
    private readonly now: () => number,
    private readonly rateLimitStatus: RateLimitStatus,
  ) {
    this.credentials = sources.map((source) => ({
      source,
      bad: false,
      unusableUntilMs: 0,
      quotas: new Map(),
    }));
  }

  quotaOf(credential: Credential, resource: string): Quota {
    let quota = credential.quotas.get(resource);
    if (!quota) {
      quota = newQuota();
      credential.quotas.set(resource, quota);
    }
    return quota;
  }

  /** The credential with the most quota for `resource` now, `preferred` while it is healthy. */
  pick(
    resource: string,
    preferred: string | undefined,
    tried: ReadonlySet<Credential>,
  ): Credential | undefined {
    const at = this.now();
    const candidates = this.credentials.map((credential) => {
      const quota = this.quotaOf(credential, resource);
      return {
        name: credential.source.name,
        available: this.#usable(credential, at) && !tried.has(credential) &&
          availableAtMs(quota, at, this.paddingMs) <= at,
        score: score(quota, at, this.paddingMs),
      };
    });
    const name = choose(candidates, preferred, this.#cursor++);
    return this.credentials.find((credential) => credential.source.name === name);
  }

  /** The pool's quota for `resource` over every usable credential, as clients are told it. */
  totals(resource: string): PoolTotals | undefined {
    const at = this.now();
    const quotas = this.credentials.filter((credential) => this.#usable(credential, at))
      .map((credential) => this.quotaOf(credential, resource));
    return poolTotals(quotas, at, this.paddingMs);
  }

  /**
   * The pool's own answer when no credential can take the request now: a rate refusal when one
   * is resting for a limit, else 503.
   */
  unavailable(resource: string): Response {
    const at = this.now();
    const standing = this.credentials.filter((credential) => !credential.bad).map(
      (credential) => {
        const quota = this.quotaOf(credential, resource);
        const limitedUntil = availableAtMs(quota, at, this.paddingMs);
        return {
          limitedUntil,
          readyAt: Math.max(limitedUntil, credential.unusableUntilMs),
          limit: quota.view?.limit ?? 0,
        };
      },
    );
    const readyAt = standing.length === 0
      ? undefined
      : Math.min(...standing.map((entry) => entry.readyAt));
    const limited = standing.some((entry) => entry.limitedUntil > at);
    return limited && readyAt !== undefined
      ? exhaustedResponse(
        this.rateLimitStatus,
        resource,
        standing.reduce((total, entry) => total + entry.limit, 0),
        readyAt,
        at,
      )
      : noCredentialResponse(readyAt, at);
  }

  snapshot(tokenCacheItems: number): PoolSnapshot {
    const atMs = this.now();
    return {
      atMs,
      credentials: this.credentials.map((credential) => ({
        name: credential.source.name,
        kind: credential.source.kind,
        bad: credential.bad,
        unusableUntilMs: credential.unusableUntilMs,
        resources: [...credential.quotas].map(([resource, quota]) => ({
          resource,
          limit: quota.view?.limit,
          remaining: quota.view && remainingNow(quota, atMs, this.paddingMs),
          resetAtMs: quota.view?.resetAtMs,
          parkedUntilMs: quota.parkedUntilMs,
          inFlight: quota.inFlight,
        })),
      })),
      tokenCache: { items: tokenCacheItems },
    };
  }

  #usable(credential: Credential, at: number): boolean {
    return !credential.bad && credential.unusableUntilMs <= at;
  }
}
