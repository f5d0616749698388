/** One HTTP call to GitHub, bounded in time until headers arrive, never following redirects. */

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
  /** Aborts the call, e.g. when the client went away. */
  readonly signal?: AbortSignal;
}

export type UpstreamFetch = (request: UpstreamRequest) => Promise<Response>;

export function createUpstreamFetch(
  headersTimeoutMs: number,
  fetchImpl: typeof fetch = fetch,
): UpstreamFetch {
  return async ({ method, url, headers, body, signal }) => {
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), headersTimeoutMs);
    try {
      return await fetchImpl(url, {
        method,
        headers,
        body,
        redirect: "manual",
        signal: signal ? AbortSignal.any([signal, timeout.signal]) : timeout.signal,
      });
    } catch (error) {
      if (timeout.signal.aborted) {
        throw new UpstreamError("timeout", `GitHub did not answer within ${headersTimeoutMs} ms`);
      }
      if (signal?.aborted) throw error;
      throw new UpstreamError("unreachable", "GitHub could not be reached");
    } finally {
      clearTimeout(timer);
    }
  };
}
