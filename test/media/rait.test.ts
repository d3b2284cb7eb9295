// rait: a 3+1 XOR-parity set and a 2-way mirror over vtapes — the block-size rule, what each
// child holds, and degraded reads: with any one child's file (or whole volume) gone the data
// reads back identical; two gone is an error; writing degraded is refused.
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { HEADER_SIZE } from '../../src/media/header.js';
import { labelVolume, scanVolume } from '../../src/media/volume.js';
import { Xfer } from '../../src/xfer.js';
import { element } from '../helpers.js';
import { bytes, dumpHeader, partDone, readFile, tmp, writeFile } from './media-helpers.js';

let root: string;
beforeAll(() => {
  root = tmp('xfa-rait-');
});

function set(name: string, kids: string[]): { dirs: string[]; spec: string } {
  const dirs = kids.map((k) => join(root, name, k));
  for (const d of dirs) mkdirSync(d, { recursive: true });
  return { dirs, spec: `rait:file:${join(root, name)}/{${kids.join(',')}}` };
}
const fileIn = (dir: string, n: number) => join(dir, readdirSync(dir).find((f) => f.startsWith(`${String(n).padStart(5, '0')}.`))!);
const padded = (data: Buffer, bs: number) => Buffer.concat([data, Buffer.alloc((bs - (data.length % bs)) % bs)]);

describe('rait: 3+1 XOR parity', () => {
  const data = bytes(1_000_000, 21);
  const RB = 3 * 32768;

  it('block size 3 x 32 KiB; each child holds its chunks, the last one the XOR; every child labeled', async () => {
    const { dirs, spec } = set('p', ['a', 'b', 'c', 'd']);
    labelVolume(spec, 'RAIT-1');
    for (const d of dirs) expect(scanVolume(`file:${d}`).label).toBe('RAIT-1');
    const w = await writeFile(spec, data, dumpHeader());
    expect(w.error).toBeUndefined();
    expect(partDone(w.messages)[0]).toMatchObject({ successful: true, size: data.length, fileno: 1 });
    const kids = dirs.map((d) => readFileSync(fileIn(d, 1)).subarray(HEADER_SIZE));
    const blocks = Math.ceil(data.length / RB);
    for (const k of kids) expect(k.length).toBe(blocks * 32768);
    const p = padded(data, RB);
    for (let b = 0; b < blocks; b++) {
      for (let i = 0; i < 3; i++) expect(kids[i].subarray(b * 32768, (b + 1) * 32768).equals(p.subarray(b * RB + i * 32768, b * RB + (i + 1) * 32768))).toBe(true);
    }
    const x = Buffer.alloc(kids[0].length);
    for (let j = 0; j < x.length; j++) x[j] = kids[0][j] ^ kids[1][j] ^ kids[2][j];
    expect(kids[3].equals(x)).toBe(true);
    const r = await readFile(spec, 1);
    expect(r.error).toBeUndefined();
    expect(r.data!.equals(p)).toBe(true);
  });

  for (const lost of ['a', 'b', 'c', 'd']) {
    it(`child ${lost}'s file deleted: degraded read rebuilds it, identical`, async () => {
      const { dirs, spec } = set(`deg-${lost}`, ['a', 'b', 'c', 'd']);
      labelVolume(spec, 'RAIT-2');
      expect((await writeFile(spec, data, dumpHeader())).error).toBeUndefined();
      rmSync(fileIn(dirs['abcd'.indexOf(lost)], 1));
      const r = await readFile(spec, 1);
      expect(r.error).toBeUndefined();
      expect(r.data!.equals(padded(data, RB))).toBe(true);
    });
  }

  it('a whole child volume gone, or named MISSING: reads work; writing degraded is refused; two gone is an error', async () => {
    const { dirs, spec } = set('gone', ['a', 'b', 'c', 'd']);
    labelVolume(spec, 'RAIT-3');
    expect((await writeFile(spec, data, dumpHeader())).error).toBeUndefined();
    rmSync(dirs[1], { recursive: true });
    expect((await readFile(spec, 1)).data!.equals(padded(data, RB))).toBe(true);
    const missing = `rait:{file:${dirs[0]},MISSING,file:${dirs[2]},file:${dirs[3]}}`;
    expect((await readFile(missing, 1)).data!.equals(padded(data, RB))).toBe(true);
    expect((await writeFile(missing, data, dumpHeader())).error?.message).toMatch(/degraded \(MISSING failed\): writing needs every child/);
    rmSync(fileIn(dirs[2], 1));
    expect((await readFile(spec, 1)).error?.message).toMatch(/^source-device#1: seek_file 1 rait:.*: ENOENT: .*: file:.*\/gone\/c has no file 1$/);
  });

  it('BLOCK_SIZE must divide by the data children', () => {
    const { spec } = set('bs', ['a', 'b', 'c', 'd']);
    expect(() => new Xfer([element('source-random', { length: 1, seed: 1 }),
      element('dest-device', { device: spec, header: 'AMANDA: FILE 20240102030405 h /d lev 0 comp N program x', 'device-properties': ['BLOCK_SIZE=100000'] })]))
      .toThrow(/100000 does not divide by the 3 data children/);
  });
});

describe('rait: 2-way mirror', () => {
  it('both children hold the same file (short last block kept); either one deleted reads back identical', async () => {
    const data = bytes(250_001, 8);
    for (const lost of [0, 1]) {
      const { dirs, spec } = set(`m${lost}`, ['x', 'y']);
      labelVolume(spec, 'MIRROR');
      expect((await writeFile(spec, data, dumpHeader())).error).toBeUndefined();
      const [x, y] = dirs.map((d) => readFileSync(fileIn(d, 1)));
      expect(x.equals(y)).toBe(true);
      expect(x.subarray(HEADER_SIZE).equals(data)).toBe(true);
      rmSync(fileIn(dirs[lost], 1));
      const r = await readFile(spec, 1);
      expect(r.error).toBeUndefined();
      expect(r.data!.equals(data)).toBe(true);
    }
  });
});
