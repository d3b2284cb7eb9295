// Two changers writing volumes with the same label into one catalog: the second dump is recorded
// failed with why, and the first volume (its device, its parts) is left alone.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { openCatalog } from '../../src/catalog/db.js';
import { scratch, xfa } from '../cli/helpers.js';

const HEADER = (disk: string) => `AMANDA: SPLIT_FILE 20261122080000 client ${disk} part 1/-1 lev 0 comp N program /bin/tar`;

function vtapes(dir: string, name: string): string {
  const vt = join(dir, name);
  for (let i = 1; i <= 3; i++) mkdirSync(join(vt, `slot${i}`), { recursive: true });
  return vt;
}

it('a label the catalog has on another changer fails the dump with a clear reason; the first volume stays', async () => {
  const dir = scratch();
  const db = join(dir, 'catalog.db');
  const sa = vtapes(dir, 'sa');
  const sb = vtapes(dir, 'sb');
  const backup = (vt: string, disk: string, extra = '') => xfa(['launch',
    `source-random length=200KiB seed=3 ! dest-taper changer=chg-disk:${vt} label-template=VOL-%%% part-size=64KiB ${extra} header="${HEADER(disk)}"`,
    '--record', '--catalog', db]);
  const a = await backup(sa, '/a');
  expect(a.stderr).toBe('');
  expect(a.code).toBe(0);

  const clash = `volume VOL-001 at file:${join(sb, 'slot1')}: the catalog already has a volume VOL-001 at file:${join(sa, 'slot1')} ` +
    '(labels must be unique; use another label template)';
  const b = await backup(sb, '/b');
  expect(b.code).toBe(1);
  expect(b.stderr).toContain(`recorded dump #2 client:/b level 0 20261122080000: failed (${clash})`);
  expect(b.stderr).not.toMatch(/no CRC|UNIQUE constraint|uncaught|Warning/i);

  // again, relabeling (erasing) sb's VOL-001: sa's VOL-001 keeps its parts
  const c = await backup(sb, '/c', 'mode=write');
  expect(c.code).toBe(1);
  expect(c.stderr).toContain(`recorded dump #3 client:/c level 0 20261122080000: failed (${clash})`);

  const cat = openCatalog(db);
  try {
    expect(cat.volume('VOL-001')).toMatchObject({ device: `file:${join(sa, 'slot1')}`, reused: 0 });
    expect(cat.dumps().map((d) => [d.disk, d.status])).toEqual([['/a', 'ok'], ['/b', 'failed'], ['/c', 'failed']]);
    expect(cat.parts(1)).toHaveLength(4);
    expect(cat.parts(1).every((p) => p.device === `file:${join(sa, 'slot1')}`)).toBe(true);
  } finally {
    cat.close();
  }
  const v = await xfa(['verify', '--catalog', db]);
  expect(v.stdout).toMatch(/0 problems/);
  expect(v.code).toBe(0);
});

it('a volume relabeled on the same device is recorded as before', async () => {
  const dir = scratch();
  const db = join(dir, 'catalog.db');
  const sa = vtapes(dir, 'sa');
  const backup = (disk: string, extra = '') => xfa(['launch',
    `source-random length=100KiB seed=4 ! dest-taper changer=chg-disk:${sa} label-template=VOL-%%% part-size=64KiB ${extra} header="${HEADER(disk)}"`,
    '--record', '--catalog', db]);
  expect((await backup('/a')).code).toBe(0);
  const again = await backup('/b', 'mode=write');
  expect(again.stderr).toBe('');
  expect(again.code).toBe(0);
  const cat = openCatalog(db);
  try {
    expect(cat.dumps().map((d) => [d.disk, d.status, d.error])).toEqual([['/a', 'failed', 'volume VOL-001 was relabeled'], ['/b', 'ok', null]]);
    expect(cat.volume('VOL-001')).toMatchObject({ device: `file:${join(sa, 'slot1')}`, reused: 1 });
  } finally {
    cat.close();
  }
});
