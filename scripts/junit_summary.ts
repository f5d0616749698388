/**
 * Prints `N passed, N failed` (and `, N skipped`) from a JUnit XML report of `deno test`;
 * exits non-zero when a test failed or none ran.
 *
 *   deno run --allow-read scripts/junit_summary.ts junit.xml
 */

export interface Summary {
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
}

export function summarise(xml: string): Summary {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const [testcase] of xml.matchAll(/<testcase\b[^>]*?(?:\/>|>[\s\S]*?<\/testcase>)/g)) {
    if (/<(failure|error)\b/.test(testcase)) failed++;
    else if (/<skipped\b/.test(testcase)) skipped++;
    else passed++;
  }
  return { passed, failed, skipped };
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
    summary = { passed: 0, failed: 1, skipped: 0 };
  }
  console.log(summaryLine(summary));
  Deno.exit(summary.failed > 0 || summary.passed === 0 ? 1 : 0);
}
