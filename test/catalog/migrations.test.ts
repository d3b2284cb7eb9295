import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { MIGRATIONS, openCatalog } from '../../src/catalog/db.js';

const root = mkdtempSync(join(tmpdir(), 'xfa-migrations-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

it('a schema 2 catalog upgrades to the current schema keeping dumps, parts and slice indexes (the dumps rebuild cascades nothing)', () => {
  const file = join(root, 'v2.db');
  const c = openCatalog(file);
  c.db.exec('DROP TABLE slice_indexes; DROP TABLE parts; DROP TABLE dumps; DROP TABLE volumes;');
  c.db.exec(MIGRATIONS[0]);
  c.db.exec(MIGRATIONS[1]);
  c.db.pragma('user_version = 2');
  c.db.exec(`INSERT INTO volumes (label, device, state) VALUES ('V1', 'file:/x', 'written');
    INSERT INTO dumps (host, disk, level, datestamp, status, started, origin) VALUES ('h', '/d', 0, '20260101', 'ok', 'x', 'reindex');
    INSERT INTO parts (dump_id, volume_id, fileno, partnum, size, crc) VALUES (1, 1, 1, 1, 10, 'abcd');
    INSERT INTO slice_indexes (dump_id, format, data) VALUES (1, 'f', x'00');`);
  c.close();
  const m = openCatalog(file);
  expect(m.version()).toBe(MIGRATIONS.length);
  expect(m.dumps().map((d) => [d.host, d.status, d.origin, d.copy_of, d.storage, d.stream, d.container])).toEqual([['h', 'ok', 'reindex', null, null, null, null]]);
  expect(m.parts(1).map((p) => [p.label, p.fileno, p.crc])).toEqual([['V1', 1, 'abcd']]);
  expect(m.sliceIndex(1)?.format).toBe('f');
  expect(Number(m.db.pragma('foreign_keys', { simple: true }))).toBe(1);
  // the new origins are accepted, and deleting a dump still cascades to its parts
  m.db.prepare("INSERT INTO dumps (host, disk, level, datestamp, status, started, origin, copy_of, storage) VALUES ('h', '/d', 0, '20260101', 'ok', 'x', 'migrate', 1, 'chg-disk:/y')").run();
  expect(() => m.db.prepare("UPDATE dumps SET origin = 'bogus' WHERE id = 2").run()).toThrow(/CHECK/);
  m.db.prepare('DELETE FROM dumps WHERE id = 1').run();
  expect(m.parts().length).toBe(0);
  expect(m.dump(2)?.copy_of).toBe(null);
  m.close();
});
