/**
 * The one redaction of secrets written into URLs: `scheme://user:password@host` shows as
 * `scheme://***@host` wherever the gateway prints a URL or an error that may quote one (the
 * start-up summary, start-up errors, backend failures in the log, `/readyz`).
 */

/** Characters that end a URL inside free text (an error message, a log line). */
const URL_END = new Set([" ", "\t", "\n", "\r", "'", '"', "`", "<", ">", "(", ")"]);

/**
 * `text` with the userinfo of every `scheme://…@` replaced by `***`. Everything up to the last
 * `@` before the URL ends counts as userinfo: a password with an unescaped `@` or `/` is still
 * hidden (a host is sometimes hidden with it, never a password shown). Linear in `text`.
 */
export function redactUserinfo(text: string): string {
  let out = "";
  let at = 0;
  for (;;) {
    const separator = text.indexOf("://", at);
    if (separator < 0) return out + text.slice(at);
    const start = separator + 3;
    let end = start;
    let lastAt = -1;
    for (; end < text.length && !URL_END.has(text[end]); end++) {
      if (text[end] === "@") lastAt = end;
    }
    out += lastAt < 0
      ? text.slice(at, end)
      : `${text.slice(at, start)}***${text.slice(lastAt, end)}`;
    at = end;
  }
}
