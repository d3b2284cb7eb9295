// filter-gzip: round trips through filter-gunzip at random chunk and slice sizes and worker
// counts; output read by the real `gzip -d` (and `pigz -d`); one member per slice, each member
// decodable alone; pigz-style pieces give the ratio of one stream; empty streams, 1-byte slices,
// every mechanism pair, cancel and failure without leaks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Xfer } from '../../src/xfer.js';
import { element, runClean } from '../helpers.js';
import {
  errorOf, expectedCuts, expectTiling, randInt, requireTool, rng, semiCompressible, sh, slices, tempDir, throughFile,
} from './codec-helpers.js';

const tmp = tempDir();
beforeAll(() => requireTool('gzip', 'apt-get install -y gzip'));
afterAll(() => tmp.cleanup());

/** Offsets of the members in a gzip stream, from filter-gzip's slice messages. */
function members(out: Buffer, msgs: ReturnType<typeof slices>): Buffer[] {
  return msgs.map((m) => out.subarray(m.outOffset, m.outOffset + m.outLength));
}

describe('filter-gzip round trips through filter-gunzip', () => {
  it('random chunk sizes, slice sizes, job sizes and workers (seeded)', async () => {
    const r = rng(99);
    for (let i = 0; i < 12; i++) {
      const length = i === 0 ? 1 : randInt(r, 2, 2_500_000);
      const sliceSize = [0, 1, 333, 65536, 1 << 20][randInt(r, 0, 4)];
      const len = sliceSize === 1 ? Math.min(length, 3000) : length;
      const props = { level: randInt(r, 0, 9), workers: randInt(r, 1, 3), 'slice-size': sliceSize, 'job-size': [65536, 100_000, 1 << 20][randInt(r, 0, 2)] };
      const { messages, error } = await runClean([
        element('source-test', { length: len, seed: 200 + i, 'chunk-seed': i, 'max-chunk': randInt(r, 1, 200_000) }),
        element('filter-gzip', props),
        element('filter-gunzip'),
        element('dest-test', { length: len, seed: 200 + i }),
      ]);
      expect(error?.message, JSON.stringify({ len, props })).toBeUndefined();
      const crc = messages.find((m) => m.type === 'crc');
      expect(crc && crc.type === 'crc' && crc.size).toBe(len);
      const cuts = expectedCuts(len, sliceSize || len);
      expect(slices(messages, 'filter-gzip#2').map((m) => [m.slice, m.inOffset, m.inLength])).toEqual(cuts.map((c, k) => [k, ...c]));
      expect(slices(messages, 'filter-gunzip#3').map((m) => m.outLength)).toEqual(cuts.map((c) => c[1]));
    }
  });

  it('every mechanism pair, also through forced glue', async () => {
    for (const src of ['PULL_BUFFER', 'PUSH_BUFFER']) {
      for (const dst of ['PULL_BUFFER', 'PUSH_BUFFER']) {
        for (const forceGlue of [false, true]) {
          const length = 1_000_003;
          const { messages, error } = await runClean([
            element('source-test', { mech: src, length, seed: 5, 'max-chunk': 70_000 }),
            element('filter-gzip', { level: 1, workers: 2, 'slice-size': 250_000, 'job-size': 65536 }),
            element('filter-gunzip'),
            element('dest-test', { mech: dst, length, seed: 5 }),
          ], { forceGlue });
          expect(error?.message).toBeUndefined();
          const crc = messages.find((m) => m.type === 'crc');
          expect(crc && crc.type === 'crc' && crc.size).toBe(length);
        }
      }
    }
  });

  it('follows upstream marks: one member per upstream slice', async () => {
    const length = 777_777;
    const { messages, error } = await runClean([
      element('source-test', { length, seed: 8, 'max-chunk': 30_000 }),
      element('filter-zstd', { level: 1, seekable: true, 'slice-size': 100_000 }),
      element('filter-unzstd'),  // marks: one slice per frame
      element('filter-gzip', { workers: 2 }),
      element('filter-gunzip'),
      element('dest-test', { length, seed: 8 }),
    ]);
    expect(error?.message).toBeUndefined();
    expect(slices(messages, 'filter-gzip#4').map((m) => [m.inOffset, m.inLength])).toEqual(expectedCuts(length, 100_000));
  });
});

describe('filter-gzip output read by the real gzip', () => {
  const input = semiCompressible(3_000_000, 23);

  it('no slices: one member, decoded by `gzip -d` and `pigz -d`; pieces cost almost nothing in ratio', async () => {
    requireTool('pigz', 'apt-get install -y pigz');
    for (const level of [1, 6, 9]) {
      const one = await throughFile('filter-gzip', { level }, input, tmp);
      const par = await throughFile('filter-gzip', { level, workers: 2, 'job-size': 65536 }, input, tmp);
      for (const { out, outcome } of [one, par]) {
        expect(errorOf(outcome)).toBe('');
        expect(sh('gzip -d -c', out).equals(input)).toBe(true);
        expect(sh('pigz -d -c', out).equals(input)).toBe(true);
        expect(slices(outcome.messages, 'filter-gzip#2').length).toBe(1);
      }
      // 46 pieces primed with the previous 32 KiB: within 0.5 % of one deflate stream, and the
      // reference `gzip` at the same level is no smaller than that by more than 2 %.
      expect(par.out.length / one.out.length).toBeLessThan(1.005);
      expect(one.out.length / sh(`gzip -${level} -c`, input).length).toBeLessThan(1.02);
    }
  });

  it('one member per slice: the whole stream and every member alone decode with `gzip -d`', async () => {
    for (const [sliceSize, workers] of [[400_000, 1], [123_457, 2], [1 << 20, 3]]) {
      const { out, outcome } = await throughFile('filter-gzip', { level: 4, workers, 'slice-size': sliceSize, 'job-size': 65536 }, input, tmp);
      expect(errorOf(outcome)).toBe('');
      expect(sh('gzip -d -c', out).equals(input)).toBe(true);
      const ms = slices(outcome.messages, 'filter-gzip#2');
      expect(ms.map((m) => [m.inOffset, m.inLength])).toEqual(expectedCuts(input.length, sliceSize));
      expectTiling(ms, input.length, out.length);
      members(out, ms).forEach((mem, k) => {
        expect(mem.subarray(0, 3).equals(Buffer.from([0x1f, 0x8b, 8]))).toBe(true);
        expect(sh('gzip -d -c', mem).equals(input.subarray(ms[k].inOffset, ms[k].inOffset + ms[k].inLength))).toBe(true);
      });
    }
  });

  it('1-byte slices: one member per byte', async () => {
    const small = input.subarray(0, 1500);
    const { out, outcome } = await throughFile('filter-gzip', { 'slice-size': 1, workers: 2 }, small, tmp);
    expect(errorOf(outcome)).toBe('');
    expect(slices(outcome.messages, 'filter-gzip#2').length).toBe(1500);
    expect(sh('gzip -d -c', out).equals(small)).toBe(true);
  });

  it('empty input: one empty member, like `gzip -c </dev/null`', async () => {
    const { out, outcome } = await throughFile('filter-gzip', {}, Buffer.alloc(0), tmp);
    expect(errorOf(outcome)).toBe('');
    expect(out.length).toBe(20);
    expect(sh('gzip -d -c', out).length).toBe(0);
    expect(slices(outcome.messages, 'filter-gzip#2')).toMatchObject([{ slice: 0, inOffset: 0, inLength: 0, outOffset: 0, outLength: 20 }]);
    const back = await throughFile('filter-gunzip', {}, out, tmp);
    expect(errorOf(back.outcome)).toBe('');
    expect(back.out.length).toBe(0);
  });

  it('the header says fastest/best like gzip, with no name or time (reproducible)', async () => {
    const a = await throughFile('filter-gzip', { level: 1 }, input.subarray(0, 1000), tmp);
    const b = await throughFile('filter-gzip', { level: 9 }, input.subarray(0, 1000), tmp);
    expect([...a.out.subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 3]);
    expect(b.out[8]).toBe(2);
    const again = await throughFile('filter-gzip', { level: 1 }, input.subarray(0, 1000), tmp);
    expect(again.out.equals(a.out)).toBe(true);
  });
});

describe('filter-gzip properties, cancel and failure', () => {
  it('rejects bad values', () => {
    expect(() => element('filter-gzip', { level: 10 })).toThrow(/level/);
    expect(() => element('filter-gzip', { 'job-size': 100 })).toThrow(/job-size/);
    expect(() => new Xfer([element('source-test'), element('filter-gzip', { workers: 2 }), element('dest-null')])).not.toThrow();
  });

  it('cancel mid-stream with 2 workers ends cleanly', async () => {
    const { error } = await runClean([
      element('source-random', { length: 0, seed: 1 }), element('filter-gzip', { workers: 2, level: 1 }), element('dest-null'),
    ], { during: (x) => setTimeout(() => x.cancel(), 150) });
    expect(error?.cancelled).toBe(true);
  });

  it('a failing destination stops every thread', async () => {
    const { error } = await runClean([
      element('source-test', { length: 10_000_000, seed: 2 }), element('filter-gzip', { workers: 2, level: 1, 'slice-size': 100_000 }),
      element('dest-buffer', { 'max-size': 200_000 }),
    ]);
    expect(error?.element).toBe('dest-buffer#3');
  });
});
