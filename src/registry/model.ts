/**
 * The client registry as the gateway holds it once parsed: who may call (token digests) and
 * what they may call (precompiled scope rules). Plain data, immutable, shared by a request from
 * identify to forward.
 */
import type { ScopePattern } from "./pattern.ts";
import type { TokenNarrowing } from "../http/upstream.ts";

/** Which GraphQL operation types a rule admits (or, in `deny`, refuses). */
export type GraphqlAllowance = "query" | "mutation" | "any";

/** One `scopes` or `deny` entry: a method and a path pattern, and a GraphQL allowance. */
export interface ScopeRule {
  readonly method: ScopePattern;
  readonly path: ScopePattern;
  readonly graphql: GraphqlAllowance;
  /** The rule as written, for error messages and logs. */
  readonly source: string;
}

/** Who keeps working as the pool runs low (DESIGN §11): `high` uses it to the end. */
export type Priority = "low" | "normal" | "high";

/** A client's fair-share limits; each absent one is unlimited. */
export interface Limits {
  /** Upstream rate-limit points per hour, a continuously refilled token bucket. */
  readonly pointsPerHour?: number;
  /** Requests answered per minute, cache hits included. */
  readonly requestsPerMinute?: number;
  /** Requests in flight at once. */
  readonly concurrency?: number;
}

/** % of each rate-limit resource's pool capacity kept back from lower priorities. */
export interface Reserve {
  readonly low: number;
  readonly normal: number;
}

/** A registered client: its name, the digest of its token and its rules. */
export interface Client {
  readonly name: string;
  readonly tokenDigest: Uint8Array;
  /** `null` when the file has no `scopes`: full access. */
  readonly scopes: readonly ScopeRule[] | null;
  readonly deny: readonly ScopeRule[];
  /** Freshness opt-in: serve cached entries younger than this without revalidating. */
  readonly maxAgeSeconds?: number;
  readonly priority: Priority;
  /** Its own `limits`, each absent one taken from `defaults.limits`. */
  readonly limits: Limits;
  /**
   * `github_token:`: served with installation tokens minted for only these repositories and
   * permissions (App credentials only; GitHub enforces them). Absent: the pool's usual tokens.
   */
  readonly githubToken?: TokenNarrowing;
  /** Where `github_token:` is written (`file:line`), for errors found after parsing. */
  readonly githubTokenAt?: string;
}

/** A whole registry file: its clients and the template variables it read. */
export interface Registry {
  readonly clients: readonly Client[];
  readonly reserve: Reserve;
  /** Variables the file's template read. */
  readonly variables: readonly string[];
}
