/**
 * Why a call to GitHub failed before any answer, in words an operator can act on: Deno's `fetch`
 * rejects with `TypeError: fetch failed` and puts hyper's and rustls' text in `error.cause`
 * ("client error (Connect): invalid peer certificate: UnknownIssuer", "dns error: …",
 * "tcp connect error: Connection refused (os error 111)"). That text also carries the URL, which
 * the worded cause never repeats: only fixed phrases, the host and rustls' reason name.
 */

/** The texts of an error and its causes, outermost first (bounded: causes can loop). */
function messages(error: unknown): string {
  const texts: string[] = [];
  let current = error;
  for (let depth = 0; depth < 4 && current !== undefined && current !== null; depth++) {
    texts.push(current instanceof Error ? `${current.name}: ${current.message}` : String(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  return texts.join(" | ");
}

/**
 * rustls' reason after "invalid peer certificate: ", innermost name first: `UnknownIssuer`,
 * `Expired`, `NotValidForName`, `Other(OtherError(CaUsedAsEndEntity))` → `CaUsedAsEndEntity`.
 */
function certificateReason(text: string): string | undefined {
  const marker = "invalid peer certificate: ";
  const at = text.indexOf(marker);
  if (at < 0) return undefined;
  const names = /^(?:[A-Za-z]+\()*([A-Za-z]+)/.exec(text.slice(at + marker.length, at + 200));
  return names?.[1];
}

const CAUSES: readonly [test: RegExp, cause: (host: string) => string][] = [
  [
    /dns error|failed to lookup address|Name or service not known/i,
    (host) => `DNS lookup failed for ${host}`,
  ],
  [/Connection refused/i, (host) => `connection refused by ${host}`],
  [/Connection reset/i, (host) => `connection reset by ${host}`],
  [/(?:connect|Connection) timed out/i, (host) => `connection to ${host} timed out`],
  [/Network is unreachable|No route to host/i, (host) => `no route to ${host}`],
  [/Requests to port \d+ are blocked/, (host) => `Deno refuses to connect to the port of ${host}`],
  [
    /\btls\b|handshake|peer sent no certificates|received fatal alert/i,
    (host) => `TLS handshake with ${host} failed`,
  ],
];

/**
 * The cause of a failed call to `url`, e.g. `TLS certificate not trusted (UnknownIssuer)`,
 * `DNS lookup failed for ghe.example.com`, `connection refused by 127.0.0.1:8443`; undefined
 * when the error says nothing recognisable.
 */
export function connectFailure(error: unknown, url: string): string | undefined {
  if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
    return `network access to ${hostOf(url)} is not allowed (--allow-net)`;
  }
  // The URL is in hyper's text; a host such as `tls.example.com` must not read as a cause.
  const text = messages(error).split(url).join("<url>");
  const reason = certificateReason(text);
  if (reason !== undefined) return `TLS certificate not trusted (${reason})`;
  const found = CAUSES.find(([test]) => test.test(text));
  return found?.[1](hostOf(url));
}

/** `host[:port]` of `url` as written (the port only when the URL names one). */
function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return "GitHub";
  }
}
