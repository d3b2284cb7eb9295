// filter-tar-index on archives made by the real GNU tar (gnu, pax, ustar formats; long names,
// links, a 9 GiB sparse file), in push and pull mode, at random chunk sizes; slice cuts checked
// by extracting every slice alone with tar; bad input fails clearly and leaves nothing behind.
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ObjectMessage, SliceMessage, XferMessage } from '../../src/messages.js';
import { element, run, runClean } from '../helpers.js';
import { makeTree, randInt, rng, tar, tarList } from '../tar-tree.js';

let dir: string;
const archives: Record<string, string> = {};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'xfa-tar-index-'));
  makeTree(dir, 'full', { files: 80, seed: 11, maxSize: 40_000, longNames: true, links: true, sparse: true });
  makeTree(dir, 'plain', { files: 40, seed: 12, maxSize: 20_000, links: true });
  archives.gnu = join(dir, 'gnu.tar');
  archives.pax = join(dir, 'pax.tar');
  archives.ustar = join(dir, 'ustar.tar');
  tar(['--sparse', '--format=gnu', '-cf', archives.gnu, 'full'], { cwd: dir });
  tar(['--sparse', '--format=pax', '-cf', archives.pax, 'full'], { cwd: dir });
  tar(['--format=ustar', '-cf', archives.ustar, 'plain'], { cwd: dir });
});

const objects = (ms: XferMessage[]) => ms.filter((m): m is ObjectMessage => m.type === 'object');
const slicesOf = (ms: XferMessage[], elt: string) => ms.filter((m): m is SliceMessage => m.type === 'slice' && m.elt === elt);
const pad = (n: number) => Math.ceil(n / 512) * 512;

/** node -e CHUNKY FILE SEED: writes FILE to stdout in seeded random chunks of 1 byte to 200 KB. */
const CHUNKY = `const fs = require('fs'); const d = fs.readFileSync(process.argv[1]); let s = Number(process.argv[2]);
  const next = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let i = 0; i < d.length;) { const n = Math.min(d.length - i, next() < 0.3 ? 1 + Math.floor(next() * 3) : 1 + Math.floor(next() * 200000));
    for (let w = 0; w < n;) { try { w += fs.writeSync(1, d, i + w, n - w); } catch (e) { if (e.code !== 'EAGAIN') throw e; } } i += n; }`;

function randomRanges(r: () => number, size: number): string[] {
  const ranges: string[] = [];
  for (let at = 0; at < size;) {
    const len = Math.min(size - at, r() < 0.3 ? randInt(r, 1, 3) : r() < 0.7 ? randInt(r, 1, 1500) : randInt(r, 1, 300_000));
    ranges.push(`${at}:${len}`);
    at += len;
  }
  return ranges;
}

/** Block numbers `tar -tvR` prints per member, in order. */
function blockNumbers(archive: string): number[] {
  return tar(['-tvR', '-f', archive]).toString().split('\n')
    .filter((l) => /^block \d+: [^*]/.test(l)).map((l) => Number(/^block (\d+)/.exec(l)![1]));
}

async function index(archive: string, props: Record<string, unknown> = {}, opts = {}) {
  const out = join(dir, `out-${Math.random().toString(36).slice(2)}.tar`);
  const r = await runClean([element('source-file', { path: archive }), element('filter-tar-index', props), element('dest-file', { path: out, sync: false })], opts);
  return { ...r, out };
}

describe('filter-tar-index: members', () => {
  for (const format of ['gnu', 'pax', 'ustar']) {
    it(`${format}: passes every byte through and reports the members tar -t lists`, async () => {
      const { error, messages, out } = await index(archives[format]);
      expect(error).toBeUndefined();
      expect(readFileSync(out).equals(readFileSync(archives[format]))).toBe(true);
      const objs = objects(messages);
      expect(objs.map((o) => o.path)).toEqual(tarList(archives[format]));
      const blocks = blockNumbers(archives[format]);
      objs.forEach((o, i) => {
        // GNU tar -R numbers the first header of a member (its L/K blocks included), pax the ustar one.
        if (format === 'pax') {
          expect(o.headerOffset).toBeLessThanOrEqual(blocks[i] * 512);
          expect(o.dataOffset).toBe(blocks[i] * 512 + 512);
        } else {
          expect(o.headerOffset).toBe(blocks[i] * 512);
        }
        expect(o.dataOffset % 512).toBe(0);
        expect(o.elt).toBe('filter-tar-index#2');
      });
      for (let i = 1; i < objs.length; i++) expect(objs[i].headerOffset).toBeGreaterThanOrEqual(objs[i - 1].dataOffset + pad(objs[i - 1].size));
    });
  }

  it('gives types, sizes, link targets and the real size of sparse files', async () => {
    for (const format of ['gnu', 'pax']) {
      const objs = objects((await index(archives[format])).messages);
      const by = (p: string) => objs.find((o) => o.path.endsWith(p))!;
      expect(by('full/').objectType).toBe('dir');
      expect(by('full/sym')).toMatchObject({ objectType: 'symlink', linkTarget: 'd0/s0/f0000.dat', size: 0 });
      const links = objs.filter((o) => o.objectType === 'hardlink');
      expect(links).toHaveLength(1);
      expect(links[0].size).toBe(0);
      expect(objs.some((o) => o.path === links[0].linkTarget && o.objectType === 'file')).toBe(true);
      const sparse = by('sparse.img');
      expect(sparse).toMatchObject({ objectType: 'sparse', realSize: 9 * 1024 ** 3, path: 'full/sparse.img' });
      expect(sparse.size).toBeLessThan(64 * 1024);
      const long = objs.find((o) => o.path.includes('c'.repeat(90) + '/short.txt'))!;
      expect(long.path.length).toBeGreaterThan(255);
      expect(long.dataOffset - long.headerOffset).toBeGreaterThan(512);  // its L or x header belongs to it
      const f = by('d1/s1/f0001.dat');
      expect(f).toMatchObject({ objectType: 'file', size: statSync(join(dir, 'full/d1/s1/f0001.dat')).size });
    }
  });

  it('an empty stream is an empty archive', async () => {
    const empty = join(dir, 'empty');
    writeFileSync(empty, '');
    const { error, messages } = await index(empty, { 'slice-on': 'member' });
    expect(error).toBeUndefined();
    expect(objects(messages)).toEqual([]);
    expect(slicesOf(messages, 'filter-tar-index#2')).toEqual([]);
  });
});

describe('filter-tar-index: slices', () => {
  it('cuts at member ends once min-slice is reached; every slice extracts alone with tar', async () => {
    const archive = readFileSync(archives.gnu);
    for (const minSlice of [1, 4096, 50_000, 300_000]) {
      const { error, messages } = await index(archives.gnu, { 'slice-on': 'member', 'min-slice': minSlice });
      expect(error).toBeUndefined();
      const sl = slicesOf(messages, 'filter-tar-index#2');
      const objs = objects(messages);
      expect(sl.map((s) => s.slice)).toEqual(sl.map((_, i) => i));
      let at = 0;
      for (const s of sl) {
        expect(s.inOffset).toBe(at);
        expect([s.outOffset, s.outLength]).toEqual([s.inOffset, s.inLength]);
        at += s.inLength;
      }
      expect(at).toBe(archive.length);
      const members = sl.map((s) => objs.filter((o) => o.headerOffset >= s.inOffset && o.headerOffset < s.inOffset + s.inLength));
      sl.forEach((s, i) => {
        // Whole members only; full before cutting, except the last slice and the end-of-archive tail.
        for (const o of members[i]) expect(o.dataOffset + pad(o.size)).toBeLessThanOrEqual(s.inOffset + s.inLength);
        if (members[i].length > 0) expect(members[i][0].headerOffset).toBe(s.inOffset);
        if (i < sl.length - 1 && members[i + 1].length > 0) {
          const withoutLast = members[i].length > 1 ? members[i].at(-1)!.headerOffset - s.inOffset : 0;
          expect(withoutLast).toBeLessThan(minSlice);
          expect(s.inLength).toBeGreaterThanOrEqual(minSlice);
        }
        const bytes = archive.subarray(s.inOffset, s.inOffset + s.inLength);
        expect(tarList(bytes)).toEqual(members[i].map((o) => o.path));
      });
      if (minSlice === 1) expect(sl.length).toBe(objs.length + 1);  // + the zero blocks at the end
    }
  });

  it('marks slice ends on its blocks: a follower (filter-catenize) frames exactly those slices', async () => {
    const out = join(dir, 'follow.cat');
    const { error, messages } = await runClean([
      element('source-file', { path: archives.pax }), element('filter-tar-index', { 'slice-on': 'member', 'min-slice': 20_000 }),
      element('filter-catenize', { cmd: 'cat' }), element('dest-file', { path: out, sync: false }),
    ]);
    expect(error).toBeUndefined();
    const ti = slicesOf(messages, 'filter-tar-index#2');
    const cat = slicesOf(messages, 'filter-catenize#3');
    expect(ti.length).toBeGreaterThan(5);
    expect(cat.map((s) => [s.slice, s.inOffset, s.inLength])).toEqual(ti.map((s) => [s.slice, s.outOffset, s.outLength]));
    expect(cat.map((s) => s.outLength)).toEqual(ti.map((s) => s.outLength + 48));
  });

  it('random chunk sizes (1-byte pieces too), pull and push mode, give the same objects and slices', async () => {
    const size = statSync(archives.gnu).size;
    const base = await index(archives.gnu, { 'slice-on': 'member', 'min-slice': 30_000 });
    const want = { objs: objects(base.messages), sl: slicesOf(base.messages, 'filter-tar-index#2') };
    for (const seed of [1, 2, 3, 4]) {
      const r = rng(seed);
      const push = seed % 2 === 0;
      const out = join(dir, `chunked-${seed}.tar`);
      // Pull: contiguous ranges of random length, each a short block. Push: a pipe written in random chunks.
      const source = push ? element('source-process', { argv: [process.execPath, '-e', CHUNKY, archives.gnu, String(seed)] })
        : element('source-ranges', { path: archives.gnu, ranges: randomRanges(r, size).join(',') });
      const { error, messages, result } = await runClean([
        source, element('filter-tar-index', { 'slice-on': 'member', 'min-slice': 30_000 }), element('dest-file', { path: out, sync: false }),
      ], { blockSize: randInt(r, 1, 64) * 4096 });
      expect(error).toBeUndefined();
      expect(result!.linkage).toContain(push ? '-PUSH_BUFFER-> filter-tar-index#2' : '-PULL_BUFFER-> filter-tar-index#2');
      expect(objects(messages).map(({ path, headerOffset, dataOffset, size }) => ({ path, headerOffset, dataOffset, size })))
        .toEqual(want.objs.map(({ path, headerOffset, dataOffset, size }) => ({ path, headerOffset, dataOffset, size })));
      expect(slicesOf(messages, 'filter-tar-index#2').map((s) => [s.inOffset, s.inLength])).toEqual(want.sl.map((s) => [s.inOffset, s.inLength]));
      expect(readFileSync(out).equals(readFileSync(archives.gnu))).toBe(true);
    }
  });

  it('slice-on=none keeps the upstream slices and reports them one for one', async () => {
    const { error, messages } = await runClean([
      element('source-ranges', { path: archives.ustar, ranges: '0:5000,5000:10000,15000:1', slices: '4,9,10' }),
      element('filter-tar-index'), element('dest-null'),
    ]);
    // Only the first 15001 bytes: the archive is cut short, and that is an error, after the slices.
    expect(error?.message).toMatch(/truncated tar archive/);
    expect(slicesOf(messages, 'filter-tar-index#2').map((s) => [s.slice, s.inOffset, s.inLength])).toEqual([[4, 0, 5000], [9, 5000, 10000], [10, 15000, 1]]);
  });
});

describe('filter-tar-index: bad input', () => {
  const archive = () => readFileSync(archives.ustar);
  async function bad(name: string, bytes: Buffer, props = {}) {
    const p = join(dir, name);
    writeFileSync(p, bytes);
    const t0 = Date.now();
    const r = await runClean([element('source-file', { path: p }), element('filter-tar-index', props), element('dest-null')]);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(r.error, name).toBeDefined();
    expect(r.error!.element).toBe('filter-tar-index#2');
    return r.error!.message;
  }

  it('non-tar input', async () => {
    const noise = Buffer.alloc(100_000);
    const r = rng(5);
    for (let i = 0; i < noise.length; i++) noise[i] = Math.floor(r() * 256);
    expect(await bad('noise', noise)).toBe('filter-tar-index#2: parse tar: not a tar archive (bad header checksum) at offset 0');
    expect(await bad('text', Buffer.from('hello world\n'.repeat(100)))).toMatch(/not a tar archive.*offset 0/);
  });

  it('a truncated archive: inside data, inside a header, at a member boundary', async () => {
    const a = archive();
    const objs = objects((await index(archives.ustar)).messages);
    const f = objs.find((o) => o.size > 2000)!;
    expect(await bad('cut-data', a.subarray(0, f.dataOffset + 1000))).toBe(
      `filter-tar-index#2: parse tar: truncated tar archive: the stream ends at offset ${f.dataOffset + 1000} inside member "${f.path}" ` +
      `(header at offset ${f.headerOffset}, its data ends at offset ${f.dataOffset + pad(f.size)})`);
    expect(await bad('cut-header', a.subarray(0, f.headerOffset + 100))).toMatch(
      new RegExp(`ends at offset ${f.headerOffset + 100} inside the header block at offset ${f.headerOffset}`));
    expect(await bad('cut-member', a.subarray(0, f.headerOffset))).toMatch(/no end-of-archive marker/);
    expect(await bad('cut-member', a.subarray(0, f.headerOffset), { 'slice-on': 'member', 'min-slice': 1 })).toMatch(/no end-of-archive marker/);
  });

  it('a damaged header in the middle names its offset', async () => {
    const a = Buffer.from(archive());
    const objs = objects((await index(archives.ustar)).messages);
    const f = objs[Math.floor(objs.length / 2)];
    a[f.headerOffset + 10] ^= 0x20;
    expect(await bad('flip', a)).toBe(`filter-tar-index#2: parse tar: bad tar header checksum at offset ${f.headerOffset}`);
    const b = Buffer.from(archive());
    b.write('77777777777', f.headerOffset + 124, 'latin1');  // size field no longer matches the checksum
    expect(await bad('size', b)).toMatch(/bad tar header checksum at offset/);
  });

  it('a malformed pax header is an error, not a guess', async () => {
    const objs = objects((await index(archives.pax)).messages);
    const a = Buffer.from(readFileSync(archives.pax));
    const o = objs.find((m) => m.dataOffset - m.headerOffset > 512)!;  // has an x header
    const data = o.headerOffset + 512;
    a.write('x', data, 'latin1');  // the first record's length is no longer a number
    // The x header's checksum covers only its header block, so the damage is found by the parser.
    expect(await bad('pax', a)).toMatch(new RegExp(`malformed pax extended header at offset ${o.headerOffset}`));
  });
});
