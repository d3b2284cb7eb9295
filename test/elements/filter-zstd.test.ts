// filter-zstd: round trips through filter-unzstd at random chunk and slice sizes, every mode and
// mechanism; its output read by the real `zstd` CLI (whole stream, and single frames found through
// the seek table read from the spec); slice messages and slice marks; empty streams, 1-byte
// slices, cancel and failure without leaks.
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Xfer } from '../../src/xfer.js';
import { element, runClean } from '../helpers.js';
import {
  errorOf, expectedCuts, expectTiling, randInt, readSeekTable, requireTool, rng, semiCompressible, sh, slices, tempDir,
  throughFile,
} from './codec-helpers.js';

const tmp = tempDir();
beforeAll(() => requireTool('zstd', 'apt-get install -y zstd'));
afterAll(() => tmp.cleanup());

describe('filter-zstd round trips through filter-unzstd', () => {
  it('random chunk sizes, random slice sizes, every mode (seeded)', async () => {
    const r = rng(41);
    for (let i = 0; i < 14; i++) {
      const length = i < 2 ? 1 : randInt(r, 2, 3_000_000);  // (source-test's length 0 means endless: empty streams below)
      const seekable = i % 2 === 0;
      const sliceSize = seekable ? [1, 7, 4096, 65536, 1 << 20][randInt(r, 0, 4)] : 0;
      const len = sliceSize === 1 ? Math.min(length, 5000) : length;  // 1-byte slices: one frame per byte
      const props = {
        level: randInt(r, -3, 6), workers: randInt(r, 1, 3), seekable, 'job-size': [65536, 200_000, 4 << 20][randInt(r, 0, 2)],
        ...(seekable ? { 'slice-size': sliceSize } : {}),
      };
      const { messages, error } = await runClean([
        element('source-test', { length: len, seed: 100 + i, 'chunk-seed': i, 'max-chunk': randInt(r, 1, 300_000) }),
        element('filter-zstd', props),
        element('filter-unzstd'),
        element('dest-test', { length: len, seed: 100 + i }),
      ]);
      expect(error?.message, JSON.stringify({ len, props })).toBeUndefined();
      const crc = messages.find((m) => m.type === 'crc');
      expect(crc && crc.type === 'crc' && crc.size).toBe(len);
      if (seekable) {
        const ms = slices(messages, 'filter-zstd#2');
        const cuts = expectedCuts(len, sliceSize);
        expect(ms.map((m) => [m.inOffset, m.inLength])).toEqual([...cuts, [len, 0]]);  // + the seek table
        expect(slices(messages, 'filter-unzstd#3').map((m) => m.outLength)).toEqual(cuts.map((c) => c[1]));
      }
    }
  });

  it('every mechanism pair of the element (PULL/PUSH in × out), also through forced glue', async () => {
    for (const src of ['PULL_BUFFER', 'PUSH_BUFFER']) {
      for (const dst of ['PULL_BUFFER', 'PUSH_BUFFER']) {
        for (const forceGlue of [false, true]) {
          const length = 1_500_000 + (src === dst ? 17 : 0);
          const { messages, error } = await runClean([
            element('source-test', { mech: src, length, seed: 9, 'chunk-seed': 3, 'max-chunk': 90_000 }),
            element('filter-zstd', { level: 1, workers: 2, seekable: true, 'slice-size': 300_000, 'job-size': 65536 }),
            element('filter-unzstd'),
            element('dest-test', { mech: dst, length, seed: 9 }),
          ], { forceGlue });
          expect(error?.message).toBeUndefined();
          const crc = messages.find((m) => m.type === 'crc');
          expect(crc && crc.type === 'crc' && crc.size).toBe(length);
        }
      }
    }
  });

  it('follows upstream slice marks (slice-size=0): the slices cut upstream come back unchanged', async () => {
    const r = rng(5);
    for (let i = 0; i < 4; i++) {
      const length = randInt(r, 100_000, 2_000_000);
      const sliceSize = randInt(r, 1000, 300_000);
      const { messages, error } = await runClean([
        element('source-test', { length, seed: 3 + i, 'max-chunk': randInt(r, 100, 200_000) }),
        element('filter-zstd', { level: 1, seekable: true, 'slice-size': sliceSize }),
        element('filter-unzstd'),  // one output slice per frame: marks on its blocks
        element('filter-zstd', { level: 3, seekable: true, workers: 2 }),  // follows them
        element('filter-unzstd'),
        element('dest-test', { length, seed: 3 + i }),
      ]);
      expect(error?.message).toBeUndefined();
      const first = slices(messages, 'filter-zstd#2');
      const second = slices(messages, 'filter-zstd#4');
      expect(second.map((m) => [m.slice, m.inOffset, m.inLength])).toEqual(first.map((m) => [m.slice, m.inOffset, m.inLength]));
    }
  });

  it('marks the last block of every output slice: a downstream filter following marks sees the same slices', async () => {
    const length = 1_234_567;
    const { messages, error } = await runClean([
      element('source-test', { length, seed: 21, 'max-chunk': 50_000 }),
      element('filter-zstd', { level: 1, seekable: true, 'slice-size': 100_000, workers: 2 }),
      element('filter-gzip', { level: 1 }),  // one member per incoming slice
      element('filter-gunzip'),
      element('filter-unzstd'),
      element('dest-test', { length, seed: 21 }),
    ]);
    expect(error?.message).toBeUndefined();
    const z = slices(messages, 'filter-zstd#2');
    const g = slices(messages, 'filter-gzip#3');
    expect(z.length).toBe(Math.ceil(length / 100_000) + 1);
    expect(g.map((m) => [m.slice, m.inOffset, m.inLength])).toEqual(z.map((m) => [m.slice, m.outOffset, m.outLength]));
  });
});

describe('filter-zstd output read by the real zstd CLI', () => {
  const input = semiCompressible(3_000_000, 7);

  it('non-seekable, one worker: one frame that `zstd -d` decodes', async () => {
    const { out, outcome } = await throughFile('filter-zstd', { level: 3 }, input, tmp);
    expect(errorOf(outcome)).toBe('');
    expect(out.length).toBeLessThan(input.length * 0.6);
    expect(sh('zstd -d -c', out).equals(input)).toBe(true);
    writeFileSync(tmp.path('one.zst'), out);
    expect(sh(`zstd -lv ${tmp.path('one.zst')}`).toString()).toMatch(/# Zstandard Frames: 1\b/);
  });

  it('non-seekable, 2 workers: one frame per frame-size (several jobs each), all decoded by `zstd -d`', async () => {
    const { out, outcome } = await throughFile('filter-zstd', { level: 1, workers: 2, 'job-size': 65536, 'frame-size': 262144 }, input, tmp);
    expect(errorOf(outcome)).toBe('');
    expect(sh('zstd -d -c', out).equals(input)).toBe(true);
    writeFileSync(tmp.path('multi.zst'), out);
    expect(sh(`zstd -lv ${tmp.path('multi.zst')}`).toString()).toContain(`# Zstandard Frames: ${Math.ceil(input.length / 262144)}`);
  });

  it('seekable: `zstd -d` decodes the whole stream, and each frame found through the seek table decodes alone', async () => {
    for (const [sliceSize, workers] of [[250_000, 1], [333_333, 2], [1_000_000, 2]]) {
      const { out, outcome } = await throughFile('filter-zstd', { level: 2, workers, seekable: true, 'slice-size': sliceSize, 'job-size': 65536 }, input, tmp);
      expect(errorOf(outcome)).toBe('');
      expect(sh('zstd -d -c', out).equals(input)).toBe(true);
      const { frames, tableSize, checksums } = readSeekTable(out);
      expect(checksums).toBe(true);
      expect(frames.map((f) => [f.dOffset, f.dSize])).toEqual(expectedCuts(input.length, sliceSize));
      for (const f of frames) {
        const frame = out.subarray(f.cOffset, f.cOffset + f.cSize);
        expect(sh('zstd -d -c', frame).equals(input.subarray(f.dOffset, f.dOffset + f.dSize))).toBe(true);
        expect(f.checksum).toBe(frame.readUInt32LE(frame.length - 4));  // = the frame's XXH64 content checksum
      }
      // The slice messages say the same as the table, plus one slice for the table itself.
      const ms = slices(outcome.messages, 'filter-zstd#2');
      expect(ms.slice(0, -1).map((m) => [m.outOffset, m.outLength])).toEqual(frames.map((f) => [f.cOffset, f.cSize]));
      expect(ms.at(-1)).toMatchObject({ slice: frames.length, inOffset: input.length, inLength: 0, outLength: tableSize });
      expectTiling(ms, input.length, out.length);
      writeFileSync(tmp.path('s.zst'), out);
      const list = sh(`zstd -lv ${tmp.path('s.zst')}`).toString();
      expect(list).toContain(`# Zstandard Frames: ${frames.length}`);
      expect(list).toMatch(/# Skippable Frames: 1\b/);
    }
  });

  it('checksum=false: frames without checksums and a seek table without them', async () => {
    const { out, outcome } = await throughFile('filter-zstd', { seekable: true, 'slice-size': 500_000, checksum: false }, input, tmp);
    expect(errorOf(outcome)).toBe('');
    expect(readSeekTable(out).checksums).toBe(false);
    expect(sh('zstd -d -c', out).equals(input)).toBe(true);
  });

  it('1-byte slices: one frame per byte, still one valid stream', async () => {
    const small = input.subarray(0, 2000);
    const { out, outcome } = await throughFile('filter-zstd', { level: 1, seekable: true, 'slice-size': 1, workers: 2 }, small, tmp);
    expect(errorOf(outcome)).toBe('');
    const { frames } = readSeekTable(out);
    expect(frames.length).toBe(2000);
    expect(frames.every((f) => f.dSize === 1)).toBe(true);
    expect(sh('zstd -d -c', out).equals(small)).toBe(true);
    expect(slices(outcome.messages, 'filter-zstd#2').length).toBe(2001);
  });

  it('empty input: `zstd -d` gives empty output, in both modes; so does filter-unzstd', async () => {
    const plain = await throughFile('filter-zstd', {}, Buffer.alloc(0), tmp);
    expect(errorOf(plain.outcome)).toBe('');
    expect(plain.out.length).toBeGreaterThan(0);  // one empty frame, like `zstd -c </dev/null`
    expect(sh('zstd -d -c', plain.out).length).toBe(0);
    const seek = await throughFile('filter-zstd', { seekable: true, 'slice-size': 4096 }, Buffer.alloc(0), tmp);
    expect(errorOf(seek.outcome)).toBe('');
    expect(seek.out.length).toBe(17);  // just the seek table: 0 frames
    expect(readSeekTable(seek.out).frames).toEqual([]);
    expect(sh('zstd -d -c', seek.out).length).toBe(0);
    for (const stream of [plain.out, seek.out]) {
      const back = await throughFile('filter-unzstd', {}, stream, tmp);
      expect(errorOf(back.outcome)).toBe('');
      expect(back.out.length).toBe(0);
    }
  });

  it('large slices split into jobs keep one frame per slice (jobs of a frame on one context)', async () => {
    const big = semiCompressible(6_000_000, 8);
    const { out, outcome } = await throughFile('filter-zstd', { level: 1, workers: 2, seekable: true, 'slice-size': 2_500_000, 'job-size': 65536 }, big, tmp);
    expect(errorOf(outcome)).toBe('');
    expect(readSeekTable(out).frames.map((f) => f.dSize)).toEqual([2_500_000, 2_500_000, 1_000_000]);
    expect(sh('zstd -d -c', out).equals(big)).toBe(true);
  });
});

describe('filter-zstd properties, cancel and failure', () => {
  it('rejects bad property values with a sentence', () => {
    expect(() => element('filter-zstd', { level: 30 })).toThrow(/level/);
    expect(() => new Xfer([element('source-test'), element('filter-zstd', { 'slice-size': 4096 }), element('dest-null')]))
      .toThrow(/filter-zstd: property "slice-size" needs seekable=true/);
  });

  it('declares workers + reader + writer threads (both cores used by workers=2)', async () => {
    const { messages, error } = await runClean([
      element('source-test', { length: 1 << 20 }), element('filter-zstd', { workers: 2 }), element('dest-buffer', { 'max-size': 4 << 20 }),
    ]);
    expect(error).toBeUndefined();
    const linkage = messages.find((m) => m.type === 'linkage');
    expect(linkage && linkage.type === 'linkage' && linkage.message).toContain('-PULL_BUFFER-> filter-zstd#2 -PUSH_BUFFER->');
    expect(linkage && linkage.type === 'linkage' && linkage.threads).toBe(4);
    const stats = messages.find((m) => m.type === 'stats' && m.elt === 'filter-zstd#2');
    expect(stats && stats.type === 'stats' && stats.bytesIn).toBe(1 << 20);
    const all = await runClean([
      element('source-test', { length: 1 << 20 }), element('filter-zstd', { workers: 0 }), element('dest-buffer', { 'max-size': 4 << 20 }),
    ]);
    const l0 = all.messages.find((m) => m.type === 'linkage');
    expect(l0 && l0.type === 'linkage' && l0.threads).toBe(cpus().length + 2);  // workers=0: one per CPU
  });

  it('cancel while compressing an endless stream on 2 workers ends cleanly', async () => {
    const { error } = await runClean([
      element('source-random', { length: 0, seed: 3 }), element('filter-zstd', { workers: 2, seekable: true, 'slice-size': 100_000 }),
      element('dest-null'),
    ], { during: (x) => setTimeout(() => x.cancel(), 150) });
    expect(error?.cancelled).toBe(true);
  });

  it('a failing destination stops every compressor thread (no hang, no leak)', async () => {
    const { error } = await runClean([
      element('source-test', { length: 20_000_000, seed: 4 }), element('filter-zstd', { workers: 3, level: 1 }),
      element('dest-buffer', { 'max-size': 100_000 }),
    ]);
    expect(error?.element).toBe('dest-buffer#3');
    expect(error?.message).toMatch(/more than 100000 bytes/);
  });

  it('level changes the output and every level round-trips', async () => {
    const data = semiCompressible(400_000, 3);
    const sizes: number[] = [];
    for (const level of [-5, 1, 19]) {
      const { out, outcome } = await throughFile('filter-zstd', { level }, data, tmp);
      expect(errorOf(outcome)).toBe('');
      expect(sh('zstd -d -c', out).equals(data)).toBe(true);
      sizes.push(out.length);
    }
    expect(sizes[0]).toBeGreaterThan(sizes[1]);
    expect(sizes[1]).toBeGreaterThan(sizes[2]);
  });

  it('reads the file named in a pipeline and writes a stream equal to the CLI decoding', async () => {
    const data = semiCompressible(200_000, 11);
    writeFileSync(tmp.path('p.in'), data);
    const { error } = await runClean([
      element('source-file', { path: tmp.path('p.in') }), element('filter-zstd', { level: 1, seekable: true, 'slice-size': 50_000 }),
      element('dest-file', { path: tmp.path('p.zst') }),
    ]);
    expect(error).toBeUndefined();
    expect(sh(`zstd -d -c ${tmp.path('p.zst')}`).equals(readFileSync(tmp.path('p.in')))).toBe(true);
  });
});
