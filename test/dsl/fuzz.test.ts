/**
 * Seeded fuzzing: random text and random edits of valid pipelines must end in a CompiledPipeline
 * or a DslError whose position lies inside the text — never another exception, never a hang.
 * The seed is fixed so a failure is reproducible; the failing input is printed in the message.
 */
import { describe, expect, it } from 'vitest';
import { DslError, linearChain, parsePipeline } from '../../src/dsl/index.js';
import { lookup } from './registry.js';

/** mulberry32: small, fast, good enough to spread inputs; the same seed gives the same cases. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Syntax characters are over-represented: they are where the lexer and parser can go wrong. */
const PIECES = [
  '!', '!', '=', '=', '"', '"', "'", '\\', '\\\n', '$', '${', '}', ':-', '#', '.', ' ', ' ', '\n', '\t', '\r\n',
  'a', 'x', '1', '0', '-', '_', '/', 'é', '\u0000', '\uFEFF',
  'source-random', 'source-file', 'filter-zstd', 'filter-mux', 'dest-null', 'dest-file', 'dest-fiel',
  'path', 'level', 'length', 'seed', 'name', 'mux.', 'm.', '4MiB', '30s', '${V}', '${NOPE}', '${V:-1}',
];

const VALID = [
  'source-file path=/x ! dest-file path=/y',
  'source-random length=4MiB seed=1 ! filter-zstd level=19 workers=2 ! dest-null',
  '# c\nsource-random \\\n  length=1G\n  ! filter-process cmd="gzip -9 \\"x\\"" args=a,b timeout=1m30s\n  ! dest-null seed=${V}',
  'source-random name=a ! mux.\nsource-random name=b ! mux.\nfilter-mux name=mux block=64KiB ! dest-null',
  "source-file path='/a b' ! filter-tee name=t ! dest-null\nt. ! dest-file path=\"${V:-/y}\" fsync=yes",
];

const VARS = { V: '7', SPACED: 'a b' };

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)];
}

function garbage(r: () => number): string {
  const n = Math.floor(r() * 40);
  let s = '';
  for (let i = 0; i < n; i++) s += pick(r, PIECES);
  return s;
}

function mutate(r: () => number, text: string): string {
  let s = text;
  const edits = 1 + Math.floor(r() * 3);
  for (let k = 0; k < edits; k++) {
    const at = Math.floor(r() * (s.length + 1));
    const op = Math.floor(r() * 3);
    const cut = op === 0 ? 0 : 1 + Math.floor(r() * 3);
    s = s.slice(0, at) + (op === 1 ? '' : pick(r, PIECES)) + s.slice(at + cut);
  }
  return s;
}

/** Undefined for an acceptable outcome, else a description of what went wrong. */
function misbehaviour(text: string): string | undefined {
  try {
    const p = parsePipeline(text, { lookup, file: 'f.xfa', vars: VARS });
    if (p.chains.flat().some((e) => lookup.find(e.name) === undefined)) return 'compiled an unknown element';
    linearChain(p);
    return undefined;
  } catch (e) {
    if (!(e instanceof DslError)) return `threw ${String(e)}`;
    const lines = text.split('\n');
    if (e.line < 1 || e.line > lines.length) return `line ${e.line} outside the text`;
    if (e.col < 1 || e.col > lines[e.line - 1].length + 1) return `column ${e.col} outside line ${e.line}`;
    if (!e.format().split('\n')[2]?.includes('^')) return 'no caret in format()';
    return undefined;
  }
}

function run(cases: readonly string[]): { failures: string[]; slowest: number } {
  const failures: string[] = [];
  let slowest = 0;
  for (const text of cases) {
    const t0 = performance.now();
    const bad = misbehaviour(text);
    slowest = Math.max(slowest, performance.now() - t0);
    if (bad !== undefined) failures.push(`${JSON.stringify(text)}: ${bad}`);
  }
  return { failures, slowest };
}

describe('fuzz', () => {
  it('keeps the valid corpus valid (so mutations start from real pipelines)', () => {
    for (const text of VALID) expect(parsePipeline(text, { lookup, vars: VARS }).chains.length).toBeGreaterThan(0);
  });

  it('survives 1500 random strings', () => {
    const r = rng(0x5eed);
    const { failures, slowest } = run(Array.from({ length: 1500 }, () => garbage(r)));
    expect(failures.slice(0, 5)).toEqual([]);
    expect(slowest).toBeLessThan(250);
  }, 5000);

  it('survives 1500 random edits of valid pipelines', () => {
    const r = rng(0xfa11);
    const { failures, slowest } = run(Array.from({ length: 1500 }, () => mutate(r, pick(r, VALID))));
    expect(failures.slice(0, 5)).toEqual([]);
    expect(slowest).toBeLessThan(250);
  }, 5000);

  it('stays linear on long inputs', () => {
    const long = [
      `source-random ! ${'filter-tee ! '.repeat(20_000)}dest-null`,
      'a '.repeat(50_000),
      '!'.repeat(50_000),
      '"'.repeat(50_001),
      '${A:-'.repeat(20_000),
      `source-random ${'k=v '.repeat(20_000)}`,
      '#'.repeat(100_000),
      '\\\n'.repeat(50_000),
    ];
    const { failures, slowest } = run(long);
    expect(failures).toEqual([]);
    expect(slowest).toBeLessThan(1000);
  }, 10_000);
});
