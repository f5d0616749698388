/**
 * The shared credential pool: chooses which credential answers an upstream call.
 */
import type { CredentialSource } from "../config.ts";

export interface UpstreamAttempt {
  /** Rate-limit resource the request will be charged to (see `inferResource`). */
  readonly resource: string;
  /** Credential to prefer, e.g. the one a cache entry was stored with. */
  readonly preferredCredential?: string;
  /** Sends the request with this `Authorization` value (`null`: anonymous). */
  send(authorization: string | null): Promise<Response>;
}

export interface PoolAnswer {
  readonly response: Response;
  /** `<NAME>` of the credential that answered, `anonymous` without one. */
  readonly credential: string;
  /** The exact `Authorization` value sent, which GitHub's ETag depends on. */
  readonly authorization: string | null;
}

export interface CredentialPool {
  readonly names: readonly string[];
  call(attempt: UpstreamAttempt): Promise<PoolAnswer>;
}

export const ANONYMOUS = "anonymous";

/** A pool that answers with the first configured personal access token, or anonymously. */
export function createPool(sources: readonly CredentialSource[]): CredentialPool {
  const pat = sources.find((source) => source.kind === "pat");
  const credential = pat?.name ?? ANONYMOUS;
  const authorization = pat ? `token ${pat.token}` : null;
  return {
    names: sources.map((source) => source.name),
    async call(attempt) {
      const response = await attempt.send(authorization);
      return { response, credential, authorization };
    },
  };
}
