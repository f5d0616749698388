import assert from "node:assert/strict";
import { idleBounded } from "../../../src/http/idle_stream.ts";
import { UpstreamError } from "../../../src/http/upstream.ts";

Deno.test("idleBounded: passes a body through; cuts a quiet one off and cancels it", async () => {
  const encode = (text: string) => new TextEncoder().encode(text);
  const whole = idleBounded(ReadableStream.from([encode("ab"), encode("cd")]), 1000);
  assert.equal(await new Response(whole).text(), "abcd");
  let cancelled: unknown;
  const quiet = new ReadableStream<Uint8Array>({
    start: (controller) => controller.enqueue(encode("first")),
    cancel: (reason) => {
      cancelled = reason;
    },
  });
  const reader = idleBounded(quiet, 20).getReader();
  assert.equal(new TextDecoder().decode((await reader.read()).value), "first");
  await assert.rejects(reader.read(), (error) => {
    assert.ok(error instanceof UpstreamError);
    assert.equal(error.failure, "timeout");
    return true;
  });
  assert.ok(cancelled instanceof UpstreamError);
});

Deno.test("idleBounded: time the reader spends not reading is not quiet", async () => {
  let clock = 0;
  const parts = ["a", "b"].map((part) => new TextEncoder().encode(part));
  const reader = idleBounded(ReadableStream.from(parts), 20, () => clock).getReader();
  assert.equal((await reader.read()).done, false);
  clock += 1000;
  await new Promise((resolve) => setTimeout(resolve, 40));
  assert.equal((await reader.read()).done, false);
  assert.equal((await reader.read()).done, true);
});
