/**
 * Request bodies made replayable: the pool retries a refused request on another credential, so
 * bodies up to a bound are read into memory; larger ones stream through once, without retry.
 */

export const REPLAYABLE_BODY_LIMIT = 10 * 1024 * 1024;

export interface PreparedBody {
  readonly body: Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array> | null;
  /** The body can be sent again (it is in memory, or there is none). */
  readonly replayable: boolean;
}

export async function prepareBody(
  request: Request,
  limit = REPLAYABLE_BODY_LIMIT,
): Promise<PreparedBody> {
  if (request.body === null) return { body: null, replayable: true };
  if (Number(request.headers.get("content-length")) > limit) {
    return { body: request.body, replayable: false };
  }
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) return { body: concat(chunks, size), replayable: true };
    chunks.push(value);
    size += value.length;
    if (size > limit) return { body: resumed(chunks, reader), replayable: false };
  }
}

function concat(chunks: readonly Uint8Array[], size: number): Uint8Array<ArrayBuffer> {
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.length;
  }
  return body;
}

/** The chunks already read, then the rest of the stream. */
function resumed(
  chunks: readonly Uint8Array[],
  reader: ReadableStreamDefaultReader<Uint8Array>,
): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
    },
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

/** The body's bytes (empty when none), or `undefined` when it is larger than `limit`. */
export async function readBounded(
  request: Request,
  limit: number,
): Promise<Uint8Array<ArrayBuffer> | undefined> {
  const { body, replayable } = await prepareBody(request, limit);
  if (!replayable) {
    await (body as ReadableStream<Uint8Array>).cancel();
    return undefined;
  }
  return (body as Uint8Array<ArrayBuffer> | null) ?? new Uint8Array();
}
