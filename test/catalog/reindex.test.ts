// Rebuilding the catalog from the media: the same dumps, parts and CRCs as recorded from the
// transfer; a dump with a part gone is failed; migrations from schema 1 keep the rows.
import { mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { CatalogError, MIGRATIONS, openCatalog } from '../../src/catalog/db.js';
import { reindex } from '../../src/catalog/reindex.js';
import { verify } from '../../src/catalog/verify.js';
import { backup, changer, DUMP, open, tarTree, vtapeFile } from './helpers.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'xfa-reindex-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const strip = ({ label, fileno, partnum, size, crc, device }: Record<string, unknown>) => ({ label, fileno, partnum, size, crc, device });

it('catalog deleted, reindexed from the vtapes: the same dumps, parts and CRCs; verify passes', async () => {
  const vt = changer(root);
  const cat = open(root);
  const a = await backup(cat, vt, tarTree(root, 7).argv);
  const b = await backup(cat, vt, tarTree(join(root, 'b'), 8).argv, { ...DUMP, disk: '/other', level: 1 }, 3);
  expect([a.status, b.status]).toEqual(['ok', 'ok']);
  const before = cat.dumps().map((d) => ({ d: [d.host, d.disk, d.level, d.datestamp, d.size, d.crc], parts: cat.parts(d.id).map(strip) }));
  cat.close();
  rmSync(join(root, 'catalog.db'));
  const fresh = open(root);
  const r = await reindex(fresh, [`chg-disk:${vt}`]);
  expect(r).toMatchObject({ dumps: 2, ok: 2, failed: 0, problems: [] });
  expect(r.warnings.filter((w) => /blank volume/.test(w.message))).toHaveLength(6 - r.volumes);
  const after = fresh.dumps().map((d) => ({ d: [d.host, d.disk, d.level, d.datestamp, d.size, d.crc], parts: fresh.parts(d.id).map(strip) }));
  expect(after).toEqual(before);
  expect(fresh.dumps().every((d) => d.origin === 'reindex' && d.status === 'ok')).toBe(true);
  expect((await verify(fresh)).problems).toEqual([]);
  // not empty any more: refused unless replaced
  await expect(reindex(fresh, [`chg-disk:${vt}`])).rejects.toThrow(CatalogError);
  expect((await reindex(fresh, [`chg-disk:${vt}`], { replace: true })).ok).toBe(2);
  expect(fresh.dumps()).toHaveLength(2);
  fresh.close();
});

it('a part file gone: the dump is reindexed as failed, never ok', async () => {
  const vt = changer(root);
  const cat = open(root);
  const a = await backup(cat, vt, tarTree(root).argv);
  const p2 = cat.parts(a.dumpId)[1];
  cat.close();
  unlinkSync(vtapeFile(p2.device!.slice('file:'.length), p2.fileno));
  const fresh = openCatalog(join(root, 'fresh.db'));
  const r = await reindex(fresh, [`chg-disk:${vt}`]);
  expect(r).toMatchObject({ dumps: 1, ok: 0, failed: 1 });
  expect(r.problems).toEqual([{ where: 'client:/data level 0 20261122063000', message: 'part 2 is missing' }]);
  expect(fresh.dumps({ status: 'ok' })).toEqual([]);
  fresh.close();
});

it('schema 1 catalogs are migrated: rows kept, origin "transfer"', () => {
  const file = join(root, 'old.db');
  const c = openCatalog(file);
  c.db.exec('DROP TABLE slice_indexes; DROP TABLE parts; DROP TABLE dumps; DROP TABLE volumes;');
  c.db.exec(MIGRATIONS[0]);
  c.db.pragma('user_version = 1');
  c.db.prepare("INSERT INTO dumps (host, disk, level, datestamp, status, started) VALUES ('h', '/d', 0, '20260101', 'ok', 'x')").run();
  c.close();
  const m = openCatalog(file);
  expect(m.version()).toBe(MIGRATIONS.length);
  expect(m.dumps().map((d) => [d.host, d.status, d.origin])).toEqual([['h', 'ok', 'transfer']]);
  m.close();
});
