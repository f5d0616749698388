/**
 * Bounds the quiet between two chunks of a streamed upstream body: a GitHub that goes silent
 * mid-body would otherwise hold the client and the upstream connection forever.
 */
import { UpstreamError } from "./upstream.ts";

/**
 * `source`, cut off with an `UpstreamError("timeout")` (the client sees a broken body) and
 * cancelled upstream when a read waits on it for `idleMs`. Time the client spends not reading
 * does not count. One timer per stream, re-armed at most once per `idleMs`, not per chunk.
 */
export function idleBounded(
  source: ReadableStream<Uint8Array>,
  idleMs: number,
  now: () => number = performance.now.bind(performance),
): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  /** When the pending read started; undefined while the client has not asked for more. */
  let waitingSince: number | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let finished = false;
  let cutOff: (error: UpstreamError) => void = () => {};
  const check = () => {
    const quiet = waitingSince === undefined ? 0 : now() - waitingSince;
    if (quiet < idleMs) {
      timer = setTimeout(check, idleMs - quiet);
      return;
    }
    cutOff(new UpstreamError("timeout", `GitHub sent nothing for ${idleMs} ms`));
  };
  const finish = () => {
    finished = true;
    clearTimeout(timer);
  };
  return new ReadableStream<Uint8Array>({
    start(controller) {
      cutOff = (error) => {
        finish();
        controller.error(error);
        reader.cancel(error).catch(() => {});
      };
      timer = setTimeout(check, idleMs);
    },
    async pull(controller) {
      waitingSince = now();
      const read = await reader.read().catch((error) => {
        if (!finished) {
          finish();
          controller.error(error);
        }
        return undefined;
      });
      waitingSince = undefined;
      if (read === undefined || finished) return;
      if (read.done) {
        finish();
        controller.close();
      } else {
        controller.enqueue(read.value);
      }
    },
    cancel(reason) {
      finish();
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}
