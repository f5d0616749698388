/**
 * SHA-256 and the helpers around it, the one place the gateway hashes: token identification,
 * body digests, App key fingerprints and GitHub ETag computation.
 */
import { Buffer } from "node:buffer";
import { createHash, timingSafeEqual as nodeTimingSafeEqual } from "node:crypto";

/** The SHA-256 of `parts` written one after the other, as bytes. */
export function sha256(...parts: readonly (string | Uint8Array)[]): Uint8Array {
  return new Uint8Array(hashOf(parts).digest());
}

/** The SHA-256 of `parts` written one after the other, as lower-case hex. */
export function sha256Hex(...parts: readonly (string | Uint8Array)[]): string {
  return hashOf(parts).digest("hex");
}

function hashOf(parts: readonly (string | Uint8Array)[]) {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part);
  return hash;
}

/** `bytes` as lower-case hex, by the runtime's native encoder (no per-byte strings). */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

export function fromHex(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}

/** Equal bytes, compared in a time that does not depend on where they differ. */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && nodeTimingSafeEqual(a, b);
}
