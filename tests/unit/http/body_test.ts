import assert from "node:assert/strict";
import { prepareBody } from "../../../src/http/body.ts";

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
    const prepared = await prepareBody(request, 1000);
    assert.equal(prepared.replayable, true);
    assert.deepEqual(await read(prepared.body), data);
    assert.deepEqual(await read(prepared.body), data, "sent twice, same bytes");
  }
  const none = await prepareBody(new Request("http://gateway.test/x", { method: "POST" }));
  assert.deepEqual(none, { body: null, replayable: true });
});

Deno.test("bodies over the bound stream through whole, once, without retry", async () => {
  const data = bytes(5000);
  const streamed = await prepareBody(chunked(data, 300), 1000);
  assert.equal(streamed.replayable, false);
  assert.deepEqual(await read(streamed.body), data);

  const declared = new Request("http://gateway.test/x", {
    method: "POST",
    body: data,
    headers: { "content-length": String(data.length) },
  });
  const unread = await prepareBody(declared, 1000);
  assert.equal(unread.replayable, false);
  assert.ok(unread.body instanceof ReadableStream, "a declared large body is not read first");
  assert.deepEqual(await read(unread.body), data);
});
