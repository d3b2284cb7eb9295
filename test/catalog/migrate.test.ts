// xfa migrate (amvault) as a library: holding → vtape → a second vtape set re-split to another
// part size, every copy read back and verified; plans (dry run) that change nothing; filters;
// resuming (already copied dumps skipped, copies left running failed and done again); a
// corrupted source part makes that copy fail, recorded failed, while the others are copied.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { crc32cOfParts } from '../../src/catalog/crc.js';
import { openCatalog, type Catalog } from '../../src/catalog/db.js';
import { expandBraces } from '../../src/media/braces.js';
import { migrate, MigrateError, normalizeStorage, planMigration, S3_SLOTS_AHEAD, s3Changer, scanHolding, storageOf, type MigrateEvent } from '../../src/catalog/migrate.js';
import { verify } from '../../src/catalog/verify.js';
import { corrupt, vtapeFile } from './helpers.js';
import { crcOf, holdingFile, info, KiB, randomDump, readsBack, slots } from './migrate-helpers.js';

let root: string;
let cat: Catalog;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'xfa-migrate-'));
  cat = openCatalog(join(root, 'catalog.db'));
});
afterEach(() => {
  cat.close();
  rmSync(root, { recursive: true, force: true });
});

const partsOf = (id: number) => cat.parts(id);
const files = (dir: string): string[] => readdirSync(dir, { recursive: true }).map(String).sort();

describe('holding → vtape → second vtape set', () => {
  it('copies holding files to vtapes, then to another set with another part size: re-split, verified, restorable', async () => {
    const hold = join(root, 'holding');
    const A = info('alpha', '/home', 0, '20260301010101');
    const B = info('beta', '/srv', 1, '20260302010101');
    await holdingFile(hold, A, 11, 700 * KiB);
    await holdingFile(hold, B, 12, 300 * KiB + 5);
    expect(scanHolding(hold).map((h) => [h.header.name, h.size])).toEqual([['alpha', 700 * KiB], ['beta', 300 * KiB + 5]]);
    const set1 = slots(join(root, 'set1'));
    const set2 = slots(join(root, 'set2'));

    const events: MigrateEvent[] = [];
    const r1 = await migrate(cat, { from: `holding:${hold}`, to: `chg-disk:${set1}`, partSize: 256 * KiB, labelTemplate: 'ONE-%%', onEvent: (e) => events.push(e) });
    expect(r1).toMatchObject({ planned: 2, copied: 2, failed: 0, skipped: 0, bytes: 1000 * KiB + 5 });
    expect(events.filter((e) => e.type === 'start').map((e) => e.type === 'start' && e.item.host)).toEqual(['alpha', 'beta']);
    // The holding files were recorded (no parts, storage holding:DIR) so that the copies name them.
    const originals = cat.dumps().filter((d) => d.origin === 'reindex');
    expect(originals.map((d) => [d.host, d.status, d.storage, d.size, d.crc])).toEqual([
      ['alpha', 'ok', `holding:${hold}`, 700 * KiB, crcOf(11, 700 * KiB)], ['beta', 'ok', `holding:${hold}`, 300 * KiB + 5, crcOf(12, 300 * KiB + 5)]]);
    const copies1 = cat.dumps().filter((d) => d.origin === 'migrate');
    expect(copies1.map((d) => [d.host, d.status, d.copy_of, d.storage])).toEqual([
      ['alpha', 'ok', originals[0].id, `chg-disk:${set1}`], ['beta', 'ok', originals[1].id, `chg-disk:${set1}`]]);
    expect(copies1.map((d) => partsOf(d.id).length)).toEqual([3, 2]); // 700 KiB and 300 KiB in 256 KiB parts

    // Second hop: from set1 to set2 with 128 KiB parts. The copies keep the source's slice index (same bytes).
    cat.setSliceIndex(copies1[0].id, 'test-format', Buffer.from('index of alpha'));
    const r2 = await migrate(cat, { from: `chg-disk:${set1}`, to: `chg-disk:${set2}`, partSize: 128 * KiB, labelTemplate: 'TWO-%%' });
    expect(r2).toMatchObject({ copied: 2, failed: 0 });
    const copies2 = cat.dumps().filter((d) => d.storage === `chg-disk:${set2}`);
    expect(copies2.map((d) => [d.host, d.status, d.copy_of])).toEqual([['alpha', 'ok', copies1[0].id], ['beta', 'ok', copies1[1].id]]);
    expect(copies2.map((d) => partsOf(d.id).length)).toEqual([6, 3]);
    expect(cat.sliceIndex(copies2[0].id)).toEqual({ format: 'test-format', data: Buffer.from('index of alpha') });
    expect(cat.sliceIndex(copies2[1].id)).toBeUndefined();
    cat.db.exec('DELETE FROM slice_indexes'); // not a real index: verify would check it
    expect(copies2.map((d) => partsOf(d.id).map((p) => p.size))).toEqual([Array(6).fill(128 * KiB).slice(0, 5).concat([60 * KiB]), [128 * KiB, 128 * KiB, 44 * KiB + 5]]);
    for (const c of copies2) {
      const ps = partsOf(c.id);
      expect(ps.every((p) => p.label.startsWith('TWO-') && p.crc)).toBe(true);
      expect(crc32cOfParts(ps.map((p) => ({ crc: p.crc!, size: p.size })))).toBe(c.crc);
    }
    expect(copies2[0].crc).toBe(crcOf(11, 700 * KiB));

    // Restore check: the second-generation copy reads back as the original bytes, byte for byte.
    const a2 = partsOf(copies2[0].id).map((p) => `${p.label}:${p.fileno}:${p.size}`);
    expect(await readsBack(`chg-disk:${set2}`, A, a2, 11)).toEqual({ crc: crcOf(11, 700 * KiB), size: 700 * KiB });
    const b2 = partsOf(copies2[1].id).map((p) => `${p.label}:${p.fileno}:${p.size}`);
    expect(await readsBack(`chg-disk:${set2}`, B, b2, 12)).toEqual({ crc: crcOf(12, 300 * KiB + 5), size: 300 * KiB + 5 });
    const labels = [...new Set(cat.parts().filter((p) => p.label.startsWith('TWO-') || p.label.startsWith('ONE-')).map((p) => p.label))];
    expect((await verify(cat, { labels })).problems).toEqual([]);
    // the whole catalog verifies too: the originals on the holding disk are skipped, said why
    const all = await verify(cat);
    expect(all.problems).toEqual([]);
    expect(all.skipped.map((x) => x.why)).toEqual([expect.stringMatching(/^on the holding disk /), expect.stringMatching(/^on the holding disk /)]);

    // Again: nothing to do — every family already has an ok copy there.
    const again = await migrate(cat, { to: `chg-disk:${set2}`, partSize: 128 * KiB, labelTemplate: 'TWO-%%' });
    expect(again).toMatchObject({ copied: 0, skipped: 2, failed: 0 });
    expect(again.results.map((x) => x.error)).toEqual([`already copied as #${copies2[0].id}`, `already copied as #${copies2[1].id}`]);
    const fromHolding = await migrate(cat, { from: `holding:${hold}`, to: `chg-disk:${set1}`, labelTemplate: 'ONE-%%' });
    expect(fromHolding).toMatchObject({ copied: 0, skipped: 2 });
  });

  it('a dump spans volumes of the destination (small MAX_VOLUME_USAGE); the next dump continues on the last slot used', async () => {
    const src = slots(join(root, 'src'));
    const dst = slots(join(root, 'dst'), 8);
    const d1 = await randomDump(cat, src, info('h', '/a', 0, '20260101000000'), 1, 900 * KiB);
    const d2 = await randomDump(cat, src, info('h', '/b', 0, '20260101000000'), 2, 200 * KiB);
    const r = await migrate(cat, { to: `chg-disk:${dst}`, partSize: 256 * KiB, labelTemplate: 'V-%%', deviceProperties: [`MAX_VOLUME_USAGE=${640 * KiB}`] });
    expect(r).toMatchObject({ copied: 2, failed: 0 });
    const [c1, c2] = r.results;
    expect(c1.labels!.length).toBeGreaterThanOrEqual(2);
    expect(c2.labels![0]).toBe(c1.labels!.at(-1));
    expect(cat.dump(c1.copyId!)!.crc).toBe(cat.dump(d1)!.crc);
    expect(cat.dump(c2.copyId!)!.crc).toBe(cat.dump(d2)!.crc);
    expect(await readsBack(`chg-disk:${dst}`, info('h', '/a', 0, '20260101000000'), partsOf(c1.copyId!).map((p) => `${p.label}:${p.fileno}`), 1))
      .toEqual({ crc: crcOf(1, 900 * KiB), size: 900 * KiB });
  });
});

describe('vtape → tape (the st emulator; no real drive was tested)', () => {
  it('spans two emulated tapes (chg-multi), the zero-padded last blocks are read back at the parts\' sizes; the copies verify', async () => {
    const src = slots(join(root, 'src'));
    for (const n of [1, 2]) writeFileSync(join(root, `t-${n}`), `XFATAPE1 ${1 << 20} ${800_000}\n`.padEnd(64, ' '));
    const D = info('h', '/d', 0, '20260101000000');
    const E = info('h', '/e', 0, '20260101000000');
    await randomDump(cat, src, D, 1, 1024 * KiB);
    await randomDump(cat, src, E, 2, 100 * KiB + 7); // not a whole number of tape blocks
    const to = `chg-multi:tape:emu:${root}/t-{1,2}`;
    const r = await migrate(cat, { to, partSize: 256 * KiB, labelTemplate: 'TAPE-$s', deviceProperties: ['LEOM=true'] });
    expect(r.results.map((x) => [x.status, x.labels, x.error])).toEqual([['ok', ['TAPE-1', 'TAPE-2'], undefined], ['ok', ['TAPE-2'], undefined]]);
    const [cd, ce] = r.results.map((x) => cat.dump(x.copyId!)!);
    expect([cd.crc, ce.crc]).toEqual([crcOf(1, 1024 * KiB), crcOf(2, 100 * KiB + 7)]);
    expect(cat.parts(ce.id)).toMatchObject([{ size: 100 * KiB + 7, crc: crcOf(2, 100 * KiB + 7), device: `tape:emu:${root}/t-2` }]);
    expect(await readsBack(to, E, cat.parts(ce.id).map((p) => `${p.label}:${p.fileno}:${p.size}`), 2, 100 * KiB + 7)).toEqual({ crc: crcOf(2, 100 * KiB + 7), size: 100 * KiB + 7 });
    expect(await readsBack(to, D, cat.parts(cd.id).map((p) => `${p.label}:${p.fileno}:${p.size}`), 1)).toEqual({ crc: crcOf(1, 1024 * KiB), size: 1024 * KiB });
  });
});

describe('plans and filters', () => {
  async function three(): Promise<{ src: string; dst: string; ids: number[] }> {
    const src = slots(join(root, 'src'));
    const dst = slots(join(root, 'dst'));
    const ids = [
      await randomDump(cat, src, info('web1', '/var/www', 0, '20260101030000'), 1, 50 * KiB),
      await randomDump(cat, src, info('web1', '/var/www', 1, '20260102030000'), 2, 20 * KiB),
      await randomDump(cat, src, info('web1', '/var/www', 0, '20260103030000'), 3, 60 * KiB),
      await randomDump(cat, src, info('db1', '/var/lib/pg', 0, '20260102030000'), 4, 40 * KiB),
      await randomDump(cat, src, info('web2', '/etc', 0, '20251231030000'), 5, 10 * KiB),
    ];
    return { src, dst, ids };
  }
  const names = (items: ReturnType<typeof planMigration>) => items.map((i) => `${i.host}:${i.disk}:${i.level}:${i.datestamp.slice(0, 8)}`);

  it('--dry-run plans list each dump with its size, source and destination, and change nothing', async () => {
    const { src, dst, ids } = await three();
    const before = JSON.stringify([cat.dumps(), cat.parts(), cat.volumes()]);
    const plan = planMigration(cat, { to: `chg-disk:${dst}` });
    expect(plan.map((i) => i.id)).toEqual([ids[4], ids[0], ids[3], ids[1], ids[2]]);
    expect(plan[1]).toMatchObject({ action: 'copy', size: 50 * KiB, from: `chg-disk:${src}`, to: `chg-disk:${dst}`, original: ids[0] });
    expect(JSON.stringify([cat.dumps(), cat.parts(), cat.volumes()])).toBe(before);
    expect(files(dst)).toEqual(['slot1', 'slot2', 'slot3', 'slot4', 'slot5', 'slot6']);
  });

  it('host, disk (glob), since, fulls-only, latest-fulls, from', async () => {
    const { src, dst } = await three();
    const to = `chg-disk:${dst}`;
    expect(names(planMigration(cat, { to, host: 'web1' }))).toEqual(['web1:/var/www:0:20260101', 'web1:/var/www:1:20260102', 'web1:/var/www:0:20260103']);
    expect(names(planMigration(cat, { to, host: 'web*', disk: '/e?c' }))).toEqual(['web2:/etc:0:20251231']);
    expect(names(planMigration(cat, { to, disk: '/var/*' }))).toHaveLength(4);
    expect(names(planMigration(cat, { to, since: '20260102' }))).toEqual(['db1:/var/lib/pg:0:20260102', 'web1:/var/www:1:20260102', 'web1:/var/www:0:20260103']);
    expect(names(planMigration(cat, { to, fullsOnly: true }))).toEqual(['web2:/etc:0:20251231', 'web1:/var/www:0:20260101', 'db1:/var/lib/pg:0:20260102', 'web1:/var/www:0:20260103']);
    expect(names(planMigration(cat, { to, latestFulls: true }))).toEqual(['web2:/etc:0:20251231', 'db1:/var/lib/pg:0:20260102', 'web1:/var/www:0:20260103']);
    expect(names(planMigration(cat, { to, latestFulls: true, host: 'web1' }))).toEqual(['web1:/var/www:0:20260103']);
    expect(planMigration(cat, { to, from: `chg-disk:${src}` })).toHaveLength(5);
    expect(planMigration(cat, { to, from: `chg-disk:${join(root, 'elsewhere')}` })).toEqual([]);
    expect(() => planMigration(cat, { to, since: '2026-01-01' })).toThrow(MigrateError);
    expect(() => planMigration(cat, { to, from: to })).toThrow(/same storage/);
    expect(() => planMigration(cat, { to: 'holding:/x' })).toThrow(/source only/);
    expect(() => planMigration(cat, { to: 'ftp://x' })).toThrow(/not a storage/);

    // Copy the latest fulls only; then the whole plan shows them as already copied.
    const r = await migrate(cat, { to, latestFulls: true, labelTemplate: 'C-%%' });
    expect(r).toMatchObject({ copied: 3, failed: 0 });
    const plan = planMigration(cat, { to });
    expect(plan.map((i) => i.action)).toEqual(['skip', 'copy', 'skip', 'copy', 'skip']);
    expect(plan[0].reason).toMatch(/^already copied as #\d+$/);
    // A copy is not a new family: planning from the copies' storage to a third place lists each dump once.
    const third = slots(join(root, 'third'));
    expect(planMigration(cat, { to: `chg-disk:${third}` }).map((i) => [i.id, i.from])).toEqual(
      plan.map((i) => [i.original, `chg-disk:${src}`]));
    expect(planMigration(cat, { to: `chg-disk:${third}`, from: to }).map((i) => i.from)).toEqual([to, to, to]);
  });

  it('storages: normalized specs, chg-multi lists, storage derived from parts', async () => {
    expect(normalizeStorage('chg-disk:/a/b/')).toBe('chg-disk:/a/b');
    expect(normalizeStorage('s3:bucket/pre/fix/')).toBe('s3:bucket/pre/fix');
    expect(normalizeStorage('s3:bucket/')).toBe('s3:bucket');
    expect(expandBraces('file:/vt/slot{1..3},file:/x/{a,b}')).toEqual(['file:/vt/slot1', 'file:/vt/slot2', 'file:/vt/slot3', 'file:/x/a', 'file:/x/b']);
    expect(expandBraces('tape:emu:/t{01..02}')).toEqual(['tape:emu:/t01', 'tape:emu:/t02']);
    // S3 copies: dest-taper's changer lists slot-01 (changer slot N = slot-NN) up to S3_SLOTS_AHEAD slots after the first slot used.
    const s3 = s3Changer('s3:vault/daily', 3);
    expect(S3_SLOTS_AHEAD).toBe(100);
    expect(s3.changer).toBe('chg-multi:s3:vault/daily/slot-{01..102}/');
    expect(s3.devices).toHaveLength(102);
    expect([s3.devices[0], s3.devices[2], s3.devices[101]]).toEqual(['s3:vault/daily/slot-01/', 's3:vault/daily/slot-03/', 's3:vault/daily/slot-102/']);
    expect(expandBraces(s3.changer.slice('chg-multi:'.length))).toEqual(s3.devices);
    expect(() => s3Changer('s3:vault/a,b', 1)).toThrow(MigrateError);
    const src = slots(join(root, 'src'));
    const id = await randomDump(cat, src, info('h', '/a', 0, '20260101000000'), 1, 10 * KiB);
    expect(storageOf(cat, cat.dump(id)!)).toBe(`chg-disk:${src}`);
  });
});

describe('resuming and failures', () => {
  it('a copy left running by an interrupted migrate is marked failed and done again; finished ones are not copied again', async () => {
    const src = slots(join(root, 'src'));
    const dst = slots(join(root, 'dst'));
    const to = `chg-disk:${dst}`;
    const a = await randomDump(cat, src, info('h', '/a', 0, '20260101000000'), 1, 100 * KiB);
    const b = await randomDump(cat, src, info('h', '/b', 0, '20260101000000'), 2, 100 * KiB);
    const first = await migrate(cat, { to, host: 'h', disk: '/a', labelTemplate: 'D-%%' });
    expect(first.copied).toBe(1);
    // What a killed migrate leaves: a running copy of b with a part on the destination.
    const d = cat.dump(b)!;
    const stale = cat.startDump({ host: d.host, disk: d.disk, level: d.level, datestamp: d.datestamp, origin: 'migrate', copyOf: b, storage: to });
    cat.addPart(stale, { label: 'D-01', device: `file:${join(dst, 'slot1')}`, fileno: 99, partnum: 1, size: 10 });
    const again = await migrate(cat, { to, labelTemplate: 'D-%%' });
    expect(again.interrupted).toEqual([stale]);
    expect(cat.dump(stale)).toMatchObject({ status: 'failed', error: expect.stringMatching(/interrupted/) });
    expect(again).toMatchObject({ copied: 1, skipped: 1, failed: 0 });
    expect(again.results.find((r) => r.status === 'ok')!.item.id).toBe(b);
    expect(cat.dumps({ status: 'ok' }).filter((x) => x.copy_of !== null).map((x) => x.copy_of).sort()).toEqual([a, b]);
  });

  it('a corrupted source part: that copy is failed (never ok) with the CRC mismatch; the other dumps are copied', async () => {
    const src = slots(join(root, 'src'));
    const dst = slots(join(root, 'dst'));
    const ids = [
      await randomDump(cat, src, info('h', '/a', 0, '20260101000000'), 1, 600 * KiB),
      await randomDump(cat, src, info('h', '/b', 0, '20260101000000'), 2, 600 * KiB),
      await randomDump(cat, src, info('h', '/c', 0, '20260101000000'), 3, 600 * KiB),
    ];
    const p = partsOf(ids[1])[1];
    corrupt(vtapeFile(p.device!.slice('file:'.length), p.fileno));
    const r = await migrate(cat, { to: `chg-disk:${dst}`, partSize: 200 * KiB, labelTemplate: 'D-%%' });
    expect(r).toMatchObject({ copied: 2, failed: 1 });
    const bad = r.results.find((x) => x.status === 'failed')!;
    expect(bad.item.id).toBe(ids[1]);
    expect(bad.error).toMatch(/the source read back has CRC [0-9a-f]{8} \(614400 bytes\), the catalog says [0-9a-f]{8} \(614400 bytes\)/);
    expect(cat.dump(bad.copyId!)).toMatchObject({ status: 'failed', copy_of: ids[1] });
    expect(cat.dumps({ status: 'ok' }).filter((x) => x.origin === 'migrate').map((x) => x.copy_of)).toEqual([ids[0], ids[2]]);
    // The next run tries the broken one again (it has no good copy), and fails it again.
    const again = await migrate(cat, { to: `chg-disk:${dst}`, partSize: 200 * KiB, labelTemplate: 'D-%%' });
    expect(again).toMatchObject({ copied: 0, skipped: 2, failed: 1 });
  });

  it('a destination without room or labels fails the copy, recorded failed', async () => {
    const src = slots(join(root, 'src'));
    const dst = slots(join(root, 'dst'), 1);
    await randomDump(cat, src, info('h', '/a', 0, '20260101000000'), 1, 100 * KiB);
    const noLabel = await migrate(cat, { to: `chg-disk:${dst}` }); // blank volumes, no label template
    expect(noLabel).toMatchObject({ copied: 0, failed: 1 });
    expect(cat.dump(noLabel.results[0].copyId!)!.status).toBe('failed');
    const full = await migrate(cat, { to: `chg-disk:${dst}`, labelTemplate: 'F-%%', deviceProperties: [`MAX_VOLUME_USAGE=${64 * KiB}`] });
    expect(full).toMatchObject({ copied: 0, failed: 1 });
    expect(cat.dumps({ status: 'ok' }).filter((x) => x.origin === 'migrate')).toEqual([]);
  });
});
