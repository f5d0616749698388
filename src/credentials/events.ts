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
    /** The GitHub account it spent from: its owner's name (its first credential's). */
    readonly owner: string;
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

/** Told of every pool event, synchronously, as it happens. */
export type PoolObserver = (event: PoolEvent) => void;

/** One credential's standing for one rate-limit resource. */
export interface ResourceSnapshot {
  /** GitHub's rate-limit resource: `core`, `search`, `graphql`, … */
  readonly resource: string;
  /** Undefined until GitHub has answered this credential for the resource. */
  readonly limit: number | undefined;
  /** Calls left now: the last answer's figure, refilled once its reset has passed. */
  readonly remaining: number | undefined;
  /** When GitHub resets the quota, epoch ms on the gateway's clock. */
  readonly resetAtMs: number | undefined;
  /** Resting after a limit answer until then, epoch ms; 0 when not parked. */
  readonly parkedUntilMs: number;
  /** Calls sent with this credential for this resource and not answered yet. */
  readonly inFlight: number;
}

/** One credential of the pool, known by its `<NAME>`; never its secret. */
export interface CredentialSnapshot {
  /** `<NAME>` of `GITHUB_PAT_<NAME>` or `GITHUB_APP_<NAME>_*`. */
  readonly name: string;
  /** A personal access token or a GitHub App installation. */
  readonly kind: CredentialSource["kind"];
  /** Its owner's name; its `resources` are the owner's. */
  readonly owner: string;
  /** Refused by GitHub (a PAT's 401): out of the pool until the gateway restarts. */
  readonly bad: boolean;
  /** An App whose token could not be minted rests until then; 0 otherwise. */
  readonly unusableUntilMs: number;
  /** Its standing for every rate-limit resource the pool has had requests for. */
  readonly resources: readonly ResourceSnapshot[];
}

/** One GitHub account of the pool and the credentials that share its budget. */
export interface OwnerSnapshot {
  /** Its first credential's name. */
  readonly name: string;
  /** The `<NAME>`s of the credentials that share this account's budget. */
  readonly credentials: readonly string[];
  /** Cooling down after a secondary limit until then; 0 when not. */
  readonly frozenUntilMs: number;
  /** Requests sent on it and not yet answered (at most `UPSTREAM_CONCURRENCY`). */
  readonly inFlight: number;
  /** Requests waiting in its queue for a turn. */
  readonly queued: number;
  /** Its standing for every rate-limit resource the pool has had requests for. */
  readonly resources: readonly ResourceSnapshot[];
}

/** The pool at one moment, read-only. */
export interface PoolSnapshot {
  /** When the snapshot was taken, epoch ms. */
  readonly atMs: number;
  /** Every configured credential, in the order `parseConfig` lists them. */
  readonly credentials: readonly CredentialSnapshot[];
  /** Each budget once. */
  readonly owners: readonly OwnerSnapshot[];
  /** App installation tokens currently cached. */
  readonly tokenCache: { readonly items: number };
}
