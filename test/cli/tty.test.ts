/**
 * On a terminal (a real pty from util-linux `script`): progress redrawn in place, and the
 * one-line summary; neither appears when stdout is a pipe (cli.test.ts).
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { shellQuote } from '../../src/cli/format.js';
import { BIN, ROOT } from './helpers.js';

function hasScript(): boolean {
  return spawnSync('script', ['--version']).status === 0;
}

/** Runs a shell command line on a pseudo-terminal; returns what the terminal received. */
function onTty(command: string): { status: number | null; output: string } {
  if (!hasScript()) throw new Error('these tests need `script` from util-linux: apt-get install bsdutils');
  const r = spawnSync('script', ['-qec', command, '/dev/null'], {
    cwd: ROOT,
    env: { ...process.env, XFA_FROM_SOURCE: '1', COLUMNS: '100' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, output: r.stdout };
}

const xfaCmd = (...args: string[]): string => ['node', BIN, ...args].map(shellQuote).join(' ');

describe('on a terminal', () => {
  it('prints a one-line summary with bytes, time and rate after success', () => {
    const { status, output } = onTty(`${xfaCmd('launch', 'source-random length=32MiB seed=2 ! dest-null seed=2')} 2>/dev/null`);
    expect(status).toBe(0);
    expect(output).toMatch(/xfa: done: 32\.0 MiB in \d+\.\d+ s \([\d.]+ [KMGT]?i?B\/s\)\r?\n/);
  });

  it('redraws a progress line with size, percentage, rate and ETA, and Ctrl-C cancels', () => {
    const cmd = `timeout --preserve-status -s INT 4 ${xfaCmd('launch', 'source-random length=1TiB seed=2 ! filter-crc ! dest-null')}; echo "status=$?"`;
    const { output } = onTty(cmd);
    expect(output).toMatch(/\r[\d.]+ [KMGT]?i?B \/ 1\.0 TiB {2}\d+% {2}[\d.]+ [KMGT]?i?B\/s {2}ETA [\d:]+\x1b\[K/);
    expect(output).toContain('xfa: transfer cancelled (SIGINT)');
    expect(output).toContain('status=130');
    expect(output).not.toContain('xfa: done');
  });

  it('shows one progress line per element with --verbose, and --quiet shows nothing', () => {
    const verbose = onTty(`timeout --preserve-status -s INT 4 ${xfaCmd('launch', '-v', 'source-random length=0 seed=2 ! filter-crc ! dest-null')} 2>/dev/null`);
    for (const elt of ['source-random#1', 'filter-crc#2', 'dest-null#3']) {
      expect(verbose.output).toMatch(new RegExp(`\\n {2}${elt} +in [\\d.]+ [KMGT]?i?B +out [\\d.]+ [KMGT]?i?B +[\\d.]+ [KMGT]?i?B/s\\x1b\\[K`));
    }
    const quiet = onTty(`${xfaCmd('launch', '-q', 'source-random length=32MiB seed=2 ! dest-null')} 2>/dev/null; echo "status=$?"`);
    expect(quiet.output.trim()).toBe('status=0');
  });

  it('is quiet when stdout is redirected, even from a terminal', () => {
    const { output } = onTty(`${xfaCmd('launch', 'source-random length=32MiB seed=2 ! dest-null')} | cat; echo done`);
    expect(output.replace(/\r/g, '').trim()).toBe('done');
  });
});
