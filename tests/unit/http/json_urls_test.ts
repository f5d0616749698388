/** URL rewriting in JSON text (DESIGN §5, §10): a table, then every chunk boundary of a stream. */
import assert from "node:assert/strict";
import { isJson, JsonUrlRewriter } from "../../../src/http/json_urls.ts";
import { urlMap } from "../../../src/http/links.ts";

const GW = "http://gw:8080/github";
const DOTCOM = urlMap(
  { api: "https://api.github.com", uploads: "https://uploads.github.com" },
  { api: GW, uploads: `${GW}/api/uploads` },
);
const GHES = urlMap(
  { api: "https://ghe.example/api/v3", uploads: "https://ghe.example/api/uploads" },
  { api: `${GW}/api/v3`, uploads: `${GW}/api/uploads` },
);
/** An upstream whose upload base lies under its REST base (the fake GitHub's layout). */
const NESTED = urlMap(
  { api: "http://127.0.0.1:9", uploads: "http://127.0.0.1:9/api/uploads" },
  { api: GW, uploads: `${GW}/api/uploads` },
);

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** JSON text from upstream → what the client gets. */
const TABLE: [label: string, map: typeof DOTCOM, input: string, expected: string][] = [
  [
    "url and *_url",
    DOTCOM,
    '{"url":"https://api.github.com/repos/o/r","forks_url":"https://api.github.com/repos/o/r/forks"}',
    `{"url":"${GW}/repos/o/r","forks_url":"${GW}/repos/o/r/forks"}`,
  ],
  [
    "templates",
    DOTCOM,
    '{"keys_url":"https://api.github.com/repos/o/r/keys{/key_id}"}',
    `{"keys_url":"${GW}/repos/o/r/keys{/key_id}"}`,
  ],
  [
    "upload URL template, never under /api/v3",
    DOTCOM,
    '{"upload_url":"https://uploads.github.com/repos/o/r/releases/1/assets{?name,label}"}',
    `{"upload_url":"${GW}/api/uploads/repos/o/r/releases/1/assets{?name,label}"}`,
  ],
  ["the bare base", DOTCOM, '["https://api.github.com"]', `["${GW}"]`],
  ["with a query", DOTCOM, '["https://api.github.com?x=1"]', `["${GW}?x=1"]`],
  [
    "web URLs stay",
    DOTCOM,
    '{"html_url":"https://github.com/o/r","clone_url":"https://github.com/o/r.git"}',
    '{"html_url":"https://github.com/o/r","clone_url":"https://github.com/o/r.git"}',
  ],
  [
    "a URL mid-string stays",
    DOTCOM,
    '{"body":"see https://api.github.com/repos/o/r"}',
    '{"body":"see https://api.github.com/repos/o/r"}',
  ],
  [
    "an escaped quote does not start a string",
    DOTCOM,
    '{"body":"say \\"https://api.github.com/x\\" here"}',
    '{"body":"say \\"https://api.github.com/x\\" here"}',
  ],
  [
    "an escaped backslash before a closing quote",
    DOTCOM,
    '["a\\\\","https://api.github.com/x"]',
    `["a\\\\","${GW}/x"]`,
  ],
  [
    "another host that starts alike",
    DOTCOM,
    '["https://api.github.com.evil.example/x","https://api.github.community/x"]',
    '["https://api.github.com.evil.example/x","https://api.github.community/x"]',
  ],
  [
    "GHES REST and uploads; its web URLs stay",
    GHES,
    '{"url":"https://ghe.example/api/v3/repos/o/r","upload_url":"https://ghe.example/api/uploads/repos/o/r/releases/1/assets{?name,label}","html_url":"https://ghe.example/o/r"}',
    `{"url":"${GW}/api/v3/repos/o/r","upload_url":"${GW}/api/uploads/repos/o/r/releases/1/assets{?name,label}","html_url":"https://ghe.example/o/r"}`,
  ],
  [
    "GHES /api/v30 is not /api/v3",
    GHES,
    '["https://ghe.example/api/v30/x"]',
    '["https://ghe.example/api/v30/x"]',
  ],
  [
    "nested bases: the longer wins",
    NESTED,
    '["http://127.0.0.1:9/repos","http://127.0.0.1:9/api/uploads/repos/a"]',
    `["${GW}/repos","${GW}/api/uploads/repos/a"]`,
  ],
  ["non-ASCII around", DOTCOM, '["é","https://api.github.com/ü"]', `["é","${GW}/ü"]`],
  ["nothing to rewrite", DOTCOM, '{"a":1}', '{"a":1}'],
  ["a truncated base at the end", DOTCOM, '["https://api.github.com', '["https://api.github.com'],
];

for (const [label, map, input, expected] of TABLE) {
  Deno.test(`rewrite: ${label}`, () => {
    assert.equal(decoder.decode(new JsonUrlRewriter(map).rewrite(encoder.encode(input))), expected);
  });

  Deno.test(`stream, split at every byte and byte by byte: ${label}`, async () => {
    const bytes = encoder.encode(input);
    const splits = [...Array(bytes.length + 1).keys()].map((at) => [
      bytes.subarray(0, at),
      bytes.subarray(at),
    ]);
    splits.push([...bytes].map((byte) => new Uint8Array([byte])));
    for (const chunks of splits) {
      const streamed = ReadableStream.from(chunks).pipeThrough(new JsonUrlRewriter(map).stream());
      assert.equal(await new Response(streamed).text(), expected, `chunks ${chunks.length}`);
    }
  });
}

Deno.test("a stream holds back only what could still become a URL", async () => {
  const rewriter = new JsonUrlRewriter(DOTCOM).stream();
  const writer = rewriter.writable.getWriter();
  const reader = rewriter.readable.getReader();
  writer.write(encoder.encode('{"name":"widget","url":"https://api.git'));
  assert.equal(decoder.decode((await reader.read()).value), '{"name":"widget","url":');
  writer.write(encoder.encode('hub.com/x","n":1'));
  assert.equal(decoder.decode((await reader.read()).value), `"${GW}/x","n":1`);
  writer.close();
  assert.equal((await reader.read()).done, true);
});

Deno.test("rewrite returns the very body when nothing changes", () => {
  const body = encoder.encode('{"html_url":"https://github.com/o/r"}');
  assert.equal(new JsonUrlRewriter(DOTCOM).rewrite(body), body);
});

Deno.test("isJson: application/json and +json media types only", () => {
  const cases: [string | null, boolean][] = [
    ["application/json; charset=utf-8", true],
    ["Application/JSON", true],
    ["application/vnd.github+json", true],
    ["application/vnd.github.v3+json; charset=utf-8", true],
    ["application/vnd.github.diff", false],
    ["text/plain", false],
    ["text/json+json", false],
    ["application/octet-stream", false],
    [null, false],
  ];
  for (const [type, expected] of cases) assert.equal(isJson(type), expected, String(type));
});
