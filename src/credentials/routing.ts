/**
 * Routing by installation (DESIGN §8): a GitHub App installation can only see the account it is
 * installed on, and GitHub answers 404 for any other — so a request whose path names an account
 * goes to that account's installation, and never to another one. Pure decisions, tested as a
 * table; the pool applies them before its usual choice by quota.
 */

/** An account named in a REST path, lower case (GitHub treats logins case-insensitively). */
export function pathAccount(path: string): string | undefined {
  const match = /^\/(?:repos|orgs|users)\/([^/]+)(?:\/|$)/.exec(path);
  return match ? match[1].toLowerCase() : undefined;
}

/** What routing needs to know of a credential. */
export interface RoutedCredential {
  readonly name: string;
  readonly kind: "pat" | "app";
  /** The account of a discovered installation; undefined: serves any account. */
  readonly account?: string;
}

/** Which credentials may take a request, and why (the log's and the closing table's words). */
export type Route =
  /** No account in the path (GraphQL, `/user`, `/search/…`): the pool's usual choice. */
  | { readonly kind: "any"; readonly names: readonly string[] }
  /** The account's own installation(s). */
  | { readonly kind: "installation"; readonly names: readonly string[] }
  /** No installation covers the account: PATs and explicit-id Apps stand in. */
  | { readonly kind: "fallback"; readonly names: readonly string[] }
  /**
   * Nothing in the pool may serve it: the request goes out without a credential, so the client
   * gets GitHub's own answer (404 for a private repository), never a gateway error.
   */
  | { readonly kind: "anonymous"; readonly names: readonly [] };

/**
 * The credentials that may take a request for `account` (undefined: the path names none).
 * `narrowed`: the client's tokens must be installation tokens minted with its narrowing, so only
 * Apps qualify and no PAT stands in.
 */
export function route(
  account: string | undefined,
  credentials: readonly RoutedCredential[],
  narrowed = false,
): Route {
  const eligible = credentials.filter((credential) => !narrowed || credential.kind === "app");
  const names = (list: readonly RoutedCredential[]) => list.map((credential) => credential.name);
  if (account === undefined) {
    return eligible.length > 0 ? { kind: "any", names: names(eligible) } : anonymous;
  }
  // Without a discovered installation nothing is routed: there is nothing to fall back from.
  if (!eligible.some((credential) => credential.account !== undefined)) {
    return eligible.length > 0 ? { kind: "any", names: names(eligible) } : anonymous;
  }
  const own = eligible.filter((credential) => credential.account === account);
  if (own.length > 0) return { kind: "installation", names: names(own) };
  const standIns = eligible.filter((credential) => credential.account === undefined);
  return standIns.length > 0 ? { kind: "fallback", names: names(standIns) } : anonymous;
}

const anonymous = { kind: "anonymous", names: [] } as const;
