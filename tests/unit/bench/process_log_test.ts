import assert from "node:assert/strict";
import { LOG_TAIL_LINES, spawnServer } from "../../support/process.ts";

// A stand-in server: says it listens, logs 500 lines, then waits to be stopped.
const CHATTY = `
console.error(JSON.stringify({ msg: "listening", address: "127.0.0.1:1" }));
for (let n = 0; n < 500; n++) console.error(JSON.stringify({ msg: "request", n }));
console.error("last words");
setInterval(() => {}, 1000);
`;

Deno.test("spawnServer with logFile: the whole stderr in the file, the last lines in logs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "process-log-" });
  try {
    const file = `${dir}/server.log`;
    const server = await spawnServer(["eval", CHATTY], {}, { logFile: file });
    await server.waitForLog(/^last words$/);
    await server.stop();
    const lines = (await Deno.readTextFile(file)).trimEnd().split("\n");
    assert.equal(lines.length, 502);
    assert.equal(JSON.parse(lines[0]).msg, "listening");
    assert.equal(server.logs.length, LOG_TAIL_LINES);
    assert.equal(server.logs.at(-1), "last words");
    assert.equal(server.logs[0], lines[502 - LOG_TAIL_LINES]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
