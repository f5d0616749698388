/**
 * Prints `N passed, N failed` (and `, N skipped`) from a JUnit XML report of `deno test`,
 * after one `FAILED <file> > <test>` line per failed test case so that a CI log's tail names
 * them; exits non-zero when a test failed or none ran.
 *
 *   deno run --allow-read scripts/junit_summary.ts junit.xml
 */

export interface Summary {
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
  /** `<file> > <test>` of each failed test case, in report order. */
  readonly failures: readonly string[];
}

const XML_ENTITIES: Record<string, string> = {
  "&lt;": "<",
  "&gt;": ">",
  "&quot;": '"',
  "&apos;": "'",
  "&amp;": "&",
};

function attribute(tag: string, name: string): string {
  const value = tag.match(new RegExp(`\\b${name}="([^"]*)"`))?.[1] ?? "";
  return value.replace(/&(?:lt|gt|quot|apos|amp);/g, (entity) => XML_ENTITIES[entity]);
}

export function summarise(xml: string): Summary {
  let passed = 0;
  let skipped = 0;
  const failures: string[] = [];
  for (const [testcase] of xml.matchAll(/<testcase\b[^>]*?(?:\/>|>[\s\S]*?<\/testcase>)/g)) {
    if (/<(failure|error)\b/.test(testcase)) {
      const open = testcase.slice(0, testcase.indexOf(">") + 1);
      failures.push(`${attribute(open, "classname")} > ${attribute(open, "name")}`);
    } else if (/<skipped\b/.test(testcase)) skipped++;
    else passed++;
  }
  return { passed, failed: failures.length, skipped, failures };
}

export function summaryLine({ passed, failed, skipped }: Summary): string {
  return `${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ""}`;
}

if (import.meta.main) {
  let summary: Summary;
  try {
    summary = summarise(await Deno.readTextFile(Deno.args[0]));
  } catch (error) {
    console.error(`no JUnit report: ${(error as Error).message}`);
    summary = { passed: 0, failed: 1, skipped: 0, failures: [] };
  }
  for (const failure of summary.failures) console.log(`FAILED ${failure}`);
  console.log(summaryLine(summary));
  Deno.exit(summary.failed > 0 || summary.passed === 0 ? 1 : 0);
}
