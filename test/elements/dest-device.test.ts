// dest-device on vtapes (file:), diskflat and null: the on-media layout byte for byte, re-blocking,
// append/relabel and label checks, LEOM/PEOM at MAX_VOLUME_USAGE, a real full filesystem (tmpfs),
// cancel, and every bad input failing with the element, the operation and the cause.
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEADER_SIZE, headerText, parseHeader, vtapeFileName } from '../../src/media/header.js';
import { labelVolume, scanVolume } from '../../src/media/volume.js';
import { Xfer } from '../../src/xfer.js';
import { element, runClean } from '../helpers.js';
import { bytes, crc32c, crcOf, dumpHeader, fill, mkdirp, partDone, readFile, tmp, tmpfs, writeFile } from '../media/media-helpers.js';

let root: string;
beforeAll(() => {
  root = tmp('xfa-dest-device-');
});

function vtape(name: string, label = name.toUpperCase()): string {
  const dir = mkdirp(join(root, name));
  labelVolume(`file:${dir}`, label, { timestamp: '20240102030405' });
  return dir;
}

const fileOf = (dir: string, n: number) => readdirSync(dir).find((f) => f.startsWith(`${String(n).padStart(5, '0')}.`));

describe('dest-device: vtape layout', () => {
  for (const size of [0, 1, 32767, 32768, 32769, 100_000, (1 << 20) + 5]) {
    it(`${size} bytes: the file is the 32 KiB header then exactly the data, and reads back`, async () => {
      const dir = vtape(`v${size}`);
      const data = bytes(size, size + 1);
      const h = dumpHeader();
      const w = await writeFile(`file:${dir}`, data, h);
      expect(w.error).toBeUndefined();
      const name = fileOf(dir, 1)!;
      expect(name).toBe(vtapeFileName(1, h));
      expect(name).toBe('00001.client._home.0');
      const raw = readFileSync(join(dir, name));
      expect(raw.length).toBe(HEADER_SIZE + size);
      expect(parseHeader(raw.subarray(0, HEADER_SIZE))).toMatchObject({ ...h, blocksize: 32768 });
      expect(raw.subarray(0, HEADER_SIZE).toString('latin1')).toBe(headerText({ ...h, blocksize: 32768 }).padEnd(HEADER_SIZE, '\0'));
      expect(raw.subarray(HEADER_SIZE).equals(data)).toBe(true);
      expect(crcOf(w.messages)).toMatchObject({ crc: crc32c(data), size });
      expect(partDone(w.messages)).toMatchObject([{ successful: true, eof: true, eom: false, size, fileno: 1, partnum: 1, reason: 'eof' }]);
      const r = await readFile(`file:${dir}`, 1);
      expect(r.error).toBeUndefined();
      expect(r.data!.equals(data)).toBe(true);
      expect(crcOf(r.messages)).toMatchObject({ crc: crc32c(data), size });
    });
  }

  for (const bs of ['1000', '64k', '1m']) {
    it(`BLOCK_SIZE=${bs}: data re-blocked, read back with another block size`, async () => {
      const dir = vtape(`bs${bs}`);
      const data = bytes(700_001, 7);
      const w = await writeFile(`file:${dir}`, data, dumpHeader(), { 'device-properties': [`BLOCK_SIZE=${bs}`] });
      expect(w.error).toBeUndefined();
      expect(readFileSync(join(dir, fileOf(dir, 1)!)).subarray(HEADER_SIZE).equals(data)).toBe(true);
      for (const rbs of ['32k', '256k']) {
        const r = await readFile(`file:${dir}`, 1, { 'device-properties': [`BLOCK_SIZE=${rbs}`] });
        expect(r.data!.equals(data)).toBe(true);
      }
    });
  }

  it('SHORT_BLOCKS=false (tape-like): the last block is zero-padded, never filled with stale bytes', async () => {
    const dir = vtape('padded');
    const data = bytes(100_000, 3);
    const w = await writeFile(`file:${dir}`, data, dumpHeader(), { 'device-properties': ['BLOCK_SIZE=64k', 'SHORT_BLOCKS=false'] });
    expect(w.error).toBeUndefined();
    const raw = readFileSync(join(dir, fileOf(dir, 1)!));
    expect(raw.length).toBe(HEADER_SIZE + 2 * 65536);
    expect(raw.subarray(HEADER_SIZE, HEADER_SIZE + data.length).equals(data)).toBe(true);
    expect(raw.subarray(HEADER_SIZE + data.length).every((c) => c === 0)).toBe(true);
    expect(crcOf(w.messages)).toMatchObject({ crc: crc32c(data), size: data.length });
  });

  it('append adds files 2 and 3 after the last; scanVolume lists them in order', async () => {
    const dir = vtape('append', 'APP-1');
    for (let i = 1; i <= 3; i++) {
      const w = await writeFile(`file:${dir}`, bytes(5000 * i, i), dumpHeader({ partnum: i, name: `host${i}`, disk: `/d${i}` }), { label: 'APP-1' });
      expect(partDone(w.messages)[0]).toMatchObject({ fileno: i, partnum: i });
    }
    const scan = scanVolume(`file:${dir}`);
    expect(scan).toMatchObject({ label: 'APP-1', datestamp: '20240102030405' });
    expect(scan.files.map((f) => [f.file, f.header.name, f.header.disk, f.header.partnum])).toEqual([
      [1, 'host1', '/d1', 1], [2, 'host2', '/d2', 2], [3, 'host3', '/d3', 3]]);
    expect(readdirSync(dir).sort()).toEqual(['00000.APP-1', '00001.host1._d1.0', '00002.host2._d2.0', '00003.host3._d3.0']);
  });

  it('mode=write relabels: the old files are gone, the label file is new', async () => {
    const dir = vtape('relabel', 'OLD-1');
    await writeFile(`file:${dir}`, bytes(10), dumpHeader());
    const w = await writeFile(`file:${dir}`, bytes(20), dumpHeader({ name: 'new' }), { mode: 'write', label: 'NEW-1', timestamp: '20250101000000' });
    expect(w.error).toBeUndefined();
    expect(readdirSync(dir).sort()).toEqual(['00000.NEW-1', '00001.new._home.0']);
    expect(scanVolume(`file:${dir}`)).toMatchObject({ label: 'NEW-1', datestamp: '20250101000000', files: [{ file: 1 }] });
  });

  it('FILE header (whole dump) and a header given as its first line only', async () => {
    const dir = vtape('oneline');
    const w = await writeFile(`file:${dir}`, bytes(40_000), 'AMANDA: FILE 20240102030405 host /var/lib lev 1 comp N program /bin/tar');
    expect(w.error).toBeUndefined();
    expect(partDone(w.messages)[0]).toMatchObject({ partnum: 1, fileno: 1 });
    const raw = readFileSync(join(dir, '00001.host._var_lib.1'));
    expect(raw.subarray(0, 200).toString('latin1')).toMatch(
      /^AMANDA: FILE 20240102030405 host \/var\/lib {2}lev 1 comp N program \/bin\/tar\nTo restore, position tape at start of file and run:\n\tdd if=<tape> bs=32k skip=1 \| \n\f\n\0/);
  });
});

describe('dest-device: end of volume', () => {
  it('PEOM at MAX_VOLUME_USAGE: fails, reports the part, removes the partial file, keeps the earlier one', async () => {
    const dir = vtape('peom', 'PEOM-1');
    const first = bytes(40_000, 1);
    await writeFile(`file:${dir}`, first, dumpHeader());
    const props = { 'device-properties': ['MAX_VOLUME_USAGE=400k'] };
    const w = await writeFile(`file:${dir}`, bytes(1 << 20, 2), dumpHeader({ partnum: 2 }), props);
    expect(w.error?.message).toMatch(/^dest-device#2: write_block file:\/.*peom: ENOSPC: no space left on device: .*00002\.client\._home\.0 block \d+: volume PEOM-1 is full: MAX_VOLUME_USAGE 409600 bytes reached/);
    expect(w.error?.code).toBe('ENOSPC');
    expect(partDone(w.messages)).toMatchObject([{ successful: false, eom: true, eof: false, fileno: 2, reason: 'peom' }]);
    expect(readdirSync(dir).sort()).toEqual(['00000.PEOM-1', '00001.client._home.0']);
    expect((await readFile(`file:${dir}`, 1)).data!.equals(first)).toBe(true);
    // The next append reuses file number 2.
    const again = await writeFile(`file:${dir}`, bytes(1000, 3), dumpHeader({ partnum: 2 }), props);
    expect(partDone(again.messages)[0]).toMatchObject({ successful: true, fileno: 2 });
  });

  it('LEOM: a file ending inside the 4-block warning zone succeeds with eom=true', async () => {
    const dir = vtape('leom');
    // label 32k + header 32k + 200k data = 264k; limit 300k: 36k left < 4 blocks of 32k.
    const w = await writeFile(`file:${dir}`, bytes(200 * 1024), dumpHeader(), { 'device-properties': ['MAX_VOLUME_USAGE=300k'] });
    expect(w.error).toBeUndefined();
    expect(partDone(w.messages)).toMatchObject([{ successful: true, eom: true, eof: true }]);
    const small = vtape('noleom');
    const w2 = await writeFile(`file:${small}`, bytes(100 * 1024), dumpHeader(), { 'device-properties': ['MAX_VOLUME_USAGE=300k'] });
    expect(partDone(w2.messages)).toMatchObject([{ successful: true, eom: false }]);
  });

  it('no room for even the header: fails in setup with ENOSPC before any data moves', async () => {
    const dir = vtape('nohdr');
    const w = await writeFile(`file:${dir}`, bytes(10), dumpHeader(), { 'device-properties': ['MAX_VOLUME_USAGE=40k'] });
    expect(w.error?.message).toMatch(/dest-device#2: start_file file:.*ENOSPC.*is full: MAX_VOLUME_USAGE 40960 bytes reached/);
    expect(readdirSync(dir)).toEqual(['00000.NOHDR']);
  });

  describe('a real full filesystem (1 MiB tmpfs)', () => {
    let fs: ReturnType<typeof tmpfs>;
    beforeAll(() => {
      fs = tmpfs(1 << 20);
    });
    afterAll(() => fs?.unmount());

    it('ENOSPC mid-file: the file is cut back and removed, the volume stays readable', async () => {
      const dir = mkdirp(join(fs.dir, 'vt'));
      labelVolume(`file:${dir}`, 'SMALL-1');
      const first = bytes(100_000, 9);
      expect((await writeFile(`file:${dir}`, first, dumpHeader())).error).toBeUndefined();
      const w = await writeFile(`file:${dir}`, bytes(2 << 20, 10), dumpHeader({ partnum: 2 }), { 'device-properties': ['MONITOR_FREE_SPACE=false'] });
      expect(w.error?.code).toBe('ENOSPC');
      expect(w.error?.message).toMatch(/dest-device#2: write_block file:.*: ENOSPC: no space left on device: .*00002\.client\._home\.0 block \d+: the filesystem is full; cut back to block \d+/);
      expect(partDone(w.messages)).toMatchObject([{ successful: false, eom: true, reason: 'no-space' }]);
      expect(readdirSync(dir).sort()).toEqual(['00000.SMALL-1', '00001.client._home.0']);
      expect((await readFile(`file:${dir}`, 1)).data!.equals(first)).toBe(true);
    });

    it('free-space monitoring raises LEOM before the filesystem is full', async () => {
      const dir = mkdirp(join(fs.dir, 'vt2'));
      labelVolume(`file:${dir}`, 'SMALL-2');
      const filler = fill(fs.dir, 300 * 1024);
      try {
        const w = await writeFile(`file:${dir}`, bytes(200 * 1024, 11), dumpHeader());
        expect(w.error).toBeUndefined();
        expect(partDone(w.messages)).toMatchObject([{ successful: true, eom: true }]);
      } finally {
        writeFileSync(filler, '');
      }
    });
  });
});

describe('dest-device: bad input fails with element, operation and cause', () => {
  it('a missing volume directory', async () => {
    const w = await writeFile(`file:${join(root, 'nope')}`, bytes(10), dumpHeader());
    expect(w.error?.message).toMatch(/^dest-device#2: open file:\/.*\/nope: ENOENT: no such file or directory: no vtape directory/);
  });

  it('an unlabeled volume (append)', async () => {
    const dir = mkdirp(join(root, 'blank'));
    const w = await writeFile(`file:${dir}`, bytes(10), dumpHeader());
    expect(w.error?.message).toMatch(/^dest-device#2: read_label file:.*blank: the volume is unlabeled \(no 00000\.\* label file/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a volume with another label', async () => {
    const dir = vtape('wrong', 'VOL-7');
    const w = await writeFile(`file:${dir}`, bytes(10), dumpHeader(), { label: 'VOL-8' });
    expect(w.error?.message).toBe(`dest-device#2: start file:${dir}: the volume is labeled "VOL-7", not "VOL-8"`);
    expect(readdirSync(dir)).toEqual(['00000.VOL-7']);
  });

  it('invalid headers and properties are refused when the transfer is built', () => {
    const mk = (props: Record<string, unknown>) => () =>
      new Xfer([element('source-random', { length: 10, seed: 1 }), element('dest-device', { device: 'null:', header: headerText(dumpHeader()), ...props })]);
    expect(mk({ header: 'AMANDA: FILE 2024 h /d lev 0 comp N program x' })).toThrow(/dest-device: property "header": invalid datestamp "2024"/);
    expect(mk({ header: 'hello' })).toThrow(/dest-device: property "header": not an Amanda header/);
    expect(mk({ header: 'AMANDA: TAPESTART DATE X TAPE V' })).toThrow(/a TAPESTART header; a dump needs FILE or SPLIT_FILE/);
    expect(mk({ device: 'tape9:/x' })).toThrow(/open device "tape9:\/x": unknown device type "tape9"/);
    expect(mk({ device: 'nocolon' })).toThrow(/expected TYPE:NODE/);
    expect(mk({ 'device-properties': ['BLOCK_SIZE=huge'] })).toThrow(/set_property BLOCK_SIZE null:: "huge" is not a size/);
    expect(mk({ 'device-properties': ['COLOR=red'] })).toThrow(/set_property COLOR null:: unknown property for a null device/);
    expect(mk({ 'device-properties': ['APPENDABLE=true'] })).toThrow(/the property is read-only/);
    expect(mk({ 'device-properties': ['novalue'] })).toThrow(/device property "novalue": expected NAME=VALUE/);
    expect(mk({ mode: 'write' })).toThrow(/property "label" is required with mode=write/);
    expect(mk({ mode: 'sideways' })).toThrow(/property "mode": "sideways" is not append or write/);
  });

  it('cancel mid-file leaves no partial file and nothing leaked', async () => {
    const dir = vtape('cancel');
    await writeFile(`file:${dir}`, bytes(1000), dumpHeader());
    const out = await runClean([element('source-random', { length: 0, seed: 5 }),
      element('dest-device', { device: `file:${dir}`, header: headerText(dumpHeader({ partnum: 2 })) })],
    { during: (x) => setTimeout(() => x.cancel(), 150) });
    expect(out.error?.cancelled).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['00000.CANCEL', '00001.client._home.0']);
  });
});

describe('dest-device: diskflat and null', () => {
  it('diskflat: [label][file 1 header][data] in one file; one dump per volume', async () => {
    const img = join(root, 'flat.img');
    const data = bytes(123_457, 4);
    const w = await writeFile(`diskflat:${img}`, data, dumpHeader(), { mode: 'write', label: 'FLAT-1', timestamp: '20240102030405' });
    expect(w.error).toBeUndefined();
    const raw = readFileSync(img);
    expect(raw.length).toBe(2 * HEADER_SIZE + data.length);
    expect(parseHeader(raw.subarray(0, HEADER_SIZE))).toEqual({ type: 'TAPESTART', datestamp: '20240102030405', name: 'FLAT-1' });
    expect(parseHeader(raw.subarray(HEADER_SIZE, 2 * HEADER_SIZE))).toMatchObject({ type: 'SPLIT_FILE', blocksize: 32768 });
    expect(raw.subarray(2 * HEADER_SIZE).equals(data)).toBe(true);
    expect((await readFile(`diskflat:${img}`, 1)).data!.equals(data)).toBe(true);
    expect(scanVolume(`diskflat:${img}`).files.map((f) => f.file)).toEqual([1]);
    const again = await writeFile(`diskflat:${img}`, bytes(10), dumpHeader());
    expect(again.error?.message).toMatch(/dest-device#2: start diskflat:.*: ENOTSUP: .*diskflat volumes are not appendable/);
    expect(statSync(img).size).toBe(raw.length);
    const past = await readFile(`diskflat:${img}`, 2);
    expect(past.error?.message).toMatch(/source-device#1: seek_file 2 diskflat:.*: no file 2 of volume FLAT-1: the volume ends before it/);
  });

  it('diskflat: a PEOM failure cuts the volume back to its label', async () => {
    const img = join(root, 'flat2.img');
    const w = await writeFile(`diskflat:${img}`, bytes(1 << 20), dumpHeader(), { mode: 'write', label: 'FLAT-2', 'device-properties': ['MAX_VOLUME_USAGE=256k'] });
    expect(w.error?.code).toBe('ENOSPC');
    expect(statSync(img).size).toBe(HEADER_SIZE);
    expect(scanVolume(`diskflat:${img}`)).toMatchObject({ label: 'FLAT-2', files: [] });
  });

  it('null: swallows a file (the header is still validated); cannot be read', async () => {
    const w = await writeFile('null:', bytes(300_000), dumpHeader(), { mode: 'write', label: 'NULL' });
    expect(w.error).toBeUndefined();
    expect(partDone(w.messages)).toMatchObject([{ successful: true, size: 300_000, fileno: 1 }]);
    const r = await readFile('null:', 1);
    expect(r.error?.message).toBe('source-device#1: start null:: ENOTSUP: operation not supported: the null device cannot be read');
    expect(existsSync('null:')).toBe(false);
  });
});
