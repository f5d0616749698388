/// <reference lib="deno.worker" />
/**
 * The fallback load generator (`load.ts` uses it when `wrk` is not installed), in its own thread
 * so that it does not share the bench's event loop: `connections` concurrent request loops over
 * a list of URLs for a fixed time.
 */

export interface LoadRequest {
  /** Requested in turn. */
  readonly urls: readonly string[];
  readonly headers: Record<string, string>;
  readonly connections: number;
  readonly durationMs: number;
}

export interface LoadResult {
  /** Milliseconds per completed request, in completion order. */
  readonly latencies: number[];
  /** Responses that were not 2xx/3xx, and requests that failed. */
  readonly errors: number;
  readonly elapsedMs: number;
}

self.onmessage = async (event: MessageEvent<LoadRequest>) => {
  const request = event.data;
  const latencies: number[] = [];
  const start = performance.now();
  const end = start + request.durationMs;
  let errors = 0;
  let started = 0;
  const loop = async () => {
    while (performance.now() < end) {
      const url = request.urls[started++ % request.urls.length];
      const begun = performance.now();
      try {
        const response = await fetch(url, { headers: request.headers });
        await response.arrayBuffer();
        if (response.status >= 400) errors++;
      } catch {
        errors++;
      }
      latencies.push(performance.now() - begun);
    }
  };
  await Promise.all(Array.from({ length: request.connections }, loop));
  const result: LoadResult = { latencies, errors, elapsedMs: performance.now() - start };
  self.postMessage(result);
};
