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
