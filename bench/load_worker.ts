/// <reference lib="deno.worker" />
/**
 * The load generator, in its own thread so that it does not compete with the upstream's event
 * loop: `connections` concurrent request loops against one URL for a fixed time.
 */

export interface LoadRequest {
  readonly url: string;
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

async function hammer(request: LoadRequest, until: number, latencies: number[] | null) {
  let errors = 0;
  const loop = async () => {
    while (performance.now() < until) {
      const start = performance.now();
      try {
        const response = await fetch(request.url, { headers: request.headers });
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
  await hammer(request, performance.now() + request.warmupMs, null);
  const latencies: number[] = [];
  const start = performance.now();
  const errors = await hammer(request, start + request.durationMs, latencies);
  const result: LoadResult = { latencies, errors, elapsedMs: performance.now() - start };
  self.postMessage(result);
};
