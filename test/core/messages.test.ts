// Messages: rate-limited progress, per-element stats at DONE, batches on the event loop, and the
// state machine around an immediate cancel.
import { describe, expect, it } from 'vitest';
import type { ProgressMessage, StatsMessage } from '../../src/messages.js';
import { Xfer } from '../../src/xfer.js';
import { element, runClean, states, types } from '../helpers.js';

describe('messages', () => {
  it('progress is rate-limited per interval and carries byte counts', async () => {
    const t0 = Date.now();
    const { messages } = await runClean([element('source-random', { length: '3GiB', seed: 1 }), element('filter-xor'), element('dest-null')], { progressMs: 100 });
    const secs = (Date.now() - t0) / 1000;
    const prog = messages.filter((m): m is ProgressMessage => m.type === 'progress' && m.elt === 'filter-xor#2');
    expect(prog.length).toBeGreaterThan(0);
    expect(prog.length).toBeLessThanOrEqual(Math.ceil(secs * 10) + 1);
    for (let i = 1; i < prog.length; i++) expect(prog[i].bytesOut).toBeGreaterThanOrEqual(prog[i - 1].bytesOut);
    expect(prog.every((p) => p.rate >= 0)).toBe(true);
  });

  it('progressMs 0 turns progress off', async () => {
    const { messages } = await runClean([element('source-random', { length: '256MiB', seed: 1 }), element('dest-null')], { progressMs: 0 });
    expect(messages.some((m) => m.type === 'progress')).toBe(false);
  });

  it('stats at DONE: bytes in and out per element', async () => {
    const { messages, result } = await runClean([
      element('source-random', { length: 5_000_000, seed: 1 }), element('filter-crc'), element('dest-buffer', { 'max-size': '8MiB' }),
    ]);
    const stats = messages.filter((m): m is StatsMessage => m.type === 'stats');
    expect(stats.map((s) => [s.elt, s.bytesIn, s.bytesOut])).toEqual([
      ['source-random#1', 0, 5_000_000], ['filter-crc#2', 5_000_000, 5_000_000], ['dest-buffer#3', 5_000_000, 0],
    ]);
    expect(result?.stats).toHaveLength(3);
    const doneIdx = messages.findIndex((m) => m.type === 'done');
    expect(messages.findIndex((m) => m.type === 'stats')).toBeLessThan(doneIdx);
  });

  it('cancel right after start: START → CANCELLING → CANCELLED → DONE, one done', async () => {
    const { messages, error } = await runClean([element('source-random', { length: 0, seed: 1 }), element('dest-null')], {
      during: (x) => x.cancel(),
    });
    expect(error?.cancelled).toBe(true);
    const st = states(messages);
    expect(st[0]).toBe('START');
    expect(st.slice(-3)).toEqual(['CANCELLING', 'CANCELLED', 'DONE']);
    expect(types(messages)).toEqual(['cancel', 'done']);
  });

  it('cancel twice and cancel after done are harmless', async () => {
    const x = new Xfer([element('source-random', { length: 0, seed: 1 }), element('dest-null')]).start();
    setTimeout(() => {
      x.cancel();
      x.cancel();
    }, 20);
    await x.done.catch(() => undefined);
    x.cancel();
    expect(x.state).toBe('DONE');
  });

  it('messages arrive in batches, in order, without blocking the event loop', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const { messages } = await runClean([element('source-random', { length: '2GiB', seed: 1 }), element('dest-null', { seed: 1 })], { progressMs: 10 });
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(3);
    expect(messages.at(-1)?.type).toBe('done');
    expect(states(messages)).toEqual(['START', 'RUNNING', 'DONE']);
  });
});

describe('byte accounting across fd links', () => {
  it('glue credits the fd-linked neighbours: source-file and dest-file report their bytes', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const d = mkdtempSync(join(tmpdir(), 'xfa-count-'));
    writeFileSync(join(d, 'in'), Buffer.alloc(3_000_001, 7));
    const { messages } = await runClean([element('source-file', { path: join(d, 'in') }), element('dest-file', { path: join(d, 'out') })]);
    const stats = messages.filter((m): m is StatsMessage => m.type === 'stats').map((s) => [s.elt, s.bytesIn, s.bytesOut]);
    expect(stats).toEqual([['source-file#1', 0, 3_000_001], ['dest-file#2', 3_000_001, 0]]);
  });
});
