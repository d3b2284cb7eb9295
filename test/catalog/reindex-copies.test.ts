// xfa reindex and copies: a backup on one vtape set and its `xfa migrate` copy on another are
// rebuilt as one dump and its copy (copy_of, storage = each changer), restorable from the copy
// alone; a spec that cannot be read fails before the catalog is touched.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { CatalogError, type Catalog } from '../../src/catalog/db.js';
import { migrate } from '../../src/catalog/migrate.js';
import { reindex } from '../../src/catalog/reindex.js';
import { restoreDump } from '../../src/restore/dump.js';
import { backup, changer, DUMP, KiB, open, tarTree } from './helpers.js';
import { randomDump } from './migrate-helpers.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'xfa-reindex-copies-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function dropCatalog(): void {
  for (const f of ['catalog.db', 'catalog.db-wal', 'catalog.db-shm']) rmSync(join(root, f), { force: true });
}

const snapshot = (cat: Catalog) => ({ volumes: cat.volumes(), dumps: cat.dumps(), parts: cat.parts() });

it('a backup and its migrate copy: reindexed as a dump and its copy; a restore works from the copy alone', async () => {
  const vt = changer(root);
  const vault = changer(join(root, 'vault-root'));
  const { argv, files } = tarTree(root);
  const cat = open(root);
  const b = await backup(cat, vt, argv);
  expect(b.status).toBe('ok');
  const m = await migrate(cat, { to: `chg-disk:${vault}`, partSize: 192 * KiB, labelTemplate: 'VAULT-%%' });
  expect(m).toMatchObject({ copied: 1, failed: 0 });
  const [orig, copy] = cat.dumps();
  expect(copy.copy_of).toBe(orig.id);
  cat.close();
  dropCatalog();

  const fresh = open(root);
  const r = await reindex(fresh, [`chg-disk:${vt}`, `chg-disk:${vault}`]);
  expect(r).toMatchObject({ dumps: 2, ok: 2, failed: 0, copies: 1, problems: [] });
  const rows = fresh.dumps();
  expect(rows.map((d) => [d.status, d.origin, d.storage, d.size, d.crc])).toEqual([
    ['ok', 'reindex', `chg-disk:${vt}`, orig.size, orig.crc],
    ['ok', 'reindex', `chg-disk:${vault}`, copy.size, copy.crc],
  ]);
  expect(rows[0].copy_of).toBeNull();
  expect(rows[1].copy_of).toBe(rows[0].id);
  expect(fresh.parts(rows[0].id).every((p) => p.label.startsWith('VOL'))).toBe(true);
  expect(fresh.parts(rows[1].id).every((p) => p.label.startsWith('VAULT-'))).toBe(true);
  // reindexed storages are the ones migrate records: the copy is seen as already there
  const again = await migrate(fresh, { to: `chg-disk:${vault}`, partSize: 192 * KiB, labelTemplate: 'VAULT-%%' });
  expect(again).toMatchObject({ copied: 0, skipped: 1 });

  // the original vtapes gone: the copy serves the restore
  rmSync(vt, { recursive: true });
  const dest = join(root, 'restored');
  const res = await restoreDump(fresh, { host: DUMP.host, disk: DUMP.disk }, { dir: dest });
  expect([res.selected.id, res.dump.id]).toEqual([rows[0].id, rows[1].id]);
  for (const f of files.slice(0, 5)) expect(readFileSync(join(dest, f)).equals(readFileSync(join(root, 'src', f)))).toBe(true);
  fresh.close();
}, 60_000);

it('the same dump name with other contents on another storage: a separate dump, with a warning', async () => {
  const vt = changer(root);
  const other = changer(join(root, 'other-root'));
  const cat = open(root);
  expect((await backup(cat, vt, tarTree(root, 7).argv)).status).toBe('ok');
  await randomDump(cat, other, DUMP, 5, 300 * KiB); // labels SRC-%%
  cat.close();
  dropCatalog();
  const fresh = open(root);
  const r = await reindex(fresh, [`chg-disk:${vt}`, `chg-disk:${other}`]);
  expect(r).toMatchObject({ dumps: 2, ok: 2, copies: 0, problems: [] });
  expect(fresh.dumps().map((d) => d.copy_of)).toEqual([null, null]);
  expect(r.warnings.some((w) => w.where.includes(other) && /not the same dump/.test(w.message))).toBe(true);
  fresh.close();
}, 60_000);

it('--force with a bad spec: a clear error, the catalog unchanged', async () => {
  const vt = changer(root);
  const cat = open(root);
  expect((await backup(cat, vt, tarTree(root).argv)).status).toBe('ok');
  const before = snapshot(cat);
  expect(before.dumps).toHaveLength(1);
  const bad = `chg-disk:${join(root, 'typo', 'nonexistent')}`;
  await expect(reindex(cat, [`chg-disk:${vt}`, bad], { replace: true })).rejects.toThrow(new CatalogError(`reindex: ${bad}: no such directory`));
  expect(snapshot(cat)).toEqual(before);
  // a directory without a readable volume, and a device that is not there
  const empty = changer(join(root, 'empty-root'), 2);
  await expect(reindex(cat, [`chg-disk:${empty}`], { replace: true })).rejects.toThrow(/^reindex: chg-disk:.*empty-root.*: no readable volume \(2 blank\)$/);
  await expect(reindex(cat, [`file:${join(root, 'nope')}`], { replace: true })).rejects.toThrow(/^reindex: file:.*nope: no readable volume \(1 unreadable/);
  expect(snapshot(cat)).toEqual(before);
  // a good spec still replaces it
  expect(await reindex(cat, [`chg-disk:${vt}`], { replace: true })).toMatchObject({ dumps: 1, ok: 1 });
  cat.close();
}, 60_000);
