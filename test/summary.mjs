// Prints the suite's closing line in the plain "N passed, N failed" form from vitest's JSON
// report, so any CI log reader can tell how many tests ran.
import { readFileSync } from 'node:fs';

const file = process.argv[2] ?? '.cache/vitest-report.json';
try {
  const r = JSON.parse(readFileSync(file, 'utf8'));
  const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
} catch (err) {
  console.log(`tests: no report at ${file} (${err.message})`);
  process.exitCode = 1;
}
