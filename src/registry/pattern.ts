/**
 * Scope patterns: RE2 syntax run by a linear-time engine (re2js), matched against the whole
 * input, case-insensitively. JavaScript's `RegExp` backtracks: the plausible
 * `/repos/octo-org/([a-z0-9]+-?)+/issues(/.*)?` took seconds on a 28-character repository name
 * and froze every client's requests with it. RE2 has no backreferences or lookaround, the two
 * features that need backtracking, and refuses them when the registry is loaded.
 */
import { RE2JS, RE2JSSyntaxException } from "re2js";

/** A compiled scope pattern. */
export interface ScopePattern {
  /** True when the whole of `input` matches, ignoring case; linear in `input`'s length. */
  matches(input: string): boolean;
}

export type CompiledPattern =
  | { readonly ok: true; readonly pattern: ScopePattern }
  | { readonly ok: false; readonly reason: string };

/** Lookaround or a backreference, for a hint; `\\1` (an escaped backslash) is a false alarm. */
const UNSUPPORTED = /\(\?<?[=!]|\\[1-9]/;

/** Compiles `source` once, at registry load. */
export function compileScopePattern(source: string): CompiledPattern {
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(source, RE2JS.CASE_INSENSITIVE);
  } catch (error) {
    const reason = error instanceof RE2JSSyntaxException ? error.error : String(error);
    const hint = UNSUPPORTED.test(source)
      ? " (scope patterns are RE2: no lookaround or backreferences)"
      : "";
    return { ok: false, reason: `${reason}${hint}` };
  }
  // `testExact` anchors both ends itself, so no `a)|(b` can escape a `^(?:…)$` wrapper.
  return { ok: true, pattern: { matches: (input) => compiled.testExact(input) } };
}
