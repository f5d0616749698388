/** docs/ARCHITECTURE.md's module table: every source module listed, every listed module there. */
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);

/** The paths in the first column of the `## Modules` table, in order. */
async function tableModules(): Promise<string[]> {
  const doc = await Deno.readTextFile(new URL("docs/ARCHITECTURE.md", ROOT));
  const section = doc.slice(doc.indexOf("| module", doc.indexOf("## Modules")));
  const table = section.slice(0, section.indexOf("\n\n"));
  const rows = table.split("\n").slice(2);
  assert.ok(rows.every((row) => !/^\|[\s|-]+\|$/.test(row)), "a separator row inside the table");
  return rows.flatMap((row) =>
    [...(row.split("|")[1] ?? "").matchAll(/`([^`]+)`/g)].map((match) => match[1])
  );
}

/** Every `.ts`/`.tsx` file under `src/`, relative to the repository. */
async function sourceModules(dir = "src"): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(new URL(`${dir}/`, ROOT))) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) found.push(...await sourceModules(path));
    else if (/\.tsx?$/.test(entry.name)) found.push(path);
  }
  return found;
}

Deno.test("ARCHITECTURE.md lists every src module once, only modules that exist, in folder order", async () => {
  const listed = await tableModules();
  const sources = await sourceModules();
  assert.deepEqual(sources.filter((path) => !listed.includes(path)), [], "missing from the table");
  const extra = [];
  for (const path of listed) {
    if (!await Deno.stat(new URL(path, ROOT)).then(() => true, () => false)) extra.push(path);
  }
  assert.deepEqual(extra, [], "listed but absent");
  assert.equal(new Set(listed).size, listed.length, "listed twice");
  const folder = (path: string) => path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
  const folders = listed.map(folder).filter((name, i, all) => i === 0 || all[i - 1] !== name);
  assert.deepEqual(
    folders,
    [...new Set(folders)].sort(),
    "rows grouped by folder, folders in order",
  );
});
