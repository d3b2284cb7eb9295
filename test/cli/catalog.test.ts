// xfa ls / label / verify on a catalog filled by a real backup (tar of a tree over vtapes).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scanVolume } from '../../src/media/volume.js';
import { backup, changer, corrupt, open, tarTree, vtapeFile } from '../catalog/helpers.js';
import { scratch, xfa } from './helpers.js';

/** A scratch dir with a catalog holding one good dump across several vtapes. */
async function backedUp(): Promise<{ dir: string; db: string; vt: string; dumpId: number }> {
  const dir = scratch();
  const vt = changer(dir);
  const cat = open(dir);
  const r = await backup(cat, vt, tarTree(dir).argv);
  expect(r.status).toBe('ok');
  cat.close();
  return { dir, db: join(dir, 'catalog.db'), vt, dumpId: r.dumpId };
}

describe('xfa ls', () => {
  it('filters by host and disk (globs), date and status; only the volumes of the dumps listed', async () => {
    const dir = scratch();
    const vt = changer(dir);
    const cat = open(dir);
    const argv = tarTree(dir).argv;
    expect((await backup(cat, vt, argv, { host: 'alpha', disk: '/home', level: 0, datestamp: '20261101000000' }, 1)).status).toBe('ok');
    expect((await backup(cat, vt, argv, { host: 'beta', disk: '/var/log', level: 1, datestamp: '20261120000000' }, 3)).status).toBe('ok');
    cat.startDump({ host: 'beta', disk: '/var/lib', level: 0, datestamp: '20261121000000' }); // left running
    cat.close();
    const db = join(dir, 'catalog.db');
    const names = async (...f: string[]) => (JSON.parse((await xfa(['ls', '-c', db, '--json', ...f])).stdout) as { volumes: Array<{ label: string }>; dumps: Array<{ host: string; disk: string }> });
    const alpha = await names('--host', 'alpha');
    expect(alpha.dumps.map((d) => `${d.host}:${d.disk}`)).toEqual(['alpha:/home']);
    expect(alpha.volumes.map((v) => v.label)).toEqual(['VOL01', 'VOL02']);
    expect((await names('--disk', '/var/*')).dumps.map((d) => d.disk)).toEqual(['/var/log', '/var/lib']);
    expect((await names('--host', 'b?ta', '--status', 'running')).dumps.map((d) => d.disk)).toEqual(['/var/lib']);
    expect((await names('--since', '20261115')).dumps.map((d) => d.host)).toEqual(['beta', 'beta']);
    expect((await names()).volumes.length).toBe(4);
    const bad = await xfa(['ls', '-c', db, '--since', 'yesterday']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--since yesterday: want YYYYMMDD/);
  });

  it('lists volumes, dumps and parts; --json has the same rows', async () => {
    const { db } = await backedUp();
    const j = await xfa(['ls', '--catalog', db, '--json']);
    expect(j.code).toBe(0);
    const out = JSON.parse(j.stdout) as { volumes: Array<{ label: string }>; dumps: Array<{ host: string; status: string; size: number; parts: Array<{ label: string; fileno: number; partnum: number }> }> };
    expect(out.volumes.map((v) => v.label)).toEqual(['VOL01', 'VOL02']);
    expect(out.dumps).toHaveLength(1);
    expect(out.dumps[0]).toMatchObject({ host: 'client', disk: '/data', level: 0, status: 'ok', indexed: false });
    expect(out.dumps[0].parts.map((p) => p.partnum)).toEqual([1, 2, 3]);
    const t = await xfa(['ls', '-c', db]);
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/^Volumes \(2\):\n {2}VOL01 /);
    expect(t.stdout).toContain('#1 client:/data level 0 20261122063000  ok');
    for (const p of out.dumps[0].parts) expect(t.stdout).toContain(`part ${p.partnum}  ${p.label}:${p.fileno}`);
  });

  it('an unreadable catalog exits 1 with the reason; extra arguments exit 2', async () => {
    const dir = scratch();
    const bad = await xfa(['ls', '--catalog', dir]); // a directory
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/cannot open catalog/);
    const usage = await xfa(['ls', 'extra', '--catalog', join(dir, 'c.db')]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('xfa ls --help');
  });
});

describe('xfa label', () => {
  it('refuses a label the catalog has on another device (it would take the dumps on it), unless --force', async () => {
    const { db, vt } = await backedUp();
    const blank = `file:${join(vt, 'slot6')}`;
    const r = await xfa(['label', blank, 'VOL01', '-c', db]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`the catalog already has a volume "VOL01" at file:.*slot1 holding parts of 1 dump; labels must be unique`));
    expect(JSON.parse((await xfa(['ls', '--json', '-c', db])).stdout).dumps[0].status).toBe('ok');
    expect(() => scanVolume(blank)).toThrow(/unlabeled/); // untouched
  });

  it('read-only commands refuse a catalog that does not exist instead of creating an empty one', async () => {
    const dir = scratch();
    const missing = join(dir, 'typo', 'catalog.db');
    for (const args of [['ls'], ['verify'], ['restore', '--host', 'h', '--list']]) {
      const r = await xfa([...args, '-c', missing]);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toContain(`xfa: no catalog at ${missing}`);
    }
    const { existsSync } = await import('node:fs');
    expect(existsSync(join(dir, 'typo'))).toBe(false);
  });

  it('labels a blank vtape, refuses a labeled one without --force, relabels with it', async () => {
    const { db, vt } = await backedUp();
    const dev = `file:${join(vt, 'slot5')}`;
    const first = await xfa(['label', dev, 'NEW05', '-c', db]);
    expect(first.code).toBe(0);
    expect(scanVolume(dev).label).toBe('NEW05');
    const busy = `file:${join(vt, 'slot1')}`;
    const refused = await xfa(['label', busy, 'OTHER', '-c', db]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('already labeled "VOL01"');
    expect(scanVolume(busy).label).toBe('VOL01');
    expect(scanVolume(busy).files.length).toBeGreaterThan(0);
    const forced = await xfa(['label', busy, 'OTHER', '--force', '-c', db]);
    expect(forced.code).toBe(0);
    expect(scanVolume(busy)).toMatchObject({ label: 'OTHER', files: [] });
    // the dump had parts on VOL01: it is no longer good, and VOL01 is gone from the catalog
    const ls = JSON.parse((await xfa(['ls', '--json', '-c', db])).stdout) as { volumes: Array<{ label: string; reused: number }>; dumps: Array<{ status: string; error: string }> };
    expect(ls.volumes.map((v) => v.label)).toEqual(['NEW05', 'OTHER', 'VOL02']);
    expect(ls.volumes.find((v) => v.label === 'OTHER')!.reused).toBe(1);
    expect(ls.dumps[0]).toMatchObject({ status: 'failed', error: 'volume VOL01 was relabeled' });
  });

  it('a missing device exits 1; a missing LABEL exits 2', async () => {
    const dir = scratch();
    const r = await xfa(['label', `file:${join(dir, 'nope')}`, 'X', '-c', join(dir, 'c.db')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot label: .*nope/);
    expect((await xfa(['label', `file:${dir}`])).code).toBe(2);
  });
});

describe('xfa verify', () => {
  it('good media: exit 0 and every byte read', async () => {
    const { db } = await backedUp();
    const r = await xfa(['verify', '-c', db, '--json']);
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.stdout) as { volumes: number; dumps: number; parts: number; bytes: number; problems: unknown[] };
    expect(rep).toMatchObject({ volumes: 2, dumps: 1, parts: 3, problems: [] });
    expect(rep.bytes).toBeGreaterThan(500 * 1024);
  });

  it('a corrupted part: exit 1, reported at LABEL:FILE with the part number', async () => {
    const { db, vt } = await backedUp();
    corrupt(vtapeFile(join(vt, 'slot2'), 1), 5000);
    const r = await xfa(['verify', '-c', db]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^VOL02:1: client:\/data level 0 20261122063000: part 3: CRC32C [0-9a-f]{8}, the catalog says [0-9a-f]{8}$/m);
    expect(r.stdout).toMatch(/^dump 1: .*dump CRC32C/m);
    expect(r.stdout).toMatch(/2 problems\n$/);
    // --headers-only does not read data: the corruption is not seen
    expect((await xfa(['verify', '-c', db, '--headers-only'])).code).toBe(0);
    // only VOL01: its parts are fine
    const one = await xfa(['verify', 'VOL01', '-c', db]);
    expect(one.code).toBe(0);
    expect(one.stdout).toMatch(/^1 volume, 1 dump, 2 parts/);
  });

  it('a vtape directory gone: the volume is reported with its device', async () => {
    const { db, vt } = await backedUp();
    const { rmSync } = await import('node:fs');
    rmSync(join(vt, 'slot2'), { recursive: true });
    const r = await xfa(['verify', '-c', db]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`VOL02 (file:${join(vt, 'slot2')}): cannot read the volume`);
    expect(r.stdout).toMatch(/^VOL02:1: .*part 3: its volume could not be read$/m);
  });
});

describe('xfa reindex', () => {
  it('rebuilds a deleted catalog from chg-disk:DIR; a non-empty catalog needs --force', async () => {
    const { db, vt } = await backedUp();
    const before = JSON.parse((await xfa(['ls', '--json', '-c', db])).stdout) as { dumps: Array<{ crc: string; parts: unknown[] }> };
    const { rmSync } = await import('node:fs');
    rmSync(db);
    const r = await xfa(['reindex', `chg-disk:${vt}`, '-c', db]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^2 volumes, 1 dumps \(1 ok, 0 failed\), 3 parts$/m);
    expect(r.stdout).toContain('warning: 3 parts, total unknown');
    const after = JSON.parse((await xfa(['ls', '--json', '-c', db])).stdout) as { dumps: Array<{ crc: string; origin: string; parts: unknown[] }> };
    expect(after.dumps.map((d) => [d.crc, d.origin, d.parts])).toEqual(before.dumps.map((d) => [d.crc, 'reindex', d.parts]));
    expect((await xfa(['verify', '-c', db])).code).toBe(0);
    const again = await xfa(['reindex', `chg-disk:${vt}`, '-c', db]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/is not empty.*--force replaces it/);
    expect((await xfa(['reindex', `chg-disk:${vt}`, '-c', db, '--force'])).code).toBe(0);
    expect((await xfa(['reindex', '-c', db])).code).toBe(2);
  });

  it('rebuilds slice indexes from the media unless --no-indexes', async () => {
    const dir = scratch();
    const vt = changer(dir);
    const db = join(dir, 'catalog.db');
    const { argv } = tarTree(dir);
    const header = 'AMANDA: SPLIT_FILE 20261122080000 client /data part 1/-1 lev 0 comp .zst program /bin/tar';
    const rec = await xfa(['launch', `source-process cmd="${argv.join(' ')}" ! filter-tar-index slice-on=member min-slice=16KiB ! filter-zstd seekable=true ! dest-taper changer=chg-disk:${vt} label-template=VOL%% part-size=128KiB header="${header}"`, '--record', '-c', db]);
    expect(rec.code, rec.stderr).toBe(0);
    const indexed = async (): Promise<boolean[]> => (JSON.parse((await xfa(['ls', '--json', '-c', db])).stdout) as { dumps: Array<{ indexed: boolean }> }).dumps.map((d) => d.indexed);
    expect(await indexed()).toEqual([true]);
    const without = await xfa(['reindex', `chg-disk:${vt}`, '-c', db, '--force', '--no-indexes', '--json']);
    expect(without.code, without.stderr).toBe(0);
    expect(await indexed()).toEqual([false]);
    expect((await xfa(['reindex', `chg-disk:${vt}`, '-c', db, '--force'])).code).toBe(0);
    expect(await indexed()).toEqual([true]);
  });
});
