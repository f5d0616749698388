/** What observers of the credential pool see: its events and read-only snapshots. */
import type { CredentialSource } from "./sources.ts";
import type { TokenCacheEvent } from "./app_tokens.ts";

/** Something that happened in the pool, for metrics and logs. */
export type PoolEvent =
  | TokenCacheEvent
  | {
    /** One upstream call answered (retries are calls of their own). */
    readonly type: "answer";
    readonly credential: string;
    readonly resource: string;
    readonly status: number;
    /** The client the call was made for. */
    readonly client: string;
    readonly ms: number;
    /**
     * Rate-limit points the call cost (none for a 304 or a refusal; GraphQL: what
     * `x-ratelimit-used` moved by).
     */
    readonly points: number;
    /** GitHub's quota after the call, when it said. */
    readonly quota?: {
      readonly limit: number;
      readonly remaining: number;
      readonly resetAtMs: number;
    };
  }
  | {
    /** An owner was parked (primary: for the resource) or frozen (secondary: all of it). */
    readonly type: "limited";
    readonly credential: string;
    /** The owner's name: its first credential's. */
    readonly owner: string;
    readonly resource: string;
    readonly kind: "primary" | "secondary";
    readonly untilMs: number;
  }
  | {
    /** A request the pool refused itself, sending nothing (DESIGN §11 reasons). */
    readonly type: "rejected";
    readonly client: string;
    readonly resource: string;
    readonly reason: "rate" | "concurrency";
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
  /** Its owner's name; its `resources` are the owner's. */
  readonly owner: string;
  /** Refused by GitHub (a PAT's 401): out of the pool until the gateway restarts. */
  readonly bad: boolean;
  /** An App whose token could not be minted rests until then; 0 otherwise. */
  readonly unusableUntilMs: number;
  readonly resources: readonly ResourceSnapshot[];
}

/** One GitHub account of the pool and the credentials that share its budget. */
export interface OwnerSnapshot {
  /** Its first credential's name. */
  readonly name: string;
  readonly credentials: readonly string[];
  /** Cooling down after a secondary limit until then; 0 when not. */
  readonly frozenUntilMs: number;
  readonly inFlight: number;
  readonly queued: number;
  readonly resources: readonly ResourceSnapshot[];
}

export interface PoolSnapshot {
  readonly atMs: number;
  readonly credentials: readonly CredentialSnapshot[];
  /** Each budget once. */
  readonly owners: readonly OwnerSnapshot[];
  readonly tokenCache: { readonly items: number };
}
