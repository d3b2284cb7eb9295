// SliceIndex: composing real chains' slice messages (tar-index → catenize gzip; tar-index →
// encrypt), the trailer (round trip, found from the end, damage detected, no secrets inside),
// rebuilding from the stored stream alone, and the consistency checks.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, inflateRawSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import type { XferMessage } from '../src/messages.js';
import { registry } from '../src/registry.js';
import { backupWithIndex } from '../src/restore/selective.js';
import { inverseCommand, parseCatenizeMarker, parseZstdSeekTable, SliceIndex, SliceIndexError } from '../src/slice-index.js';
import { element } from './helpers.js';
import { makeTree, tar } from './tar-tree.js';

let dir: string;
let tarPath: string;
let tarBytes: Buffer;
let keyFile: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'xfa-slice-index-'));
  makeTree(dir, 'tree', { files: 200, seed: 21, maxSize: 30_000, links: true, longNames: true });
  tarPath = join(dir, 'tree.tar');
  tar(['-cf', tarPath, 'tree'], { cwd: dir });
  tarBytes = readFileSync(tarPath);
  keyFile = join(dir, 'key');
  writeFileSync(keyFile, randomBytes(32));
});

const source = () => element('source-file', { path: tarPath });
const tarIndex = (min = 40_000) => element('filter-tar-index', { 'slice-on': 'member', 'min-slice': min });
const hasEncrypt = () => registry.find('filter-encrypt') !== undefined;

describe('SliceIndex.fromMessages', () => {
  it('tar-index → catenize gzip: native slices tile the tar, stored slices tile the file, each frame gunzips to its slice', async () => {
    const path = join(dir, 'cat.xfa');
    const b = await backupWithIndex([source(), tarIndex(), element('filter-catenize', { cmd: 'gzip -c' }), element('dest-file', { path, sync: false })]);
    const idx = b.index;
    expect(idx.slices.length).toBeGreaterThan(10);
    let n = 0;
    let s = 0;
    for (const e of idx.slices) {
      expect([e.native.offset, e.stored.offset]).toEqual([n, s]);
      n += e.native.length;
      s += e.stored.length;
      const stored = readFileSync(path).subarray(e.stored.offset, e.stored.offset + e.stored.length);
      const m = parseCatenizeMarker(stored)!;
      expect(m.slice).toBe(e.slice);
      expect(gunzipSync(stored.subarray(48)).equals(tarBytes.subarray(e.native.offset, e.native.offset + e.native.length))).toBe(true);
    }
    expect(n).toBe(tarBytes.length);
    expect(s).toBe(b.dataBytes);
    expect(statSync(path).size).toBe(b.dataBytes + b.trailerBytes);
    expect(idx.data.head).toBeNull();
    expect(idx.filters).toEqual([{ name: 'filter-catenize', props: { cmd: 'gzip -c' }, inverse: { name: 'filter-decatenize', props: { argv: ['gzip', '-dc'] } } }]);
    expect(idx.objects.length).toBe(tar(['-tf', tarPath]).toString().trim().split('\n').length);
  });

  it('tar-index → encrypt: the stream header is the head range, the end frame lies past the last slice', async () => {
    if (!hasEncrypt()) throw new Error('filter-encrypt is not built');
    const path = join(dir, 'enc.xfa');
    const b = await backupWithIndex([source(), tarIndex(), element('filter-encrypt', { 'key-file': keyFile }), element('dest-file', { path, sync: false })]);
    const idx = b.index;
    expect(idx.data.head!.offset).toBe(0);
    expect(idx.data.head!.length).toBe(idx.slices[0].stored.offset);
    expect(readFileSync(path).subarray(0, 4).toString()).toBe('XFAC');
    const last = idx.slices.at(-1)!;
    expect(b.dataBytes).toBeGreaterThan(last.stored.offset + last.stored.length);  // the end frame
    expect(idx.slices.reduce((a, e) => a + e.native.length, 0)).toBe(tarBytes.length);
    expect(idx.filters[0]).toMatchObject({ name: 'filter-encrypt', inverse: { name: 'filter-decrypt' } });
  });

  it('refuses chains that cannot be indexed, and inconsistent slice reports', () => {
    const specs = [source(), element('filter-process', { cmd: 'gzip -c' }), element('dest-file', { path: '/tmp/x' })];
    expect(() => SliceIndex.fromMessages(specs, [])).toThrow(/filter-process#2 reports no slices/);
    const chain = [source(), element('filter-catenize', { cmd: 'gzip -c' }), element('filter-catenize', { cmd: 'cat' }), element('dest-file', { path: '/tmp/x' })];
    const slice = (index: number, slice: number, i: [number, number], o: [number, number]) =>
      ({ type: 'slice', elt: `${chain[index].name}#${index + 1}`, index, version: 0, slice, inOffset: i[0], inLength: i[1], outOffset: o[0], outLength: o[1] }) as XferMessage;
    expect(() => SliceIndex.fromMessages(chain, [slice(1, 0, [0, 100], [0, 100]), slice(2, 0, [0, 99], [0, 60])]))
      .toThrow('slice 0: filter-catenize#2 wrote [0, +100) but filter-catenize#3 read [0, +99)');
    expect(() => SliceIndex.fromMessages(chain, [slice(1, 0, [0, 100], [0, 100]), slice(1, 0, [0, 100], [0, 100])])).toThrow(/reported slice 0 twice/);
    const ok = SliceIndex.fromMessages(chain, [slice(1, 0, [0, 100], [0, 100]), slice(2, 0, [0, 100], [0, 60]), slice(1, 1, [100, 50], [100, 50]), slice(2, 1, [100, 50], [60, 40])]);
    expect(ok.slices.map((s) => [s.slice, s.native.offset, s.native.length, s.stored.offset, s.stored.length])).toEqual([[0, 0, 100, 0, 60], [1, 100, 50, 60, 40]]);
    expect(ok.slicesFor(99, 2).map((s) => s.slice)).toEqual([0, 1]);
    expect(ok.slicesFor(100, 1).map((s) => s.slice)).toEqual([1]);
    expect(ok.slicesFor(150, 10)).toEqual([]);
    // A slice born downstream (a seek table, an end frame) is stored but holds no native bytes.
    const meta = SliceIndex.fromMessages(chain, [slice(1, 0, [0, 100], [0, 60]), slice(2, 0, [0, 60], [0, 70]), slice(2, 1, [60, 9], [70, 20])]);
    expect(meta.slices.map((s) => [s.native.length, s.stored.offset, s.stored.length])).toEqual([[100, 0, 70], [0, 70, 20]]);
    expect(meta.slicesFor(0, 1e9).map((s) => s.slice)).toEqual([0]);
    expect(() => SliceIndex.fromMessages(chain, [slice(1, 0, [0, 100], [0, 60])])).toThrow('filter-catenize#3 reports no slices');
    expect(() => SliceIndex.fromMessages(chain, [slice(1, 0, [0, 100], [0, 60]), slice(2, 0, [0, 60], [0, 70]), slice(1, 1, [100, 5], [60, 5])]))
      .toThrow('slice 1 never reaches the destination');
  });

  it('knows the inverse of common external filters', () => {
    expect(inverseCommand({ cmd: 'gzip -c -9' })).toEqual(['gzip', '-dc']);
    expect(inverseCommand({ cmd: 'zstd -c -T2 -19' })).toEqual(['zstd', '-dc']);
    expect(inverseCommand({ argv: ['openssl', 'enc', '-aes-256-cbc', '-e', '-pass', 'file:/k'] })).toEqual(['openssl', 'enc', '-d', '-aes-256-cbc', '-pass', 'file:/k']);
    expect(inverseCommand({ cmd: 'my-filter --frobnicate' })).toBeNull();
    const idx = SliceIndex.fromMessages([source(), element('filter-catenize', { cmd: 'rev' }), element('dest-file', { path: '/tmp/x' })], []);
    expect(() => idx.inverseFilters()).toThrow(/no known inverse for filter-catenize/);
    const given = SliceIndex.fromMessages([source(), element('filter-catenize', { cmd: 'rev' }), element('dest-file', { path: '/tmp/x' })], [],
      { inverse: { 1: element('filter-decatenize', { cmd: 'rev' }) } });
    expect(given.inverseFilters()).toEqual([element('filter-decatenize', { cmd: 'rev' })]);
  });
});

describe('SliceIndex trailer', () => {
  let path: string;
  let idx: SliceIndex;
  beforeAll(async () => {
    path = join(dir, 'trailer.xfa');
    idx = (await backupWithIndex([source(), tarIndex(10_000), element('filter-catenize', { cmd: 'gzip -c' }), element('dest-file', { path, sync: false })])).index;
  });

  it('round-trips and is found from the end of the file with two small reads', async () => {
    const t = idx.toTrailer();
    expect(SliceIndex.fromTrailer(t).data).toEqual(idx.data);
    const { index, bytesRead } = await SliceIndex.read(path);
    expect(index.data).toEqual(idx.data);
    expect(bytesRead).toBe(t.length);
    expect(bytesRead).toBeLessThan(idx.objects.length * 40);  // compact: well under 40 bytes a member
    const o = index.object('tree/d3/s0/f0003.dat')!;
    expect(index.slicesForObject(o)).toHaveLength(1);
    expect(index.object('tree/d3')).toBeDefined();  // directories without their slash
  });

  it('damage is detected: payload bit, foot magic, lengths, and a file without a trailer', async () => {
    const whole = readFileSync(path);
    const at = idx.data.dataLength + 24 + 10;
    const flip = Buffer.from(whole);
    flip[at] ^= 1;
    writeFileSync(join(dir, 'flip.xfa'), flip);
    await expect(SliceIndex.read(join(dir, 'flip.xfa'))).rejects.toThrow('index trailer damaged: CRC32C mismatch');
    const foot = Buffer.from(whole);
    foot[foot.length - 3] ^= 1;
    writeFileSync(join(dir, 'foot.xfa'), foot);
    await expect(SliceIndex.read(join(dir, 'foot.xfa'))).rejects.toThrow(/no index trailer at the end/);
    writeFileSync(join(dir, 'more.xfa'), whole);
    appendFileSync(join(dir, 'more.xfa'), 'x');
    await expect(SliceIndex.read(join(dir, 'more.xfa'))).rejects.toThrow(/no index trailer at the end/);
    await expect(SliceIndex.read(tarPath)).rejects.toThrow(SliceIndexError);
  });

  it('keeps no secrets: a passphrase never reaches the trailer', async () => {
    if (!hasEncrypt()) throw new Error('filter-encrypt is not built');
    const p = join(dir, 'secret.xfa');
    const b = await backupWithIndex([source(), tarIndex(), element('filter-encrypt', { passphrase: 'hunter2-very-secret', 'kdf-cost': 10 }), element('dest-file', { path: p, sync: false })]);
    const t = b.index.toTrailer();
    expect(inflateRawSync(t.subarray(24, t.length - 32)).toString()).not.toContain('hunter2');
    expect(b.index.filters[0].props).toEqual({ 'kdf-cost': 10 });
  });
});

describe('SliceIndex from the stream alone', () => {
  it('rebuild() through the inverse filters gives the same slices and objects (catenize gzip)', async () => {
    const path = join(dir, 'rebuild.xfa');
    const specs = [source(), tarIndex(20_000), element('filter-catenize', { cmd: 'gzip -c' }), element('dest-file', { path, sync: false })];
    const b = await backupWithIndex(specs);
    const again = await SliceIndex.rebuild(path, { filters: [specs[2]] });
    expect(again.slices).toEqual(b.index.slices);
    expect(again.objects).toEqual(b.index.objects);
    expect(again.data.dataLength).toBe(b.dataBytes);
    const scanned = await SliceIndex.scanCatenize(path);
    expect(scanned.index.slices).toEqual(b.index.slices);
    expect(scanned.bytesRead).toBe(48 * (b.index.slices.length + 1));  // one marker each + the trailer's head
  });

  it('rebuild() of an encrypted backup with its key', async () => {
    if (!hasEncrypt()) throw new Error('filter-encrypt is not built');
    const path = join(dir, 'rebuild-enc.xfa');
    const specs = [source(), tarIndex(30_000), element('filter-encrypt', { 'key-file': keyFile }), element('dest-file', { path, sync: false })];
    const b = await backupWithIndex(specs);
    const again = await SliceIndex.rebuild(path, { filters: [specs[2]], with: { 'filter-decrypt': { 'key-file': keyFile } } });
    expect(again.slices).toEqual(b.index.slices);
    expect(again.objects).toEqual(b.index.objects);
    expect(again.data.head).toEqual(b.index.data.head);
  });

  it('reads the slice map of a filter-zstd seekable stream from its seek table alone; zstd -d skips the trailer', async () => {
    const path = join(dir, 'seek.zst');
    const b = await backupWithIndex([source(), tarIndex(50_000), element('filter-zstd', { seekable: true }), element('dest-file', { path, sync: false })]);
    const stored = readFileSync(path).subarray(0, b.dataBytes);
    const { frames, tableSize } = parseZstdSeekTable(stored.subarray(Math.max(0, stored.length - 64 * 1024)));
    const data = b.index.slices.filter((e) => e.native.length > 0);
    expect(frames.map((f) => [f.decompressed, f.compressed])).toEqual(data.map((e) => [e.native, e.stored]));
    const lastFrame = frames.at(-1)!;
    expect(lastFrame.compressed.offset + lastFrame.compressed.length + tableSize).toBe(b.dataBytes);
    const scanned = await SliceIndex.scanZstdSeekTable(path);
    expect(scanned.index.slices).toEqual(data);
    expect(scanned.bytesRead).toBe(32 + tableSize);  // trailer foot, then the table (its footer first)
    // The trailer is a zstd skippable frame: the native tool still decodes the whole backup.
    const z = spawnSync('zstd', ['-dc', path], { maxBuffer: 1 << 30 });
    expect(z.status).toBe(0);
    expect(z.stdout.equals(tarBytes)).toBe(true);
  });

  it('parses a zstd seek table and rejects a damaged one', () => {
    // Two frames (100 → 40, 50 → 30 bytes), no checksums: 0x184D2A5E, size, entries, footer.
    const t = Buffer.alloc(8 + 16 + 9);
    t.writeUInt32LE(0x184d2a5e, 0);
    t.writeUInt32LE(16 + 9, 4);
    [40, 100, 30, 50].forEach((v, i) => t.writeUInt32LE(v, 8 + 4 * i));
    t.writeUInt32LE(2, 24);
    t[28] = 0;
    t.writeUInt32LE(0x8f92eab1, 29);
    const { frames, tableSize } = parseZstdSeekTable(Buffer.concat([Buffer.alloc(70), t]));
    expect(tableSize).toBe(33);
    expect(frames).toEqual([{ compressed: { offset: 0, length: 40 }, decompressed: { offset: 0, length: 100 } },
      { compressed: { offset: 40, length: 30 }, decompressed: { offset: 100, length: 50 } }]);
    const bad = Buffer.from(t);
    bad[28] = 0x10;
    expect(() => parseZstdSeekTable(bad)).toThrow(/reserved descriptor bits/);
    expect(() => parseZstdSeekTable(t.subarray(0, 32))).toThrow(/footer magic/);
  });
});
