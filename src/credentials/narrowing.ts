/**
 * Whether an installation can grant a client's `github_token:` narrowing (DESIGN §8): a token
 * can carry a permission only up to the level the installation was granted (`read` < `write` <
 * `admin`). GitHub refuses the mint otherwise; the gateway says so first, naming the permission.
 */
import type { TokenNarrowing } from "../http/upstream.ts";

const LEVELS: Readonly<Record<string, number>> = { read: 1, write: 2, admin: 3 };

/** A permission a narrowing asks for beyond what the installation has. */
export interface Ungranted {
  readonly permission: string;
  readonly wanted: string;
  /** What the installation has: a lower level, or `none`. */
  readonly granted: string;
}

/** The first permission of `narrowing` that `granted` does not cover; undefined: all covered. */
export function ungranted(
  narrowing: TokenNarrowing,
  granted: Readonly<Record<string, string>>,
): Ungranted | undefined {
  for (const [permission, wanted] of Object.entries(narrowing.permissions ?? {})) {
    const has = granted[permission];
    if ((LEVELS[has] ?? 0) < (LEVELS[wanted] ?? Infinity)) {
      return { permission, wanted, granted: has ?? "none" };
    }
  }
  return undefined;
}

/** `issues: write (the installation has read)`: how an error names an ungranted permission. */
export function describeUngranted({ permission, wanted, granted }: Ungranted): string {
  return `${permission}: ${wanted} (the installation has ${granted})`;
}
