import assert from "node:assert/strict";
import { SignatureVerifier } from "../../../src/webhooks/signature.ts";
import { signature } from "../../support/webhook_sender.ts";

const body = new TextEncoder().encode('{"zen":"Keep it logically awesome."}');

Deno.test("signature: valid under either secret of a rotation, upper- or lower-case hex", async () => {
  const verifier = await SignatureVerifier.of(["old-secret", "new-secret"]);
  for (const secret of ["old-secret", "new-secret"]) {
    const signed = await signature(secret, body);
    assert.equal(await verifier.verify(body, signed), true, secret);
    const upper = `sha256=${signed.slice(7).toUpperCase()}`;
    assert.equal(await verifier.verify(body, upper), true, `${secret} upper-case`);
  }
});

Deno.test("signature: wrong secret, missing, malformed or a body altered by one byte are refused", async () => {
  const verifier = await SignatureVerifier.of(["old-secret", "new-secret"]);
  const signed = await signature("new-secret", body);
  const altered = new Uint8Array(body);
  altered[5] ^= 1;
  const cases: [Uint8Array<ArrayBuffer>, string | null, string][] = [
    [body, await signature("other", body), "another secret"],
    [body, null, "missing"],
    [body, "", "empty"],
    [body, signed.slice(7), "no sha256= prefix"],
    [body, `sha1=${signed.slice(7)}`, "sha1"],
    [body, `${signed}00`, "too long"],
    [altered, signed, "altered body"],
  ];
  for (const [data, header, name] of cases) {
    assert.equal(await verifier.verify(data, header), false, name);
  }
});
