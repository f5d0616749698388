/// <reference lib="deno.worker" />
/**
 * The load generator, in its own thread so that it does not compete with the event loop of the
 * upstream (which runs in the bench's main thread): `connections` concurrent request loops over
 * a list of URLs for a fixed time.
 */

export interface LoadRequest {
  /** Requested in turn; the warm-up lasts until each has been fetched at least once. */
  readonly urls: readonly string[];
  readonly headers: Record<string, string>;
  readonly connections: number;
  readonly warmupMs: number;
  readonly durationMs: number;
}

export interface LoadResult {
  /** Milliseconds per completed request, in completion order. */
  readonly latencies: number[];
  /** Responses that were not 2xx/3xx, and requests that failed. */
  readonly errors: number;
  readonly elapsedMs: number;
}

/** Runs the loops until `done(requests started so far)`; returns the error count. */
async function hammer(
  request: LoadRequest,
  done: (started: number) => boolean,
  latencies: number[] | null,
): Promise<number> {
  let errors = 0;
  let started = 0;
  const loop = async () => {
    while (!done(started)) {
      const url = request.urls[started++ % request.urls.length];
      const start = performance.now();
      try {
        const response = await fetch(url, { headers: request.headers });
        await response.arrayBuffer();
        if (response.status >= 400) errors++;
      } catch {
        errors++;
      }
      latencies?.push(performance.now() - start);
    }
  };
  await Promise.all(Array.from({ length: request.connections }, loop));
  return errors;
}

self.onmessage = async (event: MessageEvent<LoadRequest>) => {
  const request = event.data;
  const warm = performance.now() + request.warmupMs;
  await hammer(request, (n) => n >= request.urls.length && performance.now() >= warm, null);
  const latencies: number[] = [];
  const start = performance.now();
  const errors = await hammer(
    request,
    () => performance.now() >= start + request.durationMs,
    latencies,
  );
  const result: LoadResult = { latencies, errors, elapsedMs: performance.now() - start };
  self.postMessage(result);
};
