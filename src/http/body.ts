/**
 * The one bounded body reader: request bodies are read into memory so the pool can replay them
 * on another credential, GraphQL and runner-token bodies so they can be parsed, response bodies
 * so the cache can store them; a body over the bound streams through whole instead.
 */

/** Request bodies up to this size are buffered and can be retried on another credential. */
export const REPLAYABLE_BODY_LIMIT = 10 * 1024 * 1024;

/**
 * The message's body as bytes (empty when it has none) when it is at most `cap` bytes, else a
 * stream of all of it: what was read, then the rest. A declared `content-length` over `cap`
 * is not read at all.
 */
export async function readUpTo(
  message: Request | Response,
  cap: number,
): Promise<Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array>> {
  if (message.body === null) return new Uint8Array();
  if (Number(message.headers.get("content-length")) > cap) return message.body;
  const reader = message.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) return concat(chunks);
    chunks.push(value);
    size += value.length;
    if (size > cap) return replayed(chunks, reader);
  }
}

/** The parts joined into one array. */
export function concat(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** The chunks already read, then the rest of `reader`. */
function replayed(
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
