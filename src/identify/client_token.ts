/** Reading a client token from an `Authorization` header, as GitHub clients send it. */

/** The client token from `token X`, `Bearer X`, or Basic auth whose password is the token. */
export function clientTokenOf(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const [scheme, value] = header.trim().split(/\s+/, 2);
  if (!value) return undefined;
  switch (scheme.toLowerCase()) {
    case "token":
    case "bearer":
      return value;
    case "basic": {
      try {
        const decoded = atob(value);
        const colon = decoded.indexOf(":");
        return colon < 0 ? undefined : decoded.slice(colon + 1) || undefined;
      } catch {
        return undefined;
      }
    }
    default:
      return undefined;
  }
}
