// source-device: reads one file of a vtape or diskflat volume — data only or the raw header too,
// any read block size — and fails clearly on damaged or missing media: a missing volume, a wrong
// label, a missing file, a file past the end, a truncated file, a garbage or blank header.
import { readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { HEADER_SIZE, parseHeader } from '../../src/media/header.js';
import { labelVolume, volumeStatus } from '../../src/media/volume.js';
import type { InfoMessage } from '../../src/messages.js';
import { bytes, crc32c, crcOf, dumpHeader, mkdirp, readFile, tmp, writeFile } from '../media/media-helpers.js';

let root: string;
let vol: string;
const data = [bytes(70_000, 1), bytes(1, 2), bytes(300_000, 3)];

beforeAll(async () => {
  root = tmp('xfa-source-device-');
  vol = mkdirp(join(root, 'slot1'));
  labelVolume(`file:${vol}`, 'SRC-1', { timestamp: '20240102030405' });
  for (let i = 0; i < data.length; i++) {
    const w = await writeFile(`file:${vol}`, data[i], dumpHeader({ partnum: i + 1, disk: `/d${i + 1}` }));
    expect(w.error).toBeUndefined();
  }
});

/** A copy of the volume to damage. */
function copyVolume(name: string): string {
  const dir = mkdirp(join(root, name));
  for (const f of ['00000.SRC-1', '00001.client._d1.0', '00002.client._d2.0', '00003.client._d3.0'])
    writeFileSync(join(dir, f), readFileSync(join(vol, f)));
  return dir;
}

describe('source-device: reading', () => {
  it('reads each file\'s data, reports its header in an info message and the CRC at EOF', async () => {
    for (let i = 0; i < data.length; i++) {
      const r = await readFile(`file:${vol}`, i + 1, { label: 'SRC-1' });
      expect(r.error).toBeUndefined();
      expect(r.data!.equals(data[i])).toBe(true);
      expect(crcOf(r.messages, 'source-device#1')).toMatchObject({ crc: crc32c(data[i]), size: data[i].length });
      const info = r.messages.find((m): m is InfoMessage & { label: string; file: number; header: string } => m.type === 'info' && m.elt === 'source-device#1');
      expect(info).toMatchObject({ label: 'SRC-1', file: i + 1 });
      expect(info!.message).toBe(`file ${i + 1} of volume SRC-1: AMANDA: SPLIT_FILE 20240102030405 client /d${i + 1}  part ${i + 1}/-1  lev 0 comp N program /bin/tar`);
      expect(parseHeader(info!.header)).toMatchObject({ partnum: i + 1, disk: `/d${i + 1}` });
    }
  });

  it('header=keep gives the stored file byte for byte (amrestore -r)', async () => {
    const r = await readFile(`file:${vol}`, 3, { header: 'keep' });
    expect(r.data!.equals(readFileSync(join(vol, '00003.client._d3.0')))).toBe(true);
    expect(r.data!.length).toBe(HEADER_SIZE + data[2].length);
  });

  it('any read block size gives the same bytes (1 byte to 1 MiB)', async () => {
    for (const bs of ['1', '4096', '32k', '100000', '1m']) {
      const r = await readFile(`file:${vol}`, 3, { 'device-properties': [`BLOCK_SIZE=${bs}`] });
      expect(r.data!.equals(data[2]), bs).toBe(true);
    }
  });
});

describe('source-device: damaged and missing media', () => {
  it('a missing volume', async () => {
    const r = await readFile(`file:${join(root, 'gone')}`, 1);
    expect(r.error?.message).toMatch(/^source-device#1: open file:.*gone: ENOENT: no such file or directory: no vtape directory/);
    expect(volumeStatus(`file:${join(root, 'gone')}`).status).toEqual(['VOLUME_MISSING']);
  });

  it('a wrong label', async () => {
    const r = await readFile(`file:${vol}`, 1, { label: 'SRC-2' });
    expect(r.error?.message).toBe(`source-device#1: start file:${vol}: the volume is labeled "SRC-1", not "SRC-2"`);
  });

  it('a file past the end of the volume', async () => {
    const r = await readFile(`file:${vol}`, 4);
    expect(r.error?.message).toBe(`source-device#1: seek_file 4 file:${vol}: no file 4 of volume SRC-1: the volume ends before it`);
  });

  it('a file missing in the middle', async () => {
    const dir = copyVolume('hole');
    rmSync(join(dir, '00002.client._d2.0'));
    const r = await readFile(`file:${dir}`, 2);
    expect(r.error?.message).toBe(`source-device#1: seek_file 2 file:${dir}: ENOENT: no such file or directory: volume SRC-1 has no file 2 (the next one is 00003.client._d3.0)`);
    expect((await readFile(`file:${dir}`, 3)).data!.equals(data[2])).toBe(true);
  });

  it('a file truncated inside its header', async () => {
    const dir = copyVolume('trunc');
    truncateSync(join(dir, '00001.client._d1.0'), 1000);
    const r = await readFile(`file:${dir}`, 1);
    expect(r.error?.message).toBe(`source-device#1: seek_file 1 file:${dir}: ${dir}/00001.client._d1.0 is truncated: 1000 bytes, less than its 32768-byte header`);
  });

  it('a file truncated inside its data reads what is there (a short dump is the reader\'s to judge by size and CRC)', async () => {
    const dir = copyVolume('truncdata');
    truncateSync(join(dir, '00003.client._d3.0'), HEADER_SIZE + 1000);
    const r = await readFile(`file:${dir}`, 3);
    expect(r.data!.equals(data[2].subarray(0, 1000))).toBe(true);
    expect(crcOf(r.messages)).toMatchObject({ size: 1000 });
  });

  it('a garbage header, a blank header, a header with a broken field', async () => {
    const dir = copyVolume('garbage');
    const f1 = join(dir, '00001.client._d1.0');
    const raw = readFileSync(f1);
    raw.write('\x1f\x8bgzip?', 0, 'latin1');
    writeFileSync(f1, raw);
    const shown = raw.subarray(0, 32).toString('latin1').replace(/[^\x20-\x7e]/g, '.');
    expect(shown).toBe('..gzip? SPLIT_FILE 2024010203040');
    expect((await readFile(`file:${dir}`, 1)).error?.message).toBe(
      `source-device#1: seek_file 1 file:${dir}: ${f1} does not start with an Amanda header: it starts with "${shown}"`);
    const f2 = join(dir, '00002.client._d2.0');
    const blank = readFileSync(f2);
    blank.fill(0, 0, HEADER_SIZE);
    writeFileSync(f2, blank);
    expect((await readFile(`file:${dir}`, 2)).error?.message).toBe(
      `source-device#1: seek_file 2 file:${dir}: ${f2} does not start with an Amanda header: the first block is empty (NUL bytes)`);
    const f3 = join(dir, '00003.client._d3.0');
    const bad = readFileSync(f3);
    bad.write('lev x', bad.indexOf('lev 0'), 'latin1');
    writeFileSync(f3, bad);
    expect((await readFile(`file:${dir}`, 3)).error?.message).toBe(`source-device#1: seek_file 3 file:${dir}: ${f3}: invalid dump level "x"`);
  });

  it('a damaged label: the volume reads as unlabeled', async () => {
    const dir = copyVolume('badlabel');
    writeFileSync(join(dir, '00000.SRC-1'), Buffer.alloc(HEADER_SIZE));
    const r = await readFile(`file:${dir}`, 1);
    expect(r.error?.message).toMatch(/^source-device#1: read_label file:.*badlabel: .*00000\.SRC-1 is not an Amanda label: the first block is empty \(NUL bytes\)$/);
    expect(volumeStatus(`file:${dir}`).status).toEqual(['VOLUME_UNLABELED']);
    expect(volumeStatus(`file:${vol}`)).toEqual({ label: 'SRC-1', datestamp: '20240102030405', status: [] });
  });
});
