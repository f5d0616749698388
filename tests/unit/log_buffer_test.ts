import assert from "node:assert/strict";
import { LogBuffer, type LogOutput } from "../../src/log_buffer.ts";

const decoder = new TextDecoder();

/** An output that records each write and, when `slow`, finishes a write only when told. */
function recorder(options: { slow?: boolean; partial?: number } = {}) {
  const writes: string[] = [];
  const release: (() => void)[] = [];
  const output: LogOutput = {
    write(bytes) {
      const n = Math.min(bytes.length, options.partial ?? bytes.length);
      writes.push(decoder.decode(bytes.subarray(0, n)));
      if (!options.slow) return Promise.resolve(n);
      return new Promise((resolve) => release.push(() => resolve(n)));
    },
    writeSync(bytes) {
      writes.push(decoder.decode(bytes));
      return bytes.length;
    },
  };
  return { output, writes, release };
}

Deno.test("lines logged together leave in one write, in order, each whole", async () => {
  const { output, writes } = recorder();
  const buffer = new LogBuffer(output, { flushMs: 1 });
  buffer.write("one");
  buffer.write("two");
  buffer.write("three");
  assert.deepEqual(writes, [], "nothing is written synchronously");
  await buffer.flush();
  assert.deepEqual(writes, ["one\ntwo\nthree\n"]);
});

Deno.test("the timer writes a batch without a flush", async () => {
  const { output, writes } = recorder();
  const buffer = new LogBuffer(output, { flushMs: 1 });
  buffer.write("soon");
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.deepEqual(writes, ["soon\n"]);
  await buffer.flush();
});

Deno.test("a partial write is continued, so no line is cut", async () => {
  const { output, writes } = recorder({ partial: 4 });
  const buffer = new LogBuffer(output, { flushMs: 1 });
  buffer.write("abcdef");
  buffer.write("gh");
  await buffer.flush();
  assert.equal(writes.join(""), "abcdef\ngh\n");
});

Deno.test("a full buffer drops lines and counts them instead of blocking; the count is logged", async () => {
  const { output, writes, release } = recorder({ slow: true });
  const buffer = new LogBuffer(output, {
    flushMs: 1,
    maxChars: 20,
    droppedLine: (count) => `dropped ${count}`,
  });
  buffer.write("first");
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(writes, ["first\n"], "the first batch is in flight");
  // The in-flight write has not finished: these wait, up to 20 characters, the rest is dropped.
  for (const line of ["aaaa", "bbbb", "cccc", "dddd", "eeee", "ffff"]) buffer.write(line);
  assert.equal(buffer.dropped, 2);
  const flushed = buffer.flush();
  release.shift()!();
  await new Promise((resolve) => setTimeout(resolve, 0));
  release.shift()!();
  await flushed;
  assert.deepEqual(writes, ["first\n", "dropped 2\naaaa\nbbbb\ncccc\ndddd\n"]);
  assert.equal(buffer.dropped, 0);
});

Deno.test("flushSync writes what is buffered at once", () => {
  const { output, writes } = recorder();
  const buffer = new LogBuffer(output, { flushMs: 1_000 });
  buffer.write("last words");
  buffer.flushSync();
  assert.deepEqual(writes, ["last words\n"]);
});

Deno.test("a closed output loses the lines without throwing", async () => {
  const buffer = new LogBuffer({
    write: () => Promise.reject(new Deno.errors.BrokenPipe("gone")),
    writeSync: () => {
      throw new Deno.errors.BrokenPipe("gone");
    },
  }, { flushMs: 1 });
  buffer.write("into the void");
  await buffer.flush();
  buffer.write("again");
  buffer.flushSync();
});
