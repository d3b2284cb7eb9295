/**
 * The README's examples are run as written: every ```sh block, from the repository root with a
 * scratch TMPDIR, must exit 0; a ```text block right after it is its expected output (stdout and
 * stderr together), matched line by line, with "..." standing for anything (a line of its own:
 * any number of lines). Every ```xfa block must compile.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSpecs } from '../../src/index.js';
import { ROOT, scratch } from './helpers.js';

interface Block {
  lang: string;
  body: string;
  line: number;
}

/** Fenced blocks (```lang ... ```) with the line they start on. */
export function fencedBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const re = /^```(\w*)\n([\s\S]*?)^```$/gm;
  for (let m = re.exec(markdown); m; m = re.exec(markdown)) {
    blocks.push({ lang: m[1], body: m[2], line: markdown.slice(0, m.index).split('\n').length });
  }
  return blocks;
}

/** Consecutive sh + text blocks: the text is the sh block's expected output. */
function examples(blocks: readonly Block[]): Array<{ sh: Block; expected?: string }> {
  return blocks.flatMap((b, i) => {
    if (b.lang !== 'sh') return [];
    const next = blocks[i + 1];
    return [{ sh: b, expected: next?.lang === 'text' && next.line === b.line + b.body.split('\n').length + 1 ? next.body : undefined }];
  });
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The expected text as a regex: lines in order and adjacent; "..." is any text, alone any lines. */
export function expectedPattern(text: string): RegExp {
  const lines = text.replace(/\n$/, '').split('\n').map((line) =>
    line === '...' ? '(?:[^\\n]*\\n)*?' : `${line.split('...').map(escape).join('[^\\n]*')}\\n`);
  return new RegExp(`(?:^|\\n)${lines.join('')}`);
}

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const BLOCKS = fencedBlocks(README);

describe('README.md', () => {
  it('has runnable examples that use xfa, and the first one is a backup and restore of a directory', () => {
    const sh = examples(BLOCKS);
    expect(sh.length).toBeGreaterThanOrEqual(5);
    for (const { sh: b } of sh) expect(b.body, `block at line ${b.line}`).toContain('./bin/xfa.js');
    expect(sh[0].sh.body).toContain('pipelines/backup-dir.xfa');
    expect(sh[0].sh.body).toContain('pipelines/restore-dir.xfa');
  });

  it('matches expected output with "..." wildcards, and rejects output that differs', () => {
    const p = expectedPattern('a\n...\nc ... e\n');
    expect(p.test('x\na\nb\nb\nc d e\n')).toBe(true);
    expect(p.test('a\nc d\n')).toBe(false);
    expect(expectedPattern('a\nb\n').test('a\nx\nb\n')).toBe(false);
  });

  for (const { sh, expected } of examples(BLOCKS)) {
    it(`runs the sh example at line ${sh.line}`, () => {
      const tmp = scratch();
      const r = spawnSync('bash', ['-euo', 'pipefail', '-c', `exec 2>&1\n${sh.body}`], {
        cwd: ROOT,
        env: { ...process.env, TMPDIR: tmp, XFA_FROM_SOURCE: '1' },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(r.status, r.stdout).toBe(0);
      if (expected !== undefined) expect(r.stdout).toMatch(expectedPattern(expected));
    });
  }

  it('every xfa block compiles', () => {
    const xfa = BLOCKS.filter((b) => b.lang === 'xfa');
    expect(xfa.length).toBeGreaterThan(0);
    const vars = { SRC: '/src', DEST: '/dest' };
    for (const b of xfa) expect(() => parseSpecs(b.body, { vars, file: `README.md:${b.line}` })).not.toThrow();
  });
});
