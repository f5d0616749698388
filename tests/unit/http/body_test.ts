import assert from "node:assert/strict";
import { readUpTo } from "../../../src/http/body.ts";

const bytes = (n: number) => new Uint8Array(n).map((_, i) => i % 251);

function chunked(data: Uint8Array, chunk: number): Request {
  let offset = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= data.length) return controller.close();
      controller.enqueue(data.slice(offset, offset + chunk));
      offset += chunk;
    },
  });
  return new Request("http://gateway.test/x", { method: "POST", body });
}

async function read(body: BodyInit | null): Promise<Uint8Array> {
  return new Uint8Array(await new Response(body).arrayBuffer());
}

Deno.test("bodies within the bound are buffered and replayable", async () => {
  const data = bytes(1000);
  for (
    const request of [
      chunked(data, 64),
      new Request("http://gateway.test/x", { method: "POST", body: data }),
    ]
  ) {
    const prepared = await readUpTo(request, 1000);
    assert.ok(prepared instanceof Uint8Array);
    assert.deepEqual(await read(prepared), data);
    assert.deepEqual(await read(prepared), data, "sent twice, same bytes");
  }
  const none = await readUpTo(new Request("http://gateway.test/x", { method: "POST" }), 1000);
  assert.deepEqual(none, new Uint8Array());
});

Deno.test("bodies over the bound stream through whole, once, without retry", async () => {
  const data = bytes(5000);
  const streamed = await readUpTo(chunked(data, 300), 1000);
  assert.ok(streamed instanceof ReadableStream);
  assert.deepEqual(await read(streamed), data);

  const declared = new Request("http://gateway.test/x", {
    method: "POST",
    body: data,
    headers: { "content-length": String(data.length) },
  });
  const unread = await readUpTo(declared, 1000);
  assert.ok(unread instanceof ReadableStream, "a declared large body is not read first");
  assert.deepEqual(await read(unread), data);
});

Deno.test("response bodies: bytes under the cap, the whole body as a stream over it", async () => {
  const chunks = (parts: string[]) =>
    new Response(ReadableStream.from(parts.map((part) => new TextEncoder().encode(part))));
  const small = await readUpTo(chunks(["ab", "cd"]), 10);
  assert.ok(small instanceof Uint8Array);
  assert.equal(new TextDecoder().decode(small), "abcd");
  const large = await readUpTo(chunks(["abcd", "efgh", "ij"]), 5);
  assert.ok(large instanceof ReadableStream);
  assert.equal(await new Response(large).text(), "abcdefghij");
  const declared = await readUpTo(
    new Response("0123456789", { headers: { "content-length": "10" } }),
    5,
  );
  assert.ok(declared instanceof ReadableStream);
  await declared.cancel();
  const empty = await readUpTo(new Response(null), 5);
  assert.ok(empty instanceof Uint8Array);
  assert.equal(empty.length, 0);
});
