// xfa reindex rebuilds slice indexes from the media: a tar backup through filter-tar-index and a
// sliced filter (seekable zstd, catenized gzip) written with dest-taper over vtapes and recorded;
// the catalog deleted; reindex gives the dump the same slices and members, and a selective
// restore works again. A backup file carrying its index trailer, copied to vtapes: the trailer
// is read back as it is.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openCatalog, type Catalog } from '../../src/catalog/db.js';
import { recordTransfer } from '../../src/catalog/recorder.js';
import { reindex } from '../../src/catalog/reindex.js';
import { headerText } from '../../src/media/header.js';
import { element, type ElementSpec } from '../../src/registry.js';
import { restoreDump } from '../../src/restore/dump.js';
import { backupWithIndex } from '../../src/restore/selective.js';
import { SliceIndex } from '../../src/slice-index.js';
import { Xfer } from '../../src/xfer.js';
import { changer, DUMP, KiB, open, tarTree } from './helpers.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'xfa-reindex-index-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const header = headerText({ type: 'SPLIT_FILE', datestamp: DUMP.datestamp, name: DUMP.host, disk: DUMP.disk, dumplevel: 0, program: '/bin/tar',
  partnum: 1, totalparts: -1, recoverCmd: '/bin/tar -xpGf - ...' });
const taper = (vt: string) => element('dest-taper', { header, changer: `chg-disk:${vt}`, 'label-template': 'VOL%%', 'part-size': 128 * KiB });

function storedIndex(cat: Catalog, id: number): SliceIndex | undefined {
  const s = cat.sliceIndex(id);
  return s && SliceIndex.fromJSON(JSON.parse(inflateRawSync(s.data).toString('utf8')));
}

/** Deletes the catalog and rebuilds it from the vtapes alone. */
async function deleteAndReindex(vt: string) {
  rmSync(join(root, 'catalog.db'));
  rmSync(join(root, 'catalog.db-wal'), { force: true });
  rmSync(join(root, 'catalog.db-shm'), { force: true });
  const cat = open(root);
  const r = await reindex(cat, [`chg-disk:${vt}`]);
  return { cat, r };
}

describe('reindex rebuilds the slice index of a sliced stream', () => {
  const variants: Array<[string, ElementSpec]> = [
    ['seekable zstd', element('filter-zstd', { seekable: true })],
    ['catenized gzip', element('filter-catenize', { cmd: 'gzip -c' })],
  ];
  for (const [what, filter] of variants) {
    it(`${what}: the same slices and members as recorded; a selective restore works after the catalog was lost`, async () => {
      const vt = changer(root);
      const { argv, files } = tarTree(root);
      const specs = [element('source-process', { argv }), element('filter-tar-index', { 'slice-on': 'member', 'min-slice': 32 * KiB }), filter, taper(vt)];
      const cat = open(root);
      const rec = await recordTransfer(cat, new Xfer(specs), DUMP, { changer: `chg-disk:${vt}`, index: { specs } });
      expect(rec.status).toBe('ok');
      expect(cat.parts(rec.dumpId).length).toBeGreaterThan(1);
      const original = storedIndex(cat, rec.dumpId)!;
      expect(original.slices.length).toBeGreaterThan(3);
      cat.close();

      const { cat: fresh, r } = await deleteAndReindex(vt);
      expect(r).toMatchObject({ dumps: 1, ok: 1, indexed: 1, problems: [] });
      const [d] = fresh.dumps();
      const rebuilt = storedIndex(fresh, d.id)!;
      // every slice that holds native bytes, and every member, as the backup recorded them
      expect(rebuilt.slices).toEqual(original.slices.filter((s) => s.native.length > 0));
      expect(rebuilt.objects).toEqual(original.objects);
      expect(rebuilt.filters.map((f) => [f.name, f.inverse?.name])).toEqual(original.filters.map((f) => [f.name, f.inverse?.name]));

      const wanted = files[Math.floor(files.length / 2)];
      const dest = join(root, 'restored');
      const res = await restoreDump(fresh, { host: DUMP.host, disk: DUMP.disk }, { dir: dest }, { paths: [wanted] });
      expect(res).toMatchObject({ indexed: true, selective: true });
      expect(res.bytesRead).toBeLessThan(res.dumpSize);
      expect(readFileSync(join(dest, wanted)).equals(readFileSync(join(root, 'src', wanted)))).toBe(true);
      fresh.close();
    }, 60_000);
  }

  it('a plain tar stream gets no index (nothing to seek to); reindex can be told not to rebuild any', async () => {
    const vt = changer(root);
    const { argv } = tarTree(root);
    const cat = open(root);
    const specs = [element('source-process', { argv }), taper(vt)];
    expect((await recordTransfer(cat, new Xfer(specs), DUMP, { changer: `chg-disk:${vt}` })).status).toBe('ok');
    cat.close();
    const { cat: fresh, r } = await deleteAndReindex(vt);
    expect(r).toMatchObject({ ok: 1, indexed: 0, warnings: expect.not.arrayContaining([expect.objectContaining({ message: expect.stringMatching(/slice index/) })]) });
    expect(fresh.sliceIndex(fresh.dumps()[0].id)).toBeUndefined();
    const other = openCatalog(join(root, 'other.db'));
    expect((await reindex(other, [`chg-disk:${vt}`], { indexes: false })).indexed).toBe(0);
    other.close();
    fresh.close();
  }, 60_000);
});

it('a backup file with its index trailer, copied to vtapes: reindex takes the trailer as it is', async () => {
  const vt = changer(root);
  const { argv, files } = tarTree(root);
  const file = join(root, 'backup.zst');
  const b = await backupWithIndex([element('source-process', { argv }), element('filter-tar-index', { 'slice-on': 'member', 'min-slice': 32 * KiB }),
    element('filter-zstd', { seekable: true }), element('dest-file', { path: file, sync: false })]);
  const x = new Xfer([element('source-file', { path: file }), taper(vt)]);
  x.start();
  await x.done;
  const cat = openCatalog(join(root, 'catalog.db'));
  const r = await reindex(cat, [`chg-disk:${vt}`]);
  expect(r).toMatchObject({ ok: 1, indexed: 1, problems: [] });
  const d = cat.dumps()[0];
  expect(d.size).toBe(b.dataBytes + b.trailerBytes);
  expect(storedIndex(cat, d.id)!.toJSON()).toEqual(b.index.toJSON());
  const dest = join(root, 'restored');
  const res = await restoreDump(cat, { dump: d.id }, { dir: dest }, { paths: [files[0]] });
  expect(res.selective).toBe(true);
  expect(readFileSync(join(dest, files[0])).equals(readFileSync(join(root, 'src', files[0])))).toBe(true);
  cat.close();
}, 60_000);
