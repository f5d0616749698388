/**
 * `X-Hub-Signature-256` (DESIGN §12): `sha256=<hex>` of the HMAC-SHA256 of the raw body under
 * the webhook secret. Several secrets are accepted at once so a secret can be rotated: set
 * `old,new`, change it at GitHub, then drop `old`. Every secret is tried and the results are
 * compared in constant time, so the time taken says nothing about how close a forgery came.
 */
import { fromHex, timingSafeEqual } from "../digest.ts";

const SIGNATURE = /^sha256=([0-9a-f]{64})$/i;

/** Checks deliveries' signatures against a fixed set of secrets. */
export class SignatureVerifier {
  private constructor(private readonly keys: readonly CryptoKey[]) {}

  /** A verifier for `secrets` (each non-empty); the keys are imported once. */
  static async of(secrets: readonly string[]): Promise<SignatureVerifier> {
    const encoder = new TextEncoder();
    const keys = await Promise.all(secrets.map((secret) =>
      crypto.subtle.importKey(
        "raw",
        encoder.encode(secret),
        { name: "HMAC", hash: "SHA-256" },
        false,
        ["sign"],
      )
    ));
    return new SignatureVerifier(keys);
  }

  /** Whether `header` is the body's signature under one of the secrets; false when absent. */
  async verify(body: Uint8Array<ArrayBuffer>, header: string | null): Promise<boolean> {
    const hex = SIGNATURE.exec(header?.trim() ?? "")?.[1];
    if (hex === undefined) return false;
    const claimed = fromHex(hex);
    let valid = false;
    for (const key of this.keys) {
      const expected = new Uint8Array(await crypto.subtle.sign("HMAC", key, body));
      // No early exit: every secret costs the same whether or not an earlier one matched.
      valid = timingSafeEqual(expected, claimed) || valid;
    }
    return valid;
  }
}
