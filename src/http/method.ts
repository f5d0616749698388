/**
 * Request methods as telemetry may show them. A method is whatever token a client writes on the
 * request line, any length and unauthenticated, so it never becomes a metric label or a log
 * field as sent: one new series per invented method would grow `/metrics` without bound.
 */

/** The methods GitHub's REST and GraphQL APIs answer. */
export const GITHUB_METHODS: ReadonlySet<string> = new Set([
  "GET",
  "HEAD",
  "POST",
  "PATCH",
  "PUT",
  "DELETE",
  "OPTIONS",
]);

/** Label for any method GitHub does not have. */
export const OTHER_METHOD = "other";

const LONGEST_METHOD = 7;

/** The method as a label from a fixed set: GitHub's methods upper-cased (the gateway forwards `get` as `GET`), else `other`. */
export function methodLabel(method: string): string {
  if (method.length > LONGEST_METHOD) return OTHER_METHOD;
  const upper = method.toUpperCase();
  return GITHUB_METHODS.has(upper) ? upper : OTHER_METHOD;
}

const SHOWN_METHOD_CHARS = 16;

/** The method for a log line or an error message: as sent, cut after 16 characters. */
export function shownMethod(method: string): string {
  return method.length <= SHOWN_METHOD_CHARS ? method : `${method.slice(0, SHOWN_METHOD_CHARS)}…`;
}
