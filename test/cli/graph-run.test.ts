/**
 * `xfa run` / `xfa launch` of multiplexing graphs (src/cli/graph-run.ts): output, --json with
 * chains, exit statuses when only a branch failed, positioned graph errors, SIGINT.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonLines, scratch, startXfa, finished, untilOutput, xfa } from './helpers.js';

describe('xfa launch/run of a mux/demux graph', () => {
  it('multiplexes and demultiplexes from the command line, with per-stream lines in -v', async () => {
    const dir = scratch();
    const mux = join(dir, 'x.mux');
    const w = await xfa(['launch', '-v', `source-random length=1MiB seed=1 ! m.\nsource-random length=2MiB seed=2 ! m.\nmux name=m ! dest-file path=${mux} sync=no`]);
    expect(w.code, w.stderr).toBe(0);
    expect(w.stdout).toMatch(/^m: stream 1 \(source-random#1\): eos, 1\.0 MiB in \d+ packets$/m);
    expect(w.stdout).toMatch(/^m: stream 2 \(source-random#2\): eos, 2\.0 MiB in \d+ packets$/m);
    expect(w.stdout).toMatch(/^xfa: done: /m);
    const r = await xfa(['launch', '--json', `source-file path=${mux} ! demux name=d\nd. ! dest-null seed=1\nd. ! dest-null seed=2`]);
    expect(r.code, r.stderr).toBe(0);
    const lines = jsonLines(r.stdout);
    expect(lines.filter((m) => m.type === 'chain-done').map((m) => [m.chain, m.role, m.ok])).toEqual(
      expect.arrayContaining([[0, 'trunk', true], [1, 'branch', true], [2, 'branch', true]]));
    expect(lines.filter((m) => m.type === 'crc').map((m) => [m.chain, m.size])).toEqual(expect.arrayContaining([[1, 1 << 20], [2, 2 << 20]]));
    expect(lines.at(-1)).toMatchObject({ type: 'done', chain: -1 });
  });

  it('exits 1 when only a branch failed, says so, and keeps the good streams', async () => {
    const dir = scratch();
    const mux = join(dir, 'x.mux');
    const w = await xfa(['launch', `source-random length=1MiB seed=1 ! m.\nsource-process cmd="sh -c 'exit 4'" ! m.\nmux name=m ! dest-file path=${mux} sync=no`]);
    expect(w.code).toBe(1);
    expect(w.stderr).toBe([
      'xfa: source-process#2: run sh: sh exited with status 4',
      'xfa: 1 of 3 chains failed (source-process#2); the other chains completed and their data was kept',
      '',
    ].join('\n'));
    expect(existsSync(mux)).toBe(true);
    const r = await xfa(['launch', `source-file path=${mux} ! demux streams=1 ! dest-null seed=1`]);
    expect(r.code, r.stderr).toBe(0);
  });

  it('points at the element of a graph it cannot run (exit 2), and at the failing element of a file', async () => {
    const dir = scratch();
    const bad = await xfa(['launch', 'source-random seed=1 ! filter-crc name=c ! dest-null\nc. ! dest-null']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^<pipeline>:1:24: error: "filter-crc" feeds 2 chains; only demux feeds several\n/);
    const file = join(dir, 'p.xfa');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(file, `source-random length=1 seed=1 ! m.\nmux name=m ! dest-file path=${join(dir, 'no', 'x')}\n`);
    const r = await xfa(['run', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:2:14: dest-file#3: open .*ENOENT`, 'm'));
  });

  it('cancels the whole graph on SIGINT (exit 130) and leaves no file', async () => {
    const dir = scratch();
    const out = join(dir, 'x.mux');
    const child = startXfa(['launch', '--progress', `source-random seed=1 rate=5MB ! m.\nsource-random seed=2 rate=5MB ! m.\nmux name=m ! dest-file path=${out}`]);
    await untilOutput(child, /MiB/);
    child.kill('SIGINT');
    const o = await finished(child);
    expect(o.code).toBe(130);
    expect(o.stderr).toContain('xfa: SIGINT: cancelling the transfer');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a graph needing more worker threads than the pool has is refused before it starts (it would wait for ever)', async () => {
    const text = 'source-random length=1000 seed=1 ! m.\nsource-random length=1000 seed=2 ! filter-zstd ! m.\nsource-random length=1000 seed=3 ! m.\nmux name=m ! dest-null';
    const r = await xfa(['launch', text], { env: { XFA_MAX_THREADS: '3' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/xfer graph: its 4 chains need \d+ worker threads at once, the pool has 3 \(XFA_MAX_THREADS\)/);
    expect((await xfa(['launch', text], { env: { XFA_MAX_THREADS: '16' } })).code).toBe(0);
  });
});
