// The volume functions (src/media/volume.ts) over the C++ devices: labeling (which erases),
// scanning, status flags for changers, vtape details (the label file, USE_DATA, files that are not
// ours), and errors that name the device and the cause.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { HEADER_SIZE, parseHeader } from '../../src/media/header.js';
import { labelVolume, propertyStrings, scanVolume, volumeStatus } from '../../src/media/volume.js';
import { bytes, dumpHeader, mkdirp, readFile, tmp, writeFile } from './media-helpers.js';

let root: string;
beforeAll(() => {
  root = tmp('xfa-volume-');
});

describe('volumes', () => {
  it('labelVolume writes 00000.LABEL, a 32 KiB TAPESTART header, and erases only Amanda files', async () => {
    const dir = mkdirp(join(root, 'label'));
    labelVolume(`file:${dir}`, 'OLD-1');
    await writeFile(`file:${dir}`, bytes(100), dumpHeader());
    writeFileSync(join(dir, 'notes.txt'), 'not a volume file');
    labelVolume(`file:${dir}`, 'NEW-1', { timestamp: '20240102' });
    expect(readdirSync(dir).sort()).toEqual(['00000.NEW-1', 'notes.txt']);
    const raw = readFileSync(join(dir, '00000.NEW-1'));
    expect(raw.length).toBe(HEADER_SIZE);
    expect(raw.subarray(0, 48).toString('latin1')).toBe('AMANDA: TAPESTART DATE 20240102 TAPE NEW-1\n\f\n\0\0\0');
    expect(scanVolume(`file:${dir}`)).toEqual({ label: 'NEW-1', datestamp: '20240102', files: [] });
    labelVolume(`file:${dir}`, 'BLANK-DATE');
    expect(scanVolume(`file:${dir}`).datestamp).toBe('X');
  });

  it('scanVolume gives every file\'s header and stored text', async () => {
    const dir = mkdirp(join(root, 'scan'));
    labelVolume(`file:${dir}`, 'SCAN-1');
    await writeFile(`file:${dir}`, bytes(10), dumpHeader({ disk: 'C:/Docs and Settings', dumplevel: 2 }));
    const { files } = scanVolume(`file:${dir}`);
    expect(files).toHaveLength(1);
    expect(files[0].header).toMatchObject({ disk: 'C:/Docs and Settings', dumplevel: 2, blocksize: 32768 });
    expect(files[0].text.split('\n')[0]).toBe('AMANDA: SPLIT_FILE 20240102030405 client "C:/Docs and Settings"  part 1/-1  lev 2 comp N program /bin/tar');
    expect(readdirSync(dir)).toContain('00001.client.C__Docs and Settings.2');
    expect(parseHeader(files[0].text)).toEqual(files[0].header);
  });

  it('volumeStatus: missing, unlabeled, not Amanda\'s, labeled', () => {
    expect(volumeStatus(`file:${join(root, 'absent')}`)).toMatchObject({ status: ['VOLUME_MISSING'] });
    const blank = mkdirp(join(root, 'blank'));
    expect(volumeStatus(`file:${blank}`)).toEqual({
      status: ['VOLUME_UNLABELED'], error: `read_label file:${blank}: the volume is unlabeled (no 00000.* label file in ${blank})` });
    writeFileSync(join(blank, '00000.junk'), 'PK\x03\x04 a zip file');
    expect(volumeStatus(`file:${blank}`).error).toBe(`read_label file:${blank}: ${blank}/00000.junk is not an Amanda label: it starts with "PK.. a zip file"`);
    const dir = mkdirp(join(root, 'ok'));
    labelVolume(`diskflat:${join(dir, 'v.img')}`, 'FLAT-9', { timestamp: '20240102030405' });
    expect(volumeStatus(`diskflat:${join(dir, 'v.img')}`)).toEqual({ label: 'FLAT-9', datestamp: '20240102030405', status: [] });
    expect(volumeStatus('null:')).toMatchObject({ status: ['VOLUME_UNLABELED'], error: 'read_label null:: the null device has no label' });
  });

  it('USE_DATA: a vtape with a data/ directory keeps its files there (auto), or not (no)', async () => {
    const dir = mkdirp(join(root, 'withdata'));
    mkdirp(join(dir, 'data'));
    labelVolume(`file:${dir}`, 'DATA-1');
    expect(readdirSync(join(dir, 'data'))).toEqual(['00000.DATA-1']);
    await writeFile(`file:${dir}`, bytes(1000, 5), dumpHeader());
    expect((await readFile(`file:${dir}`, 1)).data!.equals(bytes(1000, 5))).toBe(true);
    expect(volumeStatus(`file:${dir}`, { USE_DATA: 'no' }).status).toEqual(['VOLUME_UNLABELED']);
    expect(volumeStatus(`file:${dir}`, ['use-data=yes'])).toMatchObject({ label: 'DATA-1' });
  });

  it('errors name the device and the cause', () => {
    expect(() => scanVolume(`file:${join(root, 'nothing')}`)).toThrow(/^open file:.*nothing: ENOENT: no such file or directory: no vtape directory/);
    expect(() => labelVolume(`file:${root}/label`, 'HAS SPACE')).toThrow(/start file:.*: label: build Amanda header|volume label "HAS SPACE" contains a space/);
    expect(() => labelVolume(`file:${join(root, 'nodir')}`, 'L')).toThrow(/^open file:.*nodir: ENOENT/);
    expect(() => scanVolume('floppy:/dev/fd0')).toThrow('open device "floppy:/dev/fd0": unknown device type "floppy" (known: file, diskflat, null, tape, rait)');
    expect(() => scanVolume(`file:${root}`, { BLOCK_SIZE: 0 })).toThrow(`set_property BLOCK_SIZE file:${root}: 0 is outside 1..1073741824`);
    expect(existsSync(join(root, 'nodir'))).toBe(false);
  });

  it('propertyStrings takes objects and NAME=VALUE lists', () => {
    expect(propertyStrings({ BLOCK_SIZE: '64k', LEOM: false, MAX_VOLUME_USAGE: 1024 })).toEqual(['BLOCK_SIZE=64k', 'LEOM=false', 'MAX_VOLUME_USAGE=1024']);
    expect(propertyStrings(['A=1'])).toEqual(['A=1']);
    expect(propertyStrings(undefined)).toEqual([]);
  });
});
