/**
 * One HTTP call to GitHub, never following redirects, bounded in time until headers arrive
 * unless the caller bounds the whole call itself.
 */

export type UpstreamFailure = "timeout" | "unreachable";

export class UpstreamError extends Error {
  constructor(readonly failure: UpstreamFailure, message: string) {
    super(message);
    this.name = "UpstreamError";
  }
}

export interface UpstreamRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Headers;
  readonly body: BodyInit | null;
  /**
   * Aborts the call, headers or body: the client went away, or the caller's deadline passed.
   * The call then rejects with the signal's reason.
   */
  readonly signal?: AbortSignal;
  /**
   * The signal already enforces a deadline for the whole call, no later than the headers
   * timeout: the call arms no timer of its own.
   */
  readonly deadlined?: boolean;
}

export type UpstreamFetch = (request: UpstreamRequest) => Promise<Response>;

export function createUpstreamFetch(
  headersTimeoutMs: number,
  fetchImpl: typeof fetch = fetch,
): UpstreamFetch {
  const send = async (url: string, init: RequestInit, signal: AbortSignal | undefined) => {
    try {
      return await fetchImpl(url, { ...init, redirect: "manual", signal });
    } catch {
      if (signal?.aborted) throw signal.reason;
      throw new UpstreamError("unreachable", "GitHub could not be reached");
    }
  };
  return async ({ method, url, headers, body, signal, deadlined }) => {
    if (deadlined) return await send(url, { method, headers, body }, signal);
    // Cleared once headers are in: the body may take as long as it streams (bounded by idle).
    const timeout = new AbortController();
    const timer = setTimeout(
      () =>
        timeout.abort(
          new UpstreamError("timeout", `GitHub did not answer within ${headersTimeoutMs} ms`),
        ),
      headersTimeoutMs,
    );
    try {
      const bounded = signal ? AbortSignal.any([signal, timeout.signal]) : timeout.signal;
      return await send(url, { method, headers, body }, bounded);
    } finally {
      clearTimeout(timer);
    }
  };
}
