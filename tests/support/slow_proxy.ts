/** A loopback HTTP proxy that holds every request for a while before passing it on. */
export interface SlowProxy extends AsyncDisposable {
  readonly url: string;
  close(): Promise<void>;
}

export function startSlowProxy(target: string, delayMs: number): SlowProxy {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    const url = new URL(request.url);
    const headers = new Headers(request.headers);
    headers.delete("host");
    return await fetch(`${target}${url.pathname}${url.search}`, {
      method: request.method,
      headers,
      body: request.body,
    });
  });
  const close = () => server.shutdown();
  return { url: `http://127.0.0.1:${server.addr.port}`, close, [Symbol.asyncDispose]: close };
}
