/**
 * Sends webhook deliveries to a gateway as GitHub does: the JSON payload signed with
 * HMAC-SHA256 under a secret in `X-Hub-Signature-256`, with `X-GitHub-Event` and a fresh
 * `X-GitHub-Delivery` (or the one given, for a redelivery). The signature is computed here with
 * WebCrypto, independently of the gateway's code.
 */

export interface DeliveryOptions {
  /** `X-GitHub-Event`. */
  readonly event: string;
  /** The payload (JSON-encoded) or the exact body bytes. */
  readonly payload: unknown;
  /** The secret to sign with; null sends no signature at all. */
  readonly secret: string | null;
  /** `X-GitHub-Delivery`; a new UUID by default. */
  readonly id?: string;
  /** The signature header's name as written (header names are case-insensitive). */
  readonly signatureHeader?: string;
  /** Changes the body after signing (e.g. one byte), as a forger would. */
  readonly tamper?: (body: Uint8Array) => Uint8Array;
  /** Writes the hex digest in upper case. */
  readonly upperHex?: boolean;
  /** Extra headers (a client token, say). */
  readonly headers?: Record<string, string>;
}

/** `sha256=<hex>` of `body` under `secret`. */
export async function signature(secret: string, body: Uint8Array<ArrayBuffer>): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, body));
  return `sha256=${Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** Posts one delivery to `<gatewayUrl>/webhooks/github`; the response and the delivery id. */
export async function sendDelivery(
  gatewayUrl: string,
  options: DeliveryOptions,
): Promise<{ response: Response; id: string }> {
  const id = options.id ?? crypto.randomUUID();
  const signed = options.payload instanceof Uint8Array
    ? new Uint8Array(options.payload)
    : new TextEncoder().encode(JSON.stringify(options.payload));
  const headers = new Headers({
    "content-type": "application/json",
    "user-agent": "GitHub-Hookshot/fake",
    "x-github-event": options.event,
    "x-github-delivery": id,
    ...options.headers,
  });
  if (options.secret !== null) {
    let value = await signature(options.secret, signed);
    if (options.upperHex) value = `sha256=${value.slice("sha256=".length).toUpperCase()}`;
    headers.set(options.signatureHeader ?? "X-Hub-Signature-256", value);
  }
  const body = options.tamper ? options.tamper(signed) : signed;
  const response = await fetch(`${gatewayUrl}/webhooks/github`, {
    method: "POST",
    headers,
    body: new Uint8Array(body),
  });
  return { response, id };
}
