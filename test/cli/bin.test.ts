/**
 * bin/xfa.js, the package's `bin`: with a compiled dist/ (what `npm install` leaves) it runs
 * that, with no TypeScript at run time. Built here into a scratch package that has no src/, so
 * only the dist/ path can work.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, scratch } from './helpers.js';

function makePackage(dir: string): void {
  mkdirSync(join(dir, 'bin'));
  copyFileSync(join(ROOT, 'bin', 'xfa.js'), join(dir, 'bin', 'xfa.js'));
  copyFileSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  symlinkSync(join(ROOT, 'build'), join(dir, 'build'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  const tsc = spawnSync(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', join(ROOT, 'tsconfig.json'), '--outDir', join(dir, 'dist')], { encoding: 'utf8' });
  expect(tsc.status, `${tsc.stdout}${tsc.stderr}`).toBe(0);
}

describe('bin/xfa.js', () => {
  it('runs the compiled dist/ when there is one', () => {
    const dir = scratch();
    makePackage(dir);
    const env = { ...process.env, XFA_FROM_SOURCE: '' };
    const version = spawnSync(process.execPath, [join(dir, 'bin', 'xfa.js'), '--version'], { env, encoding: 'utf8' });
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(version.stdout).toBe(`xfa ${pkg.version}\n`);
    const out = join(dir, 'out');
    const run = spawnSync(process.execPath, [join(dir, 'bin', 'xfa.js'), 'launch', `source-pattern length=5 pattern=ab ! dest-file path=${out}`], { env, encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe('ababa');
  });
});
