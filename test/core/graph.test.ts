/**
 * XferGraph as a library (src/graph.ts): the programmatic graph() form, messages() with chain
 * tags and one final done, result() by label, an AbortSignal, a plain pipeline as a one-trunk
 * graph; and source-random rate= (the throttle the multiplexing tests use).
 */
import { describe, expect, it } from 'vitest';
import { graph, parseGraph, XferGraphError, type GraphMessage } from '../../src/index.js';
import { element, runClean } from '../helpers.js';
import { lcgBytes } from '../elements/mux-helpers.js';

describe('XferGraph', () => {
  it('runs a graph built from elements and edges; messages() ends with one done', async () => {
    const g = graph([
      element('source-random', { length: 100_000, seed: 1 }),
      element('source-pattern', { length: 5000, pattern: 'ab' }),
      { ...element('mux'), label: 'm' },
      { ...element('demux', { streams: ['2', '1'] }), label: 'd' },
      { ...element('dest-buffer'), label: 'two' },
      { ...element('dest-buffer'), label: 'one' },
    ], [[0, 2], [1, 2], [2, 3], [3, 4], [3, 5]]);
    expect(g.chains).toEqual([
      { role: 'branch', labels: ['source-random#1', 'm.in1'] },
      { role: 'branch', labels: ['source-pattern#2', 'm.in2'] },
      { role: 'trunk', labels: ['m', 'd'] },
      { role: 'branch', labels: ['d.out1', 'two'] },
      { role: 'branch', labels: ['d.out2', 'one'] },
    ]);
    const seen: GraphMessage[] = [];
    g.start();
    for await (const m of g.messages()) seen.push(m);
    const r = await g.done;
    expect(r.failed).toEqual([]);
    expect(seen.filter((m) => m.type === 'done')).toEqual([{ type: 'done', elt: '', index: -1, version: 0, chain: -1 }]);
    expect(seen.filter((m) => m.type === 'chain-done').map((m) => m.chain).sort()).toEqual([0, 1, 2, 3, 4]);
    expect(g.result('two')?.toString()).toBe('ab'.repeat(2500));
    expect(g.result('one')?.equals(lcgBytes(1, 100_000))).toBe(true);
    expect(r.stats.map((s) => s.elt)).toContain('m.in1');
  });

  it('runs a plain pipeline as one trunk', async () => {
    const g = parseGraph('source-pattern length=10 pattern=x ! dest-buffer name=b');
    const r = await g.start().done;
    expect(r.chains.map((c) => [c.role, c.ok])).toEqual([['trunk', true]]);
    expect(g.result('b')?.toString()).toBe('x'.repeat(10));
  });

  it('is cancelled by its AbortSignal', async () => {
    const ac = new AbortController();
    const g = parseGraph('source-random seed=1 rate=1MB ! m.\nsource-random seed=2 ! m.\nmux name=m ! dest-null', { signal: ac.signal }).start();
    setTimeout(() => ac.abort(), 100);
    const e = await g.done.catch((x: unknown) => x);
    expect(e).toBeInstanceOf(XferGraphError);
    expect((e as XferGraphError).cancelled).toBe(true);
    expect((e as XferGraphError).chains.every((c) => !c.ok)).toBe(true);
  });
});

describe('source-random rate=', () => {
  it('paces its output, and a cancel wakes it at once', async () => {
    const t0 = Date.now();
    const r = await runClean([element('source-random', { length: '1MiB', seed: 3, rate: '4MB' }), element('dest-null', { seed: 3 })]);
    const took = Date.now() - t0;
    expect(r.error).toBeUndefined();
    expect(took).toBeGreaterThan(230); // 1 MiB at 4 MB/s = 262 ms
    expect(took).toBeLessThan(2000);
    const t1 = Date.now();
    const c = await runClean([element('source-random', { seed: 3, rate: '1k' }), element('dest-null')], { during: (x) => setTimeout(() => x.cancel(), 50) });
    expect(c.error?.cancelled).toBe(true);
    expect(Date.now() - t1).toBeLessThan(1000);
  });
});
