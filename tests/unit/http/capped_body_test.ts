import assert from "node:assert/strict";
import { readCapped } from "../../../src/http/capped_body.ts";

Deno.test("readCapped: bytes under the cap, the whole body as a stream over it", async () => {
  const chunked = (parts: string[]) =>
    new Response(ReadableStream.from(parts.map((part) => new TextEncoder().encode(part))));
  const small = await readCapped(chunked(["ab", "cd"]), 10);
  assert.equal(small.kind, "bytes");
  assert.equal(small.kind === "bytes" && new TextDecoder().decode(small.bytes), "abcd");
  const large = await readCapped(chunked(["abcd", "efgh", "ij"]), 5);
  assert.equal(large.kind, "stream");
  assert.equal(
    large.kind === "stream" && await new Response(large.stream).text(),
    "abcdefghij",
  );
  const declared = await readCapped(
    new Response("0123456789", { headers: { "content-length": "10" } }),
    5,
  );
  assert.equal(declared.kind, "stream");
  if (declared.kind === "stream") await declared.stream.cancel();
  const empty = await readCapped(new Response(null), 5);
  assert.equal(empty.kind === "bytes" && empty.bytes.length, 0);
});
