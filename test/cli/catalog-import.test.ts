// xfa catalog import-amanda on a real Debian Amanda 3.5.1 configuration (amdump/amflush to
// chg-disk vtapes): the report, --json, `xfa ls` afterwards, a second import, a vtape gone
// (exit 1), and the usage errors (exit 2).
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeAmandaMedia, removeAmandaConfig, requireAmanda, sharedTmp } from '../media/amanda.js';
import { scratch, xfa } from './helpers.js';

describe('xfa catalog import-amanda', () => {
  const config = `xfacli${process.pid}`;
  const confDir = `/etc/amanda/${config}`;
  let root: string;
  let am: string;

  beforeAll(() => {
    requireAmanda();
    root = sharedTmp('xfa-cli-amimport-');
    am = join(root, 'am');
    makeAmandaMedia(am, config);
  }, 240_000);

  afterAll(() => {
    removeAmandaConfig(config);
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('imports the volumes and dumps, exit 0; ls shows them; a second import changes nothing', async () => {
    const db = join(scratch(), 'catalog.db');
    const r = await xfa(['catalog', 'import-amanda', confDir, '--catalog', db]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("2 volumes, 2 dumps (2 ok, 0 failed), 10 parts; 2 dump CRCs match Amanda's logs: 0 problems\n");
    const ls = await xfa(['ls', '--catalog', db, '--json']);
    const out = JSON.parse(ls.stdout) as { volumes: Array<{ label: string; state: string }>; dumps: Array<{ id: number; disk: string; status: string; origin: string; parts: unknown[] }> };
    expect(out.volumes.map((v) => [v.label, v.state])).toEqual([['XFA-01', 'written'], ['XFA-02', 'written']]);
    expect(out.dumps.map((d) => [d.disk, d.status, d.origin, d.parts.length])).toEqual([['gz', 'ok', 'amanda', 4], ['plain', 'ok', 'amanda', 6]]);
    const again = await xfa(['catalog', 'import-amanda', confDir, '--catalog', db, '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ config: confDir, changer: `chg-disk:${am}/vtapes`, volumes: 2, missing: [], dumps: 2, ok: 2, failed: 0, parts: 10, crcMatched: 2, problems: [] });
    const ls2 = JSON.parse((await xfa(['ls', '--catalog', db, '--json'])).stdout) as typeof out;
    expect(ls2.dumps.map((d) => d.id)).toEqual(out.dumps.map((d) => d.id));
  }, 120_000);

  it('a vtape gone (--changer where the volumes are now): the volume is missing, exit 1 with the problems', async () => {
    const dir = scratch();
    const vt = join(dir, 'vtapes');
    cpSync(join(am, 'vtapes'), vt, { recursive: true });
    rmSync(join(vt, 'slot1'), { recursive: true });
    const r = await xfa(['catalog', 'import-amanda', confDir, '--catalog', join(dir, 'c.db'), '--changer', `chg-disk:${vt}`]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`XFA-01: volume in the tapelist (written `);
    expect(r.stdout).toContain(`not found in chg-disk:${vt}: missing`);
    expect(r.stdout).toMatch(/^localhost:gz level 0 \d{14}: part 1 is on XFA-01, which is missing$/m);
    expect(r.stdout).toMatch(/2 volumes \(1 missing\), 2 dumps \(1 ok, 1 failed\), 6 parts; 1 dump CRCs match Amanda's logs: 2 problems\n$/);
  }, 120_000);

  it('usage errors exit 2: no subcommand, an unknown one, no CONFIGDIR, no such directory, no amanda.conf', async () => {
    const dir = scratch();
    mkdirSync(join(dir, 'empty'));
    const cases: Array<[string[], RegExp]> = [
      [['catalog'], /catalog wants a subcommand: import-amanda/],
      [['catalog', 'import-tapes', confDir], /unknown catalog subcommand "import-tapes"/],
      [['catalog', 'import-amanda'], /import-amanda wants one CONFIGDIR/],
      [['catalog', 'import-amanda', join(dir, 'nope')], /no such directory/],
      [['catalog', 'import-amanda', join(dir, 'empty')], /no amanda.conf \(not an Amanda configuration directory\)/],
    ];
    for (const [args, message] of cases) {
      const r = await xfa([...args, '--catalog', join(dir, 'c.db')]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toContain('xfa catalog --help');
    }
    const help = await xfa(['catalog', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: xfa catalog import-amanda CONFIGDIR/);
  }, 120_000);
});
