// The tape device against the st emulator (csrc/devices/tape_emu.cc: an image file of records and
// filemarks that answers like st(4)). No real drive was tested. Checked: the record/filemark
// layout Amanda writes (label, FM, header block + data blocks, FM, ..., FM FM), zero-padded last
// blocks, append after the last file, fixed and variable blocks, early warning (LEOM) and the end
// of tape, and dest-taper spanning two emulated tapes, read back with source-recovery.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { headerText, parseHeader } from '../../src/media/header.js';
import { labelVolume, scanVolume } from '../../src/media/volume.js';
import type { PartDoneMessage } from '../../src/messages.js';
import { element, runClean } from '../helpers.js';
import { bytes, dumpHeader, partDone, readFile, tmp, writeFile } from './media-helpers.js';

let root: string;
beforeAll(() => {
  root = tmp('xfa-tape-');
});

/** A blank emulated tape: capacity and early-warning point in bytes of data. */
function blank(name: string, capacity = 64 << 20, ew = capacity): string {
  const path = join(root, name);
  writeFileSync(path, `XFATAPE1 ${capacity} ${ew}\n`.padEnd(64, ' '));
  return path;
}

/** The image as the emulator stores it: record sizes, 'FM' for filemarks. */
function records(path: string): Array<number | 'FM'> {
  const b = readFileSync(path);
  const out: Array<number | 'FM'> = [];
  for (let off = 64; off < b.length;) {
    const n = b.readUInt32LE(off);
    if (n === 0xffffffff) {
      out.push('FM');
      off += 4;
    } else {
      out.push(n);
      off += 4 + n;
    }
  }
  return out;
}
function recordData(path: string, index: number): Buffer {
  const b = readFileSync(path);
  let i = 0;
  for (let off = 64; off < b.length; i++) {
    const n = b.readUInt32LE(off);
    if (i === index) return b.subarray(off + 4, off + 4 + n);
    off += 4 + (n === 0xffffffff ? 0 : n);
  }
  throw new Error('no such record');
}

const padded = (data: Buffer, bs: number) => Buffer.concat([data, Buffer.alloc((bs - (data.length % bs)) % bs)]);

describe('tape device (st emulator)', () => {
  it('label, one file, filemarks: label FM header data... FM FM; reads back zero-padded', async () => {
    const img = blank('one');
    const dev = `tape:emu:${img}`;
    labelVolume(dev, 'TAPE-01', { timestamp: '20240102030405' });
    expect(records(img)).toEqual([32768, 'FM', 'FM']);
    expect(parseHeader(recordData(img, 0))).toMatchObject({ type: 'TAPESTART', name: 'TAPE-01', datestamp: '20240102030405' });
    const data = bytes(100_000, 4);
    const w = await writeFile(dev, data, dumpHeader());
    expect(w.error).toBeUndefined();
    expect(partDone(w.messages)).toMatchObject([{ successful: true, fileno: 1, size: 100_000 }]);
    expect(records(img)).toEqual([32768, 'FM', 32768, 32768, 32768, 32768, 32768, 'FM', 'FM']);
    expect(parseHeader(recordData(img, 2))).toMatchObject({ type: 'SPLIT_FILE', name: 'client', blocksize: 32768 });
    expect(recordData(img, 6).subarray(100_000 - 3 * 32768).equals(Buffer.alloc(4 * 32768 - 100_000))).toBe(true);
    const r = await readFile(dev, 1);
    expect(r.error).toBeUndefined();
    expect(r.data!.equals(padded(data, 32768))).toBe(true);
    expect(scanVolume(dev)).toMatchObject({ label: 'TAPE-01', files: [{ file: 1 }] });
  });

  it('append goes after the last file (over the final filemark); a file past the end is TAPEEND', async () => {
    const img = blank('append');
    const dev = `tape:emu:${img}`;
    labelVolume(dev, 'TAPE-02');
    const a = bytes(70_000, 1), b = bytes(40_000, 2);
    expect((await writeFile(dev, a, dumpHeader({ disk: '/a' }))).error).toBeUndefined();
    const w = await writeFile(dev, b, dumpHeader({ disk: '/b' }), { label: 'TAPE-02' });
    expect(partDone(w.messages)[0].fileno).toBe(2);
    expect(records(img)).toEqual([32768, 'FM', 32768, 32768, 32768, 32768, 'FM', 32768, 32768, 32768, 'FM', 'FM']);
    expect(scanVolume(dev).files.map((f) => [f.file, f.header.disk])).toEqual([[1, '/a'], [2, '/b']]);
    expect((await readFile(dev, 1)).data!.equals(padded(a, 32768))).toBe(true);
    expect((await readFile(dev, 2)).data!.equals(padded(b, 32768))).toBe(true);
    expect((await readFile(dev, 3)).error?.message).toMatch(/no file 3 of volume TAPE-02: the volume ends before it/);
  });

  it('fixed-block mode (FIXED_BLOCK, 64 KiB): every record one block; variable mode with 256 KiB blocks', async () => {
    for (const [name, props, rec] of [['fixed', ['BLOCK_SIZE=64k', 'FIXED_BLOCK=true'], 65536], ['var', ['BLOCK_SIZE=256k'], 262144]] as const) {
      const img = blank(name);
      const dev = `tape:emu:${img}`;
      labelVolume(dev, 'T', { properties: [...props] });
      const data = bytes(300_000, 9);
      const w = await writeFile(dev, data, dumpHeader(), { 'device-properties': [...props] });
      expect(w.error).toBeUndefined();
      const recs = records(img);
      expect(recs.filter((r) => r !== 'FM').every((r) => r === rec)).toBe(true);
      expect(recs.filter((r) => r !== 'FM')).toHaveLength(2 + Math.ceil(300_000 / rec));
      const r = await readFile(dev, 1, { 'device-properties': [...props] });
      expect(r.error).toBeUndefined();
      expect(r.data!.equals(padded(data, rec))).toBe(true);
    }
  });

  it('early warning without LEOM fails the write (ENOSPC); with LEOM the file goes on and the end of tape is PEOM', async () => {
    const img = blank('ew', 400_000, 200_000);
    const dev = `tape:emu:${img}`;
    labelVolume(dev, 'EW');
    const noLeom = await writeFile(dev, bytes(300_000, 3), dumpHeader());
    expect(noLeom.error?.message).toMatch(/write_block tape:emu:.*: ENOSPC/);
    labelVolume(dev, 'EW');
    const leom = await writeFile(dev, bytes(300_000, 3), dumpHeader(), { 'device-properties': ['LEOM=true'] });
    expect(leom.error).toBeUndefined();
    expect(partDone(leom.messages)[0]).toMatchObject({ successful: true, eom: true });
    labelVolume(dev, 'EW');
    const full = await writeFile(dev, bytes(500_000, 3), dumpHeader(), { 'device-properties': ['LEOM=true'] });
    expect(partDone(full.messages)[0]).toMatchObject({ successful: false, eom: true, reason: 'peom' });
  });

  it('dest-taper spans two emulated tapes at LEOM (chg-multi brace list); source-recovery reads it back, seeking by blocks', async () => {
    const a = blank('span-1', 1 << 20, 800_000), b = blank('span-2', 1 << 20, 800_000);
    const changer = `chg-multi:tape:emu:${root}/span-{1,2}`;
    const data = bytes(1_200_000, 12);
    mkdirSync(join(root, 'src'), { recursive: true });
    writeFileSync(join(root, 'src', 'd'), data);
    const header = headerText(dumpHeader({ type: 'FILE' }));
    const out = await runClean([element('source-file', { path: join(root, 'src', 'd') }), element('dest-taper', {
      changer, header, 'part-size': '256KiB', 'label-template': 'TAPE-$s', 'device-properties': ['LEOM=true'] })]);
    expect(out.error).toBeUndefined();
    const parts = partDone(out.messages) as Array<PartDoneMessage & { label: string }>;
    expect(parts.some((p) => p.reason === 'leom' && p.label === 'TAPE-1')).toBe(true);
    expect(parts.at(-1)!.label).toBe('TAPE-2');
    expect(records(a).slice(-2)).toEqual(['FM', 'FM']);
    expect(records(b)[0]).toBe(32768);
    const back = await runClean([element('source-recovery', { changer, header }), element('dest-buffer', { 'max-size': 4 << 20 })]);
    expect(back.error).toBeUndefined();
    expect(back.xfer.result(1)!.equals(padded(data, 32768))).toBe(true);
    const list = parts.map((p) => `${p.label}:${p.fileno}:${p.size}`);
    const range = await runClean([element('source-recovery', { changer, header, parts: list, offset: 600_000, size: 300_000 }),
      element('dest-buffer', { 'max-size': 4 << 20 })]);
    expect(range.error).toBeUndefined();
    expect(range.xfer.result(1)!.equals(data.subarray(600_000, 900_000))).toBe(true);
  });

  it('PEOM on tape (no LEOM): the cut-off part stays on tape 1 (tape cannot remove it), the retry is on tape 2; a scan skips the partial copy', async () => {
    blank('peom-1', 1 << 20, 1 << 20);
    blank('peom-2', 1 << 20, 1 << 20);
    const changer = `chg-multi:tape:emu:${root}/peom-{1,2}`;
    const data = bytes(1_500_000, 13);
    writeFileSync(join(root, 'peom-src'), data);
    const header = headerText(dumpHeader({ type: 'FILE' }));
    const out = await runClean([element('source-file', { path: join(root, 'peom-src') }), element('dest-taper', {
      changer, header, 'part-size': '320KiB', 'part-cache': 'memory', 'label-template': 'T-$s' })]);
    expect(out.error).toBeUndefined();
    const parts = partDone(out.messages) as Array<PartDoneMessage & { label: string }>;
    const failed = parts.find((p) => !p.successful)!;
    expect(failed).toMatchObject({ label: 'T-1', reason: 'peom', eom: true });
    const onTape1 = scanVolume(`tape:emu:${root}/peom-1`).files;
    expect(onTape1.at(-1)!.header.partnum).toBe(failed.partnum); // the partial copy
    expect(scanVolume(`tape:emu:${root}/peom-2`).files[0].header.partnum).toBe(failed.partnum);
    const back = await runClean([element('source-recovery', { changer, header }), element('dest-buffer', { 'max-size': 4 << 20 })]);
    expect(back.error).toBeUndefined();
    expect(back.messages.some((m) => m.type === 'info' && /cut off by the end of the volume and retried on the next one/.test(m.message))).toBe(true);
    expect(back.xfer.result(1)!.equals(padded(data, 32768))).toBe(true);
  });

  it('no tape loaded (no image) is VOLUME_MISSING; a blank tape is unlabeled', async () => {
    expect(() => scanVolume(`tape:emu:${join(root, 'nothing')}`)).toThrow(/no tape loaded/);
    expect(() => scanVolume(`tape:emu:${blank('blank')}`)).toThrow(/blank tape/);
  });
});
