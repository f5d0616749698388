/**
 * Waiting for a state the test can see instead of sleeping for a guess: a loaded machine may
 * take longer than any guess, and a quick one should not wait for it.
 */

const POLL_MS = 5;
const BOUND_MS = 10_000;

/** Resolves once `condition()` holds (checked every few ms); rejects naming `what` at `ms`. */
export async function until(
  condition: () => boolean,
  what = "the condition",
  ms = BOUND_MS,
): Promise<void> {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
