// filter-gunzip: reads what the real `gzip` and `pigz` write (names in headers, every level,
// concatenated files), one slice per member at random input chunk sizes, and fails with the member
// and input offset on corrupt, truncated, trailing-garbage, non-gzip and empty input.
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { element, runClean } from '../helpers.js';
import { errorOf, requireTool, rng, semiCompressible, sh, shStatus, slices, tempDir, throughFile } from './codec-helpers.js';

const tmp = tempDir();
const input = semiCompressible(2_000_000, 31);
beforeAll(() => {
  requireTool('gzip', 'apt-get install -y gzip');
  requireTool('pigz', 'apt-get install -y pigz');
});
afterAll(() => tmp.cleanup());

describe('filter-gunzip reads gzip and pigz', () => {
  it('gzip CLI output (file name in the header) at every level, and pigz output', async () => {
    writeFileSync(tmp.path('named.txt'), input);
    const streams = [1, 5, 9].map((l) => [`gzip -${l}`, sh(`gzip -${l} -c ${tmp.path('named.txt')}`)] as const);
    streams.push(['pigz -p2', sh(`pigz -6 -p2 -c ${tmp.path('named.txt')}`)], ['pigz -i', sh(`pigz -1 -i -p2 -c ${tmp.path('named.txt')}`)]);
    for (const [what, gz] of streams) {
      expect(gz[3] & 0x08, `${what} has FNAME`).toBe(8);
      const { out, outcome } = await throughFile('filter-gunzip', {}, gz, tmp);
      expect(errorOf(outcome), what).toBe('');
      expect(out.equals(input), what).toBe(true);
    }
  });

  it('concatenated .gz files: one slice per member, with its compressed and output ranges', async () => {
    const parts = [input.subarray(0, 700_000), input.subarray(700_000, 700_001), input.subarray(700_001)];
    const gz = parts.map((p) => sh('gzip -c', p));
    const empty = sh('gzip -c', Buffer.alloc(0));
    const stream = Buffer.concat([gz[0], empty, gz[1], gz[2]]);
    const { out, outcome } = await throughFile('filter-gunzip', {}, stream, tmp);
    expect(errorOf(outcome)).toBe('');
    expect(out.equals(input)).toBe(true);
    const at1 = gz[0].length + empty.length;
    expect(slices(outcome.messages, 'filter-gunzip#2').map((m) => [m.slice, m.inOffset, m.inLength, m.outOffset, m.outLength])).toEqual([
      [0, 0, gz[0].length, 0, 700_000],
      [1, at1, gz[1].length, 700_000, 1],
      [2, at1 + gz[1].length, gz[2].length, 700_001, parts[2].length],
    ]);
    const quiet = await throughFile('filter-gunzip', { 'member-slices': false }, stream, tmp);
    expect(slices(quiet.outcome.messages, 'filter-gunzip#2')).toEqual([]);
    expect(quiet.out.equals(input)).toBe(true);
  });

  it('random input chunk sizes (seeded) give the same members', async () => {
    const r = rng(3);
    for (let i = 0; i < 4; i++) {
      const length = 50_000 + Math.floor(r() * 1_000_000);
      const { messages, error } = await runClean([
        element('source-test', { length, seed: 70 + i, 'max-chunk': 1 + Math.floor(r() * 100_000) }),
        element('filter-gzip', { 'slice-size': 1 + Math.floor(r() * 200_000), workers: 2, level: 1 }),
        element('filter-process', { cmd: `dd bs=${1 + Math.floor(r() * 5000)} status=none` }),  // re-chunks the stream
        element('filter-gunzip'),
        element('dest-test', { length, seed: 70 + i }),
      ]);
      expect(error?.message).toBeUndefined();
      const g = slices(messages, 'filter-gzip#2');
      expect(slices(messages, 'filter-gunzip#4').map((m) => [m.inOffset, m.inLength, m.outOffset, m.outLength]))
        .toEqual(g.map((m) => [m.outOffset, m.outLength, m.inOffset, m.inLength]));
    }
  });
});

describe('filter-gunzip bad input', () => {
  async function fails(stream: Buffer): Promise<string> {
    const { outcome } = await throughFile('filter-gunzip', {}, stream, tmp);
    expect(outcome.error?.element).toBe('filter-gunzip#2');
    return errorOf(outcome);
  }
  const gz = sh('gzip -6 -c', input);

  it('corrupt deflate data, a wrong CRC, a wrong length: member and offset named', async () => {
    const two = Buffer.concat([sh('gzip -c', Buffer.from('first member\n')), gz]);
    const at = two.length - gz.length;
    const data = Buffer.from(two);
    data[at + 5000] ^= 0xff;
    expect(await fails(data)).toMatch(new RegExp(`filter-gunzip#2: inflate: member 1 at input offset ${at}: .+ \\(input byte \\d+\\)`));
    const crc = Buffer.from(gz);
    crc[crc.length - 8] ^= 1;
    expect(await fails(crc)).toMatch(/member 0 at input offset 0: incorrect data check/);
    const len = Buffer.from(gz);
    len[len.length - 1] ^= 1;
    expect(await fails(len)).toMatch(/incorrect length check/);
    expect(shStatus('gzip -d -c', crc).status).not.toBe(0);
  });

  it('truncated, trailing garbage, not gzip, empty', async () => {
    expect(await fails(gz.subarray(0, gz.length - 3))).toMatch(/truncated input: it ends inside member 0 at input offset 0/);
    expect(await fails(Buffer.concat([gz, Buffer.from('garbage after the member')]))).toMatch(new RegExp(`member 1 at input offset ${gz.length}: not a gzip member \\(trailing garbage\\?\\)`));
    expect(await fails(Buffer.from('plain text, not gzip'))).toMatch(/member 0 at input offset 0: incorrect header check/);
    expect(await fails(Buffer.alloc(0))).toMatch(/empty input: not gzip data/);
  });
});

describe('filter-gunzip cancel', () => {
  it('cancel while decoding an endless stream ends cleanly', async () => {
    const { error } = await runClean([
      element('source-random', { length: 0, seed: 7 }), element('filter-gzip', { level: 1, workers: 2 }), element('filter-gunzip'),
      element('dest-null'),
    ], { during: (x) => setTimeout(() => x.cancel(), 200) });
    expect(error?.cancelled).toBe(true);
  });
});

