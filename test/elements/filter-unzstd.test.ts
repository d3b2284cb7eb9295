// filter-unzstd: reads what the real `zstd` CLI writes (single and multi-frame, no checksum,
// high levels, streamed without a size, with skippable frames), reports one slice per frame, and
// fails with the input offset on corrupt, truncated, non-zstd or empty input and on a seek table
// that disagrees with the frames.
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { element, runClean } from '../helpers.js';
import {
  errorOf, readSeekTable, requireTool, rng, semiCompressible, sh, shStatus, slices, tempDir, throughFile,
} from './codec-helpers.js';

const tmp = tempDir();
const input = semiCompressible(2_500_000, 17);
beforeAll(() => requireTool('zstd', 'apt-get install -y zstd'));
afterAll(() => tmp.cleanup());

/** A seekable stream of `input` made by filter-zstd. */
async function seekable(sliceSize: number): Promise<Buffer> {
  const { out, outcome } = await throughFile('filter-zstd', { level: 1, seekable: true, 'slice-size': sliceSize }, input, tmp);
  expect(errorOf(outcome)).toBe('');
  return out;
}

describe('filter-unzstd reads the zstd CLI', () => {
  it('CLI output at several levels and options decodes byte-identical', async () => {
    writeFileSync(tmp.path('cli.in'), input);
    for (const opts of ['-1', '-3', '-19', '--fast=5', '-3 --no-check', '-1 -T2', '-1 -B65536 -T2', '--ultra -22 --long=27']) {
      const z = sh(`zstd -q -c ${opts} ${tmp.path('cli.in')}`);
      const { out, outcome } = await throughFile('filter-unzstd', {}, z, tmp);
      expect(errorOf(outcome), opts).toBe('');
      expect(out.equals(input), opts).toBe(true);
    }
  });

  it('a stream compressed from a pipe (no content size in the header)', async () => {
    const z = sh('zstd -q -1 -c', input);
    const { out, outcome } = await throughFile('filter-unzstd', {}, z, tmp);
    expect(errorOf(outcome)).toBe('');
    expect(out.equals(input)).toBe(true);
  });

  it('concatenated CLI frames with skippable frames between them: one slice per data frame', async () => {
    const parts = [input.subarray(0, 1_000_000), input.subarray(1_000_000, 1_000_001), input.subarray(1_000_001)];
    const skippable = Buffer.alloc(8 + 100, 0x41);
    skippable.writeUInt32LE(0x184d2a53, 0);
    skippable.writeUInt32LE(100, 4);
    const frames = parts.map((p) => sh('zstd -q -3 -c', p));
    const stream = Buffer.concat([frames[0], skippable, frames[1], frames[2], skippable]);
    const { out, outcome } = await throughFile('filter-unzstd', {}, stream, tmp);
    expect(errorOf(outcome)).toBe('');
    expect(out.equals(input)).toBe(true);
    const ms = slices(outcome.messages, 'filter-unzstd#2');
    expect(ms.map((m) => [m.slice, m.inOffset, m.inLength, m.outOffset, m.outLength])).toEqual([
      [0, 0, frames[0].length, 0, parts[0].length],
      [1, frames[0].length + skippable.length, frames[1].length, parts[0].length, 1],
      [2, frames[0].length + skippable.length + frames[1].length, frames[2].length, parts[0].length + 1, parts[2].length],
    ]);
  });

  it('frame-slices=false reports no slices; an empty CLI frame is no slice', async () => {
    const z = Buffer.concat([sh('zstd -q -c', Buffer.alloc(0)), sh('zstd -q -c', input)]);
    const off = await throughFile('filter-unzstd', { 'frame-slices': false }, z, tmp);
    expect(errorOf(off.outcome)).toBe('');
    expect(off.out.equals(input)).toBe(true);
    expect(slices(off.outcome.messages, 'filter-unzstd#2')).toEqual([]);
    const on = await throughFile('filter-unzstd', {}, z, tmp);
    expect(slices(on.outcome.messages, 'filter-unzstd#2').length).toBe(1);
  });
});

describe('filter-unzstd on seekable streams', () => {
  it('reports each frame as a slice matching the seek table, and checks the table', async () => {
    const z = await seekable(300_000);
    const { frames } = readSeekTable(z);
    const { out, outcome } = await throughFile('filter-unzstd', {}, z, tmp);
    expect(errorOf(outcome)).toBe('');
    expect(out.equals(input)).toBe(true);
    const ms = slices(outcome.messages, 'filter-unzstd#2');
    expect(ms.map((m) => [m.inOffset, m.inLength, m.outOffset, m.outLength])).toEqual(frames.map((f) => [f.cOffset, f.cSize, f.dOffset, f.dSize]));
    expect(ms.map((m) => m.slice)).toEqual(frames.map((_, k) => k));
  });

  it('a middle run of frames (what a selective restore reads) decodes alone', async () => {
    const z = await seekable(200_000);
    const { frames } = readSeekTable(z);
    const a = frames[3];
    const b = frames[5];
    const { out, outcome } = await throughFile('filter-unzstd', {}, z.subarray(a.cOffset, b.cOffset + b.cSize), tmp);
    expect(errorOf(outcome)).toBe('');
    expect(out.equals(input.subarray(a.dOffset, b.dOffset + b.dSize))).toBe(true);
  });

  it('random input chunk sizes do not change the frames found (seeded)', async () => {
    const r = rng(77);
    for (let i = 0; i < 4; i++) {
      const length = 100_000 + Math.floor(r() * 900_000);
      const { messages, error } = await runClean([
        element('source-test', { length, seed: 50 + i, 'max-chunk': 1 + Math.floor(r() * 5000) }),
        element('filter-zstd', { seekable: true, 'slice-size': 1 + Math.floor(r() * 100_000) }),
        element('filter-process', { cmd: `dd bs=${1 + Math.floor(r() * 9000)} status=none` }),  // re-chunks the stream
        element('filter-unzstd'),
        element('dest-test', { length, seed: 50 + i }),
      ]);
      expect(error?.message).toBeUndefined();
      const z = slices(messages, 'filter-zstd#2').slice(0, -1);
      const u = slices(messages, 'filter-unzstd#4');
      expect(u.map((m) => [m.inOffset, m.inLength, m.outOffset, m.outLength])).toEqual(z.map((m) => [m.outOffset, m.outLength, m.inOffset, m.inLength]));
    }
  });
});

describe('filter-unzstd bad input', () => {
  async function fails(stream: Buffer, props: Record<string, unknown> = {}): Promise<string> {
    const { outcome } = await throughFile('filter-unzstd', props, stream, tmp);
    expect(outcome.error?.element).toBe('filter-unzstd#2');
    return errorOf(outcome);
  }

  it('corrupt data in a frame: the frame and its input offset', async () => {
    const z = await seekable(500_000);
    const { frames } = readSeekTable(z);
    const bad = Buffer.from(z);
    const f = frames[2];
    bad[f.cOffset + Math.floor(f.cSize / 2)] ^= 0x5a;
    const msg = await fails(bad);
    expect(msg).toMatch(new RegExp(`filter-unzstd#2: decompress: frame 2 at input offset ${f.cOffset}: .+ \\(input byte \\d+\\)`));
    expect(shStatus('zstd -d -c', bad).status).not.toBe(0);  // the CLI agrees the stream is bad
  });

  it('a flipped checksum byte is caught', async () => {
    const z = sh('zstd -q -3 -c', input);
    const bad = Buffer.from(z);
    bad[bad.length - 1] ^= 1;
    expect(await fails(bad)).toMatch(/checksum/i);
  });

  it('truncated input, non-zstd input, empty input', async () => {
    const z = sh('zstd -q -3 -c', input);
    expect(await fails(z.subarray(0, z.length - 100))).toMatch(/truncated input: it ends inside the frame at input offset 0 \(\d+ bytes of it read\)/);
    expect(await fails(Buffer.from('hello, this is plain text\n'))).toMatch(/frame 0 at input offset 0: not zstd data/);
    expect(await fails(Buffer.concat([z, Buffer.from('trailing garbage')]))).toMatch(new RegExp(`frame 1 at input offset ${z.length}: not zstd data`));
    expect(await fails(Buffer.alloc(0))).toMatch(/empty input: not a zstd stream/);
  });

  it('a seek table that disagrees with the frames is an error (the CLI would not notice)', async () => {
    const z = await seekable(400_000);
    const { frames, tableSize } = readSeekTable(z);
    const t0 = z.length - tableSize;
    const entry = (i: number) => t0 + 8 + i * 12;

    const sizes = Buffer.from(z);
    sizes.writeUInt32LE(frames[1].dSize + 1, entry(1) + 4);
    expect(shStatus('zstd -d -c', sizes).status).toBe(0);
    expect(await fails(sizes)).toMatch(new RegExp(`seek table at input offset ${t0}, entry 1 \\(frame at offset ${frames[1].cOffset}\\): decompressed size ${frames[1].dSize + 1}, the frame has ${frames[1].dSize}`));

    const csize = Buffer.from(z);
    csize.writeUInt32LE(frames[0].cSize - 1, entry(0));
    expect(await fails(csize)).toMatch(/entry 0 \(frame at offset 0\): compressed size/);

    const check = Buffer.from(z);
    check[entry(2) + 8] ^= 0xff;
    expect(await fails(check)).toMatch(/entry 2 .*checksum mismatch/);

    const reserved = Buffer.from(z);
    reserved[z.length - 5] |= 0x04;
    expect(await fails(reserved)).toMatch(/reserved descriptor bits are set \(descriptor 0x84\)/);

    const count = Buffer.from(z);
    count.writeUInt32LE(frames.length - 1, z.length - 9);
    expect(await fails(count)).toMatch(/seek table: the footer lists \d+ frames \(\d+ bytes\) but the table frame is \d+ bytes/);

    const extra = Buffer.concat([sh('zstd -q -c', Buffer.from('more')), z]);  // one frame more than the table lists
    expect(await fails(extra)).toMatch(new RegExp(`lists ${frames.length} frames, but ${frames.length + 1} precede it`));

    // Unchecked, the same stream decodes (the table is only a skippable frame).
    const ok = await throughFile('filter-unzstd', { 'verify-seek-table': false }, sizes, tmp);
    expect(errorOf(ok.outcome)).toBe('');
    expect(ok.out.equals(input)).toBe(true);
  });

  it('a seek table whose Frame_Size is wrong makes the stream unreadable, with an offset', async () => {
    const z = await seekable(400_000);
    const { tableSize } = readSeekTable(z);
    const bad = Buffer.from(z);
    bad.writeUInt32LE(tableSize, z.length - tableSize + 4);  // 8 bytes too long: runs past the end
    expect(await fails(bad)).toMatch(new RegExp(`truncated input: it ends inside the frame at input offset ${z.length - tableSize}`));
  });
});

describe('filter-unzstd cancel and failure', () => {
  it('cancel while decoding an endless stream ends cleanly', async () => {
    const { error } = await runClean([
      element('source-random', { length: 0, seed: 5 }), element('filter-zstd', { level: 1, workers: 2 }), element('filter-unzstd'),
      element('dest-null'),
    ], { during: (x) => setTimeout(() => x.cancel(), 200) });
    expect(error?.cancelled).toBe(true);
  });

  it('a failing destination stops the decoder and its writer thread', async () => {
    const { error } = await runClean([
      element('source-test', { length: 8_000_000, seed: 6 }), element('filter-zstd', { level: 1 }), element('filter-unzstd'),
      element('dest-buffer', { 'max-size': 300_000 }),
    ]);
    expect(error?.element).toBe('dest-buffer#4');
  });
});

