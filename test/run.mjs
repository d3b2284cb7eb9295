#!/usr/bin/env node
// `npm test`: runs vitest (extra arguments pass through) and closes with the line CI counts:
//   Tests: N passed, N failed
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';

const report = '.vitest.json';
rmSync(report, { force: true });
const r = spawnSync(
  process.execPath,
  ['node_modules/vitest/vitest.mjs', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`,
    ...process.argv.slice(2)],
  { stdio: 'inherit', env: { ...process.env, NO_COLOR: '1' } },
);
let passed = 0;
let failed = 0;
if (existsSync(report)) {
  const j = JSON.parse(readFileSync(report, 'utf8'));
  passed = j.numPassedTests;
  failed = j.numFailedTests + (j.numRuntimeErrorTestSuites ?? 0);
  // A test file that failed to load counts as a failure too.
  failed += (j.testResults ?? []).filter((f) => f.status === 'failed' && (f.assertionResults ?? []).length === 0).length;
} else {
  failed = 1;
}
console.log(`Tests: ${passed} passed, ${failed} failed`);
process.exit(r.status === 0 && failed === 0 ? 0 : 1);
