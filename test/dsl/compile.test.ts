import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DslError, compile, linearChain, parse, parsePipeline } from '../../src/dsl/index.js';
import { lookup } from './registry.js';

const FIXTURES = new URL('../fixtures/dsl/', import.meta.url);

function fixture(name: string): string {
  return readFileSync(new URL(name, FIXTURES), 'utf8');
}

function formatError(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof DslError) return e.format();
    throw e;
  }
  return '(no error)';
}

describe('compile', () => {
  it('resolves a linear chain and converts every value by its type', () => {
    const p = parsePipeline(
      'source-random length=4MiB seed=1_000 ! filter-process cmd=cat args=a,b timeout=90 ! dest-file path=/y fsync=on',
      { lookup },
    );
    expect(p.links).toEqual([]);
    expect(p.chains).toEqual([[
      { name: 'source-random', label: 'source-random#1', props: { length: 4194304, seed: 1000 }, pos: { line: 1, col: 1 } },
      {
        name: 'filter-process',
        label: 'filter-process#2',
        props: { cmd: 'cat', args: ['a', 'b'], timeout: 90_000 },
        pos: { line: 1, col: 40 },
      },
      { name: 'dest-file', label: 'dest-file#3', props: { path: '/y', fsync: true }, pos: { line: 1, col: 85 } },
    ]]);
  });

  it('leaves defaults to the engine', () => {
    const [chain] = parsePipeline('source-random ! filter-zstd ! dest-null', { lookup }).chains;
    expect(chain.map((e) => e.props)).toEqual([{}, {}, {}]);
  });

  it('labels a named element by its name and keeps name= out of the properties', () => {
    const [chain] = parsePipeline('source-random ! filter-zstd name=fast level=1 ! dest-null', { lookup }).chains;
    expect(chain[1]).toMatchObject({ name: 'filter-zstd', label: 'fast', instance: 'fast', props: { level: 1 } });
  });

  it('puts the file in every position', () => {
    const [chain] = parsePipeline('source-random\n ! dest-null', { lookup, file: 'a.xfa' }).chains;
    expect(chain.map((e) => e.pos)).toEqual([
      { file: 'a.xfa', line: 1, col: 1 },
      { file: 'a.xfa', line: 2, col: 4 },
    ]);
  });

  it('is the same as parse followed by compile', () => {
    const text = 'source-random seed=${S} ! dest-null';
    const vars = { S: '5' };
    expect(compile(parse(text, { vars }), lookup)).toEqual(parsePipeline(text, { lookup, vars }));
  });
});

describe('references', () => {
  it('joins several chains into a multi-input element', () => {
    const p = parsePipeline(fixture('mux.xfa'), { lookup, file: 'mux.xfa' });
    expect(p.chains.map((c) => c.map((e) => e.label))).toEqual([
      ['source-random#1'],
      ['source-random#2'],
      ['mux', 'dest-null#4'],
    ]);
    expect(p.chains[2][0].props).toEqual({ block: 262144 });
    expect(p.links.map(({ from, to }) => ({ from, to }))).toEqual([
      { from: { chain: 0, index: 0 }, to: { chain: 2, index: 0 } },
      { from: { chain: 1, index: 0 }, to: { chain: 2, index: 0 } },
    ]);
    expect(p.links[0].pos).toEqual({ file: 'mux.xfa', line: 2, col: 36 });
  });

  it('resolves a reference used before its element is defined', () => {
    const p = parsePipeline('m. ! dest-null\nsource-random ! filter-mux name=m ! dest-file path=/y', { lookup });
    expect(p.chains.map((c) => c.map((e) => e.name))).toEqual([
      ['dest-null'],
      ['source-random', 'filter-mux', 'dest-file'],
    ]);
    expect(p.links.map(({ from, to }) => ({ from, to }))).toEqual([
      { from: { chain: 1, index: 1 }, to: { chain: 0, index: 0 } },
    ]);
  });

  it('splits a chain at a reference in its middle, linking both ways', () => {
    const p = parsePipeline('source-random ! t. ! dest-null\nsource-file path=/x ! filter-tee name=t ! dest-file path=/y', { lookup });
    expect(p.chains.map((c) => c.map((e) => e.name))).toEqual([
      ['source-random'],
      ['dest-null'],
      ['source-file', 'filter-tee', 'dest-file'],
    ]);
    expect(p.links.map(({ from, to }) => ({ from, to }))).toEqual([
      { from: { chain: 0, index: 0 }, to: { chain: 2, index: 1 } },
      { from: { chain: 2, index: 1 }, to: { chain: 1, index: 0 } },
    ]);
  });
});

describe('linearChain', () => {
  it('returns the only chain of a plain pipeline', () => {
    const p = parsePipeline('source-random ! dest-null', { lookup });
    expect(linearChain(p).map((e) => e.name)).toEqual(['source-random', 'dest-null']);
  });

  it('refuses a graph, pointing at the first reference', () => {
    const p = parsePipeline(fixture('mux.xfa'), { lookup, file: 'mux.xfa' });
    expect(formatError(() => linearChain(p))).toBe([
      'mux.xfa:2:36: error: this pipeline joins 3 chains with references; only a single linear chain can run yet',
      '  source-random length=1MiB seed=1 ! mux.',
      '                                     ^',
    ].join('\n'));
  });
});

describe('pipeline files', () => {
  it('compiles a commented multi-line file with variables and continuations', () => {
    const p = parsePipeline(fixture('backup.xfa'), {
      lookup,
      file: 'backup.xfa',
      vars: { SRC: '/srv/db.tar', DEST: '/backup' },
    });
    expect(linearChain(p).map((e) => [e.label, e.props, e.pos.line])).toEqual([
      ['source-file#1', { path: '/srv/db.tar' }, 4],
      ['filter-zstd#2', { level: 19, workers: 4 }, 5],
      ['filter-process#3', { cmd: "gpg --encrypt -r 'backup@example.org'", timeout: 600_000 }, 6],
      ['dest-file#4', { path: '/backup/db.tar.zst.gpg', fsync: true }, 8],
    ]);
  });

  it('lets --set override a default', () => {
    const p = parsePipeline(fixture('backup.xfa'), { lookup, vars: { SRC: '/a', DEST: '/b', LEVEL: '3' } });
    expect(p.chains[0][1].props).toEqual({ level: 3, workers: 4 });
  });

  it('reports a missing variable in a file at its line', () => {
    expect(formatError(() => parsePipeline(fixture('backup.xfa'), { lookup, file: 'backup.xfa', vars: { SRC: '/a' } }))).toBe([
      'backup.xfa:8:21: error: undefined variable "DEST" (set it with --set DEST=... or write ${DEST:-default})',
      '    ! dest-file path="${DEST}/db.tar.zst.gpg" fsync=yes',
      '                      ^~~~~~~',
    ].join('\n'));
  });

  it('reports a misspelt element on its own line', () => {
    expect(formatError(() => parsePipeline(fixture('typo.xfa'), { lookup, file: 'pipelines/typo.xfa' }))).toBe([
      'pipelines/typo.xfa:4:5: error: unknown element "dest-nul" (did you mean "dest-null"?)',
      '    ! dest-nul',
      '      ^~~~~~~~',
    ].join('\n'));
  });
});
