/**
 * The YAML examples in README.md and docs/*.md are registries a reader pastes: each must load.
 * Rule: a fence opened with exactly "```yaml" is a client registry; any YAML fence (also
 * "```yaml <something>") must sit under a `<!-- deno-fmt-ignore -->` line, because `deno fmt`
 * rewrites `{{ env.NAME }}` into `{ { env.NAME } }`, which no longer loads.
 */
import assert from "node:assert/strict";
import { parseRegistry } from "../../src/registry/parse.ts";

const ROOT = new URL("../../", import.meta.url);
const FMT_IGNORE = "<!-- deno-fmt-ignore -->";

interface YamlBlock {
  readonly file: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly registry: boolean;
  readonly ignoredByFmt: boolean;
  readonly text: string;
}

/** Every fenced block whose language is `yaml` or `yml`, with what precedes it. */
function yamlBlocks(file: string, markdown: string): YamlBlock[] {
  const lines = markdown.split("\n");
  const blocks: YamlBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,})\s*(\S*)(.*)$/.exec(lines[i]);
    if (!open) continue;
    const [, fence, language, rest] = open;
    const end = lines.findIndex((text, j) => j > i && text.trim() === fence);
    assert.ok(end > i, `${file}:${i + 1}: unclosed code fence`);
    if (/^ya?ml$/i.test(language)) {
      let previous = i - 1;
      while (previous >= 0 && lines[previous].trim() === "") previous--;
      blocks.push({
        file,
        line: i + 1,
        registry: language === "yaml" && rest.trim() === "",
        ignoredByFmt: previous >= 0 && lines[previous].trim() === FMT_IGNORE,
        text: lines.slice(i + 1, end).join("\n"),
      });
    }
    i = end;
  }
  return blocks;
}

async function documentationBlocks(): Promise<YamlBlock[]> {
  const files = ["README.md"];
  for await (const entry of Deno.readDir(new URL("docs/", ROOT))) {
    if (entry.isFile && entry.name.endsWith(".md")) files.push(`docs/${entry.name}`);
  }
  const blocks: YamlBlock[] = [];
  for (const file of files.sort()) {
    blocks.push(...yamlBlocks(file, await Deno.readTextFile(new URL(file, ROOT))));
  }
  return blocks;
}

/** A distinct value per variable, so clients reading different variables get different tokens. */
const dummyEnv = (name: string) => `dummy-${name.toLowerCase()}`;

Deno.test("every registry example in README.md and docs/ loads with its variables set", async () => {
  const registries = (await documentationBlocks()).filter((block) => block.registry);
  assert.ok(registries.length >= 3, `expected the README's and docs' registry examples`);
  for (const block of registries) {
    const where = `${block.file} (the YAML block at line ${block.line})`;
    const registry = parseRegistry(block.text, where, dummyEnv);
    assert.ok(registry.clients.length > 0, `${where}: the example has no client`);
  }
});

Deno.test("every YAML example is out of deno fmt's reach", async () => {
  for (const block of await documentationBlocks()) {
    assert.ok(
      block.ignoredByFmt,
      `${block.file}:${block.line}: put "${FMT_IGNORE}" on the line before this YAML block`,
    );
    assert.doesNotMatch(block.text, /\{ \{/, `${block.file}:${block.line}: a mangled {{ … }}`);
  }
});

Deno.test("a YAML block without the ignore line is found, as is a non-registry one", () => {
  const markdown = [
    "```yaml",
    "clients: []",
    "```",
    FMT_IGNORE,
    "```yaml compose",
    "services: {}",
    "```",
    "```sh",
    "```yaml inside a shell block is not a fence",
    "```",
  ].join("\n");
  const blocks = yamlBlocks("t.md", markdown);
  assert.deepEqual(
    blocks.map(({ line, registry, ignoredByFmt }) => ({ line, registry, ignoredByFmt })),
    [{ line: 1, registry: true, ignoredByFmt: false }, {
      line: 5,
      registry: false,
      ignoredByFmt: true,
    }],
  );
});
