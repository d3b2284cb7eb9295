// Selective restore end to end: a tar of 520 files made by the real tar → filter-tar-index
// slice-on=member → (filter-zstd seekable → filter-encrypt | filter-catenize gzip) → dest-file with
// the index trailer; one file from the middle comes back byte-identical while only the index and
// at most two slices are read. Also: hard links, slices not cut at members, a catalog-held index,
// damaged storage, and bad tar input to the backup.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { registry } from '../../src/registry.js';
import { backupWithIndex, restoreAll, restorePath, type IndexedBackup } from '../../src/restore/selective.js';
import { SliceIndex } from '../../src/slice-index.js';
import { XferError } from '../../src/xfer.js';
import { element } from '../helpers.js';
import { makeTree, tar } from '../tar-tree.js';

let dir: string;
let tarPath: string;
let files: string[];
let keyFile: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'xfa-selective-'));
  files = makeTree(dir, 'data', { files: 520, seed: 31, maxSize: 40_000, longNames: true, links: true });
  tarPath = join(dir, 'data.tar');
  tar(['-cf', tarPath, 'data'], { cwd: dir });
  keyFile = join(dir, 'backup.key');
  writeFileSync(keyFile, randomBytes(32).toString('hex'));
});

const MIN_SLICE = 256 * 1024;
let fresh = 0;
const restoreDir = () => {
  const d = join(dir, `restore-${fresh++}`);
  mkdirSync(d);
  return d;
};
/** Every non-directory under d, relative to d. */
const walk = (d: string, root = d): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) =>
  e.isDirectory() ? walk(join(d, e.name), root) : [relative(root, join(d, e.name))]);

interface Variant {
  name: string;
  filters: () => ReturnType<typeof element>[];
  with?: () => Record<string, Record<string, unknown>>;
  needs: string[];
}
const variants: Variant[] = [
  {
    name: 'filter-zstd seekable → filter-encrypt',
    filters: () => [element('filter-zstd', { seekable: true }), element('filter-encrypt', { 'key-file': keyFile })],
    with: () => ({ 'filter-decrypt': { 'key-file': keyFile } }),
    needs: ['filter-zstd', 'filter-unzstd', 'filter-encrypt', 'filter-decrypt'],
  },
  { name: 'filter-catenize cmd="gzip -c"', filters: () => [element('filter-catenize', { cmd: 'gzip -c' })], needs: [] },
];

for (const v of variants) {
  describe(`selective restore through ${v.name}`, () => {
    let backup: string;
    let b: IndexedBackup;
    beforeAll(async () => {
      for (const n of v.needs) if (!registry.find(n)) throw new Error(`${n} is not built (helper A/B's element)`);
      backup = join(dir, `backup-${fresh++}.xfa`);
      b = await backupWithIndex([
        element('source-file', { path: tarPath }), element('filter-tar-index', { 'slice-on': 'member', 'min-slice': MIN_SLICE }),
        ...v.filters(), element('dest-file', { path: backup, sync: false }),
      ]);
    });

    it('restores one file from the middle reading only the index and at most two slices', async () => {
      const want = files[260];
      const dest = restoreDir();
      const r = await restorePath({ backup, path: want, dest, with: v.with?.() });
      expect(readFileSync(join(dest, want)).equals(readFileSync(join(dir, want)))).toBe(true);
      expect(walk(dest)).toEqual([want]);
      const biggest = Math.max(...b.index.slices.map((s) => s.stored.length));
      const head = b.index.data.head?.length ?? 0;
      expect(r.indexBytes).toBe(statSync(backup).size - b.dataBytes);
      expect(r.bytesRead).toBe(r.ranges.reduce((a, x) => a + x.length, 0) + r.indexBytes);
      expect(r.bytesRead).toBeLessThanOrEqual(2 * biggest + r.indexBytes + head);
      expect(r.slices.length).toBeLessThanOrEqual(2);
      expect(r.bytesRead).toBeLessThan(b.dataBytes / 5);
      expect(b.index.slices.length).toBeGreaterThan(20);
    });

    it('restores every member on its own when asked (sampled), long names and hard links included', async () => {
      const picks = [files[0], files[519], files.find((f) => f.length > 200)!, 'data/hard'];
      for (const p of picks) {
        const dest = restoreDir();
        const r = await restorePath({ backup, path: p, dest, with: v.with?.(), index: b.index });
        expect(r.indexBytes).toBe(0);  // the caller's (catalog's) index costs no read
        expect(readFileSync(join(dest, p)).equals(readFileSync(join(dir, p))), p).toBe(true);
        if (p === 'data/hard') {
          expect(r.members.map((m) => m.objectType)).toEqual(['file', 'hardlink']);
          expect(statSync(join(dest, p)).ino).toBe(statSync(join(dest, r.members[0].path)).ino);
        }
      }
    });

    it('a full restore gives the whole tree and reads everything', async () => {
      const dest = restoreDir();
      const r = await restoreAll({ backup, dest, with: v.with?.() });
      expect(r.bytesRead).toBe(statSync(backup).size);
      expect(walk(join(dest, 'data')).length).toBe(walk(join(dir, 'data')).length);
      for (const f of [files[1], files[300], files[518]]) expect(readFileSync(join(dest, f)).equals(readFileSync(join(dir, f)))).toBe(true);
    });

    it('damaged storage in the wanted slice is an error naming it, and nothing half-restored is trusted', async () => {
      const want = files[100];
      const s = b.index.slicesForObject(b.index.object(want)!)[0];
      const bad = join(dir, `bad-${fresh++}.xfa`);
      const bytes = Buffer.from(readFileSync(backup));
      bytes[s.stored.offset + Math.floor(s.stored.length / 2)] ^= 0x40;
      writeFileSync(bad, bytes);
      const err = await restorePath({ backup: bad, path: want, dest: restoreDir(), with: v.with?.(), index: b.index }).catch((e) => e);
      expect(err).toBeInstanceOf(XferError);
      expect(err.message).toMatch(new RegExp(`slice ${s.slice}\\b`));
      expect(err.message).toMatch(/authentication failed|CRC32C mismatch/);
    });

    it('a path that is not in the backup is a clear error before anything is read', async () => {
      await expect(restorePath({ backup, path: 'data/nope.txt', dest: restoreDir(), with: v.with?.() })).rejects.toThrow(/data\/nope.txt: not in the backup's index \(\d+ members\)/);
    });
  });
}

describe('selective restore: other cuts and bad input', () => {
  it('slices cut every N bytes (not at members): dd trims the member out of its slices', async () => {
    const backup = join(dir, 'fixed.xfa');
    const b = await backupWithIndex([
      element('source-file', { path: tarPath }), element('filter-tar-index'),
      element('filter-catenize', { cmd: 'gzip -c', 'slice-size': 50_000 }), element('dest-file', { path: backup, sync: false }),
    ]);
    const want = files.find((f) => {
      const o = b.index.object(f)!;
      return o.size > 20_000 && b.index.slicesForObject(o).length === 2;
    })!;
    const dest = restoreDir();
    const r = await restorePath({ backup, path: want, dest });
    expect(r.linkage).toMatch(/filter-decatenize#2 .*filter-process#3 .*dest-process#4/);
    expect(readFileSync(join(dest, want)).equals(readFileSync(join(dir, want)))).toBe(true);
    expect(r.slices).toHaveLength(2);
  });

  it('a truncated tar or non-tar input fails the backup clearly and leaves no backup file', async () => {
    const whole = readFileSync(tarPath);
    const cut = join(dir, 'cut.tar');
    writeFileSync(cut, whole.subarray(0, Math.floor(whole.length / 2) + 100));
    const noise = join(dir, 'noise.bin');
    writeFileSync(noise, randomBytes(300_000));
    for (const [input, msg] of [[cut, /filter-tar-index#2: parse tar: truncated tar archive: the stream ends at offset \d+ inside/], [noise, /not a tar archive \(bad header checksum\) at offset 0/]] as const) {
      const out = join(dir, `never-${fresh++}.xfa`);
      const err = await backupWithIndex([
        element('source-file', { path: input }), element('filter-tar-index', { 'slice-on': 'member' }),
        element('filter-catenize', { cmd: 'gzip -c' }), element('dest-file', { path: out, sync: false }),
      ]).catch((e) => e);
      expect(err).toBeInstanceOf(XferError);
      expect(err.message).toMatch(msg);
      expect(existsSync(out)).toBe(false);
      expect(existsSync(`${out}.tmp`)).toBe(false);
    }
  });

  it('an index rebuilt from the stream alone restores just as well', async () => {
    const backup = join(dir, 'rebuilt.xfa');
    const specs = [element('source-file', { path: tarPath }), element('filter-tar-index', { 'slice-on': 'member', 'min-slice': MIN_SLICE }),
      element('filter-catenize', { cmd: 'gzip -c' }), element('dest-file', { path: backup, sync: false })];
    await backupWithIndex(specs);
    const index = await SliceIndex.rebuild(backup, { filters: [specs[2]] });
    const dest = restoreDir();
    await restorePath({ backup, path: files[400], dest, index });
    expect(readFileSync(join(dest, files[400])).equals(readFileSync(join(dir, files[400])))).toBe(true);
  });
});
