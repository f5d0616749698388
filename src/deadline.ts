/**
 * Deadlines a stalled process does not misjudge. When the event loop was held up (a loaded
 * machine, a long synchronous task), a timer that fell due meanwhile fires before the I/O that
 * completed meanwhile is delivered: a Redis lookup answered in a millisecond would be judged
 * timed out, and the request it serves would go to GitHub unconditionally, spending a point a
 * 304 would not. So at the deadline the loop gets one more turn to deliver what has arrived; the
 * wait stays bounded (by `ms` plus one turn).
 */
export async function withDeadline<T>(
  work: Promise<T>,
  ms: number,
  overdue: () => Error,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timer = setTimeout(() => reject(overdue()), 0);
    }, ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
