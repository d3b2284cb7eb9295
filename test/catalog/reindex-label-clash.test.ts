// xfa reindex and a label on two devices (two changers, or two single devices, written with the
// same label template): the second volume is refused with a problem, the first keeps the label,
// its device and its parts — whether the devices are given as changers or one by one. One device
// named twice (its changer and a path to its slot) is read once, no clash.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openCatalog, type Catalog } from '../../src/catalog/db.js';
import { reindex } from '../../src/catalog/reindex.js';
import { backup, changer, DUMP, tarTree } from './helpers.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'xfa-reindex-clash-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** Two vtape sets, each holding one backup (disks /a and /b) on volumes VOL01, VOL02. */
async function twoChangers(): Promise<{ a: string; b: string; partsA: Array<[string, string | null, number, number]> }> {
  const a = changer(join(root, 'a'), 3);
  const b = changer(join(root, 'b'), 3);
  const scratch = openCatalog(join(root, 'scratch-a.db'));
  const ra = await backup(scratch, a, tarTree(join(root, 'ta'), 7).argv, { ...DUMP, disk: '/a' });
  expect(ra.status).toBe('ok');
  const partsA = scratch.parts(ra.dumpId).map((p) => [p.label, p.device, p.fileno, p.partnum] as [string, string | null, number, number]);
  scratch.close();
  const other = openCatalog(join(root, 'scratch-b.db'));
  expect((await backup(other, b, tarTree(join(root, 'tb'), 8).argv, { ...DUMP, disk: '/b' })).status).toBe('ok');
  other.close();
  expect(partsA.map((p) => p[0])).toContain('VOL02');
  return { a, b, partsA };
}

const summary = (cat: Catalog) => ({
  volumes: cat.volumes().map((v) => [v.label, v.device]),
  dumps: cat.dumps().map((d) => [d.disk, d.status]),
});

it('two changers with the same labels: the second\'s volumes refused as problems, the first\'s keep their devices and parts', async () => {
  const { a, b, partsA } = await twoChangers();
  const cat = openCatalog(join(root, 'catalog.db'));
  const r = await reindex(cat, [`chg-disk:${a}`, `chg-disk:${b}`]);
  expect(r.problems).toEqual(['slot1', 'slot2'].map((s, i) => ({ where: `file:${join(b, s)}`,
    message: `skipped: label VOL0${i + 1} is also on file:${join(a, s)} (labels must be unique in a catalog)` })));
  expect(r).toMatchObject({ dumps: 1, ok: 1, failed: 0 });
  expect(summary(cat)).toEqual({ volumes: [['VOL01', `file:${join(a, 'slot1')}`], ['VOL02', `file:${join(a, 'slot2')}`]], dumps: [['/a', 'ok']] });
  expect(cat.parts(1).map((p) => [p.label, p.device, p.fileno, p.partnum])).toEqual(partsA);
  cat.close();
}, 60_000);

it('single devices given one by one: a clash is the same problem, not a failed reindex', async () => {
  const { a, b, partsA } = await twoChangers();
  const cat = openCatalog(join(root, 'catalog.db'));
  const devs = (dir: string) => ['slot1', 'slot2'].map((s) => `file:${join(dir, s)}`);
  const r = await reindex(cat, [...devs(a), ...devs(b)]);
  expect(r.problems).toEqual(['slot1', 'slot2'].map((s, i) => ({ where: `file:${join(b, s)}`,
    message: `skipped: label VOL0${i + 1} is also on file:${join(a, s)} (labels must be unique in a catalog)` })));
  expect(r).toMatchObject({ dumps: 1, ok: 1, failed: 0 });
  expect(summary(cat)).toEqual({ volumes: [['VOL01', `file:${join(a, 'slot1')}`], ['VOL02', `file:${join(a, 'slot2')}`]], dumps: [['/a', 'ok']] });
  expect(cat.parts(1).map((p) => [p.label, p.device, p.fileno, p.partnum])).toEqual(partsA);

  // the other order: b's volumes are the ones kept
  const again = await reindex(cat, [...devs(b), ...devs(a)], { replace: true });
  expect(again.problems.map((p) => p.where)).toEqual(devs(a));
  expect(summary(cat)).toEqual({ volumes: [['VOL01', `file:${join(b, 'slot1')}`], ['VOL02', `file:${join(b, 'slot2')}`]], dumps: [['/b', 'ok']] });
  cat.close();
}, 60_000);

it('one device named twice (its changer, then its slot by another path): read once, no clash', async () => {
  const { a } = await twoChangers();
  const cat = openCatalog(join(root, 'catalog.db'));
  const r = await reindex(cat, [`chg-disk:${a}`, `file:${relative(process.cwd(), join(a, 'slot1'))}`, `file:${join(a, 'slot2')}/`]);
  expect(r.problems).toEqual([]);
  expect(r).toMatchObject({ dumps: 1, ok: 1 });
  expect(summary(cat)).toEqual({ volumes: [['VOL01', `file:${join(a, 'slot1')}`], ['VOL02', `file:${join(a, 'slot2')}`]], dumps: [['/a', 'ok']] });
  cat.close();
}, 60_000);
