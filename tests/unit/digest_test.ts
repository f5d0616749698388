import assert from "node:assert/strict";
import { fromHex, sha256, sha256Hex, toHex } from "../../src/digest.ts";

Deno.test("toHex: every byte as two lower-case digits, for a view into a larger buffer too", () => {
  const bytes = new Uint8Array([0xff, 0x00, 0x0a, 0xb0, 0x01, 0x7f]);
  assert.equal(toHex(bytes), "ff000ab0017f");
  assert.equal(toHex(bytes.subarray(2, 5)), "0ab001");
  assert.equal(toHex(new Uint8Array()), "");
  assert.deepEqual(fromHex(toHex(bytes)), bytes);
});

Deno.test("sha256: the standard digest, as bytes and as hex, over its parts in order", () => {
  const abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  assert.equal(sha256Hex("abc"), abc);
  assert.equal(sha256Hex("a", new TextEncoder().encode("b"), "c"), abc);
  assert.equal(toHex(sha256("abc")), abc);
});
