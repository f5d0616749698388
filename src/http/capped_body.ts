/** Reads a response body into memory up to a cap, or hands back a stream of all of it. */
import type { Bytes } from "../cache/entry.ts";

export type CappedBody =
  | { readonly kind: "bytes"; readonly bytes: Bytes }
  | { readonly kind: "stream"; readonly stream: ReadableStream<Uint8Array> };

export async function readCapped(response: Response, cap: number): Promise<CappedBody> {
  if (response.body === null) return { kind: "bytes", bytes: new Uint8Array() };
  const declared = Number(response.headers.get("content-length") ?? NaN);
  if (declared > cap) return { kind: "stream", stream: response.body };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    total += value.length;
    if (total > cap) return { kind: "stream", stream: resume(chunks, reader) };
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return { kind: "bytes", bytes };
}

/** The chunks already read, then the rest of `reader`. */
function resume(
  read: Uint8Array[],
  reader: ReadableStreamDefaultReader<Uint8Array>,
): ReadableStream<Uint8Array> {
  return new ReadableStream({
    async pull(controller) {
      const buffered = read.shift();
      if (buffered) return controller.enqueue(buffered);
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}
