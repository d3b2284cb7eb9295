// Every error opening a catalog names the catalog file.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { CatalogError, openCatalog } from '../../src/catalog/db.js';
import { scratch, xfa } from '../cli/helpers.js';

it('a file that is not a database, or a directory, is a CatalogError naming the file; xfa ls says which', async () => {
  const dir = scratch();
  const bad = join(dir, 'catalog.db');
  writeFileSync(bad, Buffer.alloc(8192, 0x5a));
  expect(() => openCatalog(bad)).toThrow(CatalogError);
  expect(() => openCatalog(bad)).toThrow(`cannot open catalog ${bad}: file is not a database`);
  const d = join(dir, 'a-dir.db');
  mkdirSync(d);
  expect(() => openCatalog(d)).toThrow(new RegExp(`^cannot open catalog ${d}: `));
  const r = await xfa(['ls', '--catalog', bad]);
  expect(r.code).not.toBe(0);
  expect(r.stderr).toBe(`xfa: cannot open catalog ${bad}: file is not a database\n`);
});
