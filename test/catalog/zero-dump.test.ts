// A dump of 0 bytes: its (empty) part and volume are recorded, verify finds nothing wrong, and
// restore gives an empty file.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { openCatalog } from '../../src/catalog/db.js';
import { scratch, xfa } from '../cli/helpers.js';

const HEADER = 'AMANDA: SPLIT_FILE 20261122080000 client /empty part 1/-1 lev 0 comp N program /bin/tar';

it('an empty dump is recorded ok with its 0-byte part; verify passes; restore --output writes an empty file', async () => {
  const dir = scratch();
  const db = join(dir, 'catalog.db');
  const vt = join(dir, 'vt');
  for (let i = 1; i <= 2; i++) mkdirSync(join(vt, `slot${i}`), { recursive: true });
  const r = await xfa(['launch', `source-process cmd="true" ! dest-taper changer=chg-disk:${vt} label-template=VOL%% part-size=64KiB header="${HEADER}"`,
    '--record', '--catalog', db]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/recorded dump #1 client:\/empty level 0 20261122080000: ok/);
  const cat = openCatalog(db);
  try {
    expect(cat.dumps()).toMatchObject([{ status: 'ok', size: 0, crc: '00000000' }]);
    expect(cat.parts(1)).toMatchObject([{ label: 'VOL01', device: `file:${join(vt, 'slot1')}`, fileno: 1, partnum: 1, size: 0, crc: '00000000' }]);
    expect(cat.volumes()).toMatchObject([{ label: 'VOL01', state: 'written', written: 1 }]);
  } finally {
    cat.close();
  }
  const v = await xfa(['verify', '--catalog', db]);
  expect(v.stdout).toMatch(/1 volume, 1 dump, 1 part, 0 B read: 0 problems/);
  expect(v.code).toBe(0);
  const out = join(dir, 'out.tar');
  const res = await xfa(['restore', '--dump', '1', '--output', out, '--catalog', db]);
  expect(res.code).toBe(0);
  expect(readFileSync(out)).toHaveLength(0);
});
