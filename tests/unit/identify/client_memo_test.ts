import assert from "node:assert/strict";
import { ClientMemo } from "../../../src/identify/client_memo.ts";
import { findClient } from "../../../src/identify/identify.ts";
import type { Registry } from "../../../src/registry/model.ts";
import { parseRegistry } from "../../../src/registry/parse.ts";

const parse = (yaml: string) => parseRegistry(yaml, "r.yaml", () => undefined);
const before = parse(`clients:
  - name: ci
    token: t-ci
  - name: bot
    token: t-bot
`);
/** A reload: `t-ci` removed, `t-bot` now another client's. */
const after = parse(`clients:
  - name: robot
    token: t-bot
`);

/** The memo over findClient, counting the lookups it could not answer itself. */
function counted(capacity?: number) {
  let lookups = 0;
  const memo = new ClientMemo((registry: Registry, token: string) => {
    lookups++;
    return findClient(registry, token);
  }, capacity);
  return { memo, lookups: () => lookups };
}

Deno.test("ClientMemo: a header seen before is answered without hashing the token again", () => {
  const { memo, lookups } = counted();
  assert.equal(memo.client(before, "token t-ci")?.name, "ci");
  assert.equal(memo.client(before, "token t-ci")?.name, "ci");
  assert.equal(memo.client(before, "Bearer t-ci")?.name, "ci");
  assert.equal(lookups(), 2);
});

Deno.test("ClientMemo: a reloaded registry forgets every remembered header", () => {
  const { memo } = counted();
  assert.equal(memo.client(before, "token t-ci")?.name, "ci");
  assert.equal(memo.client(before, "token t-bot")?.name, "bot");
  assert.equal(memo.client(after, "token t-ci"), undefined);
  assert.equal(memo.client(after, "token t-bot")?.name, "robot");
  assert.equal(memo.size, 1);
});

Deno.test("ClientMemo: unknown or missing tokens are never remembered", () => {
  const { memo, lookups } = counted();
  assert.equal(memo.client(before, undefined), undefined);
  assert.equal(memo.client(before, "token nope"), undefined);
  assert.equal(memo.client(before, "token nope"), undefined);
  assert.equal(memo.client(before, "Basic !!"), undefined);
  assert.equal(memo.size, 0);
  assert.equal(lookups(), 2);
});

Deno.test("ClientMemo: bounded, the oldest header dropped first", () => {
  const { memo, lookups } = counted(2);
  memo.client(before, "token t-ci");
  memo.client(before, "token t-bot");
  memo.client(before, "Bearer t-bot");
  assert.equal(memo.size, 2);
  memo.client(before, "Bearer t-bot");
  memo.client(before, "token t-bot");
  assert.equal(lookups(), 3);
  memo.client(before, "token t-ci");
  assert.equal(lookups(), 4);
});
