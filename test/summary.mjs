// Prints the suite's closing line in the plain "N passed, N failed" form, summed over vitest's
// JSON reports (main run and the fault subset), so any CI log reader can tell what ran and what failed.
import { readFileSync } from 'node:fs';

const files = process.argv.slice(2);
let passed = 0;
let failed = 0;
let skipped = 0;
const failures = [];
for (const file of files.length ? files : ['.cache/vitest-report.json']) {
  try {
    const r = JSON.parse(readFileSync(file, 'utf8'));
    passed += r.numPassedTests;
    failed += r.numFailedTests;
    skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
    for (const f of r.testResults ?? []) {
      for (const t of f.assertionResults ?? []) {
        if (t.status !== 'failed') continue;
        const why = String(t.failureMessages?.[0] ?? '').split('\n')[0].slice(0, 300);
        failures.push(`${file.replace(/^.*vitest-|\.json$/g, '')}: ${f.name.replace(process.cwd() + '/', '')} > ${t.fullName}\n    ${why}`);
      }
    }
  } catch (err) {
    console.log(`tests: no report at ${file} (${err.message})`);
    failed += 1;
  }
}
// The failures are repeated here, last, because a CI log is often read from its tail only.
for (const f of failures) console.log(`FAILED ${f}`);
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
