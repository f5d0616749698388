/**
 * An answer that arrives while the process is stalled: a loopback connection whose byte is
 * written before it is read, and a synchronous busy wait that holds the event loop past a
 * deadline, as a loaded machine does.
 */
export interface ArrivedAnswer extends AsyncDisposable {
  /** Puts the answer's byte on the wire (it waits in the socket until read). */
  send(): Promise<void>;
  /** Resolves with `value` once the byte is read. */
  read<T>(value: T): Promise<T>;
}

export async function arrivedAnswer(): Promise<ArrivedAnswer> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const client = await Deno.connect({
    hostname: "127.0.0.1",
    port: (listener.addr as Deno.NetAddr).port,
  });
  const server = await accepted;
  return {
    async send() {
      await server.write(new Uint8Array([1]));
    },
    async read<T>(value: T): Promise<T> {
      await client.read(new Uint8Array(1));
      return value;
    },
    [Symbol.asyncDispose]() {
      client.close();
      server.close();
      listener.close();
      return Promise.resolve();
    },
  };
}

/** Holds the event loop for `ms` milliseconds. */
export function stall(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // Busy: nothing else runs, timers fall due, I/O completes unseen.
  }
}
