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

/** A JSON value whose strings may hold `{{ event.a.b }}` lookups (`webhooks:` only). */
export type TemplateValue =
  | string
  | number
  | boolean
  | null
  | readonly TemplateValue[]
  | { readonly [key: string]: TemplateValue };

/** What a webhook rule sends (DESIGN §12); every string may hold `{{ event.a.b }}`. */
export type WebhookTarget =
  | {
    /** `POST /repos/{repository}/actions/workflows/{workflow}/dispatches` with `{ref, inputs}`. */
    readonly kind: "dispatch";
    readonly repository: string;
    readonly workflow: string;
    readonly ref: string;
    readonly inputs: { readonly [key: string]: TemplateValue };
  }
  | {
    /** `POST /repos/{repository}/dispatches` with `{event_type, client_payload}`. */
    readonly kind: "repository_dispatch";
    readonly repository: string;
    readonly eventType: string;
    readonly clientPayload: { readonly [key: string]: TemplateValue };
  };

/** One `webhooks:` rule: on `event` (and `action`), send `target`. */
export interface WebhookRule {
  /** `webhooks[0] repository.created`: the rule's name in metrics and logs. */
  readonly label: string;
  readonly event: string;
  /** When set, only deliveries whose payload `action` is this. */
  readonly action?: string;
  readonly target: WebhookTarget;
}

/** The registry's webhook automation and the built-in client its dispatches are made as. */
export interface Webhooks {
  readonly rules: readonly WebhookRule[];
  /** `webhooks`: its name in metrics, budgets and logs; `defaults.limits` apply to it. */
  readonly client: Client;
}

/** A whole registry file: its clients and the template variables it read. */
export interface Registry {
  readonly clients: readonly Client[];
  readonly reserve: Reserve;
  /** Variables the file's template read. */
  readonly variables: readonly string[];
  readonly webhooks: Webhooks;
  /** What the file says that loads but is probably a mistake (`file:line: …`), to log. */
  readonly warnings: readonly string[];
}
