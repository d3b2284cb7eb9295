// source-ranges: reads exactly the given ranges (bytes_out = bytes read), one slice each with the
// given numbers, checks ranges against the file size before reading, and rejects bad syntax.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SliceMessage, StatsMessage } from '../../src/messages.js';
import { Xfer } from '../../src/xfer.js';
import { element, runClean } from '../helpers.js';
import { content, randInt, rng } from '../tar-tree.js';

let dir: string;
let path: string;
let data: Buffer;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'xfa-ranges-'));
  path = join(dir, 'stored');
  data = content(rng(1), 3_000_000);
  writeFileSync(path, data);
});

describe('source-ranges', () => {
  it('reads random ranges (overlapping, out of order, 1 byte) and nothing else, one slice per range', async () => {
    for (const seed of [1, 2, 3]) {
      const r = rng(seed);
      const ranges = Array.from({ length: randInt(r, 1, 12) }, () => {
        const off = randInt(r, 0, data.length - 1);
        return [off, r() < 0.2 ? 1 : randInt(r, 1, Math.min(700_000, data.length - off))];
      });
      const out = join(dir, `out-${seed}`);
      // catenize with cat keeps the slices it sees: its frames show the marks source-ranges set.
      const { error, messages } = await runClean([
        element('source-ranges', { path, ranges: ranges.map(([o, l]) => `${o}:${l}`).join(','), slices: ranges.map((_, i) => String(100 + 2 * i)).join(',') }),
        element('filter-catenize', { cmd: 'cat' }), element('dest-file', { path: out, sync: false }),
      ], { blockSize: randInt(r, 1, 32) * 4096 });
      expect(error).toBeUndefined();
      const total = ranges.reduce((a, [, l]) => a + l, 0);
      const stats = messages.find((m): m is StatsMessage => m.type === 'stats' && m.elt === 'source-ranges#1')!;
      expect(stats.bytesOut).toBe(total);
      const sl = messages.filter((m): m is SliceMessage => m.type === 'slice');
      expect(sl.map((s) => [s.slice, s.inLength])).toEqual(ranges.map(([, l], i) => [100 + 2 * i, l]));
      const stored = readFileSync(out);
      let at = 0;
      for (const [o, l] of ranges) {
        expect(stored.subarray(at + 48, at + 48 + l).equals(data.subarray(o, o + l))).toBe(true);
        at += 48 + l;
      }
    }
  });

  it('no ranges: an empty stream', async () => {
    const { error, messages } = await runClean([element('source-ranges', { path, ranges: '' }), element('dest-null')]);
    expect(error).toBeUndefined();
    expect(messages.find((m): m is StatsMessage => m.type === 'stats' && m.elt === 'source-ranges#1')!.bytesOut).toBe(0);
  });

  it('a range past the end fails in setup, before reading; a missing file names its path', async () => {
    const { error, messages } = await runClean([element('source-ranges', { path, ranges: `0:10,${data.length - 5}:6` }), element('dest-null')]);
    expect(error?.message).toBe(`source-ranges#1: range 1 (${data.length - 5}:6): extends past the end of ${path} (${data.length} bytes)`);
    expect(messages.some((m) => m.type === 'stats' && m.bytesOut > 0)).toBe(false);
    const missing = await runClean([element('source-ranges', { path: join(dir, 'nope'), ranges: '0:1' }), element('dest-null')]);
    expect(missing.error?.message).toMatch(/source-ranges#1: open .*nope: ENOENT/);
  });

  it('rejects bad range syntax and mismatched slice numbers when the chain is built', () => {
    for (const [ranges, msg] of [['10', /not OFFSET:LENGTH/], ['5:0', /is empty/], ['a:5', /not a byte count/], ['1:-2', /not a byte count/]] as const) {
      expect(() => new Xfer([element('source-ranges', { path, ranges }), element('dest-null')])).toThrow(msg);
    }
    expect(() => new Xfer([element('source-ranges', { path, ranges: '0:1,1:1', slices: '7' }), element('dest-null')])).toThrow(/"slices" has 1 numbers for 2 ranges/);
  });
});
