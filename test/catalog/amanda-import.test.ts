// Importing an Amanda configuration: the tapelist and log parsers on Amanda 3.5's lines, then a
// real Debian Amanda 3.5.1 run (amdump/amflush to chg-disk vtapes, 64 KiB parts, one dump that
// fails) imported into a catalog: rows match the log, parts' CRC32Cs combine to the CRCs Amanda
// logged, the dumps restore; a vtape gone, a corrupted part, importing twice.
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAmandaConfig, parseTapelist } from '../../src/catalog/amanda-conf.js';
import { importAmanda, storedStreamCrc } from '../../src/catalog/amanda-import.js';
import { parseAmandaLog } from '../../src/catalog/amanda-log.js';
import { crc32cOfParts } from '../../src/catalog/crc.js';
import { openCatalog } from '../../src/catalog/db.js';
import { verify } from '../../src/catalog/verify.js';
import { restoreDump } from '../../src/restore/dump.js';
import { asBackup, makeAmandaMedia, removeAmandaConfig, requireAmanda, sharedTmp } from '../media/amanda.js';
import { corrupt, vtapeFile } from './helpers.js';

describe('parsers', () => {
  it('tapelist: every Amanda 3.5 field, older short lines, comments', () => {
    const t = parseTapelist([
      '20261122071649 XFA-02 reuse BLOCKSIZE:32 POOL:daily STORAGE:daily CONFIG:daily',
      '20261122071648 XFA-01 no-reuse BARCODE:A00001 META:M1 BLOCKSIZE:32 POOL:p #kept for audit',
      '0 XFA-03 reuse',
      '20090101 OLD-1',
      '',
    ].join('\n'));
    expect(t).toEqual([
      { datestamp: '20261122071649', label: 'XFA-02', reuse: true, blocksize: 32, pool: 'daily', storage: 'daily', config: 'daily' },
      { datestamp: '20261122071648', label: 'XFA-01', reuse: false, barcode: 'A00001', meta: 'M1', blocksize: 32, pool: 'p', comment: 'kept for audit' },
      { datestamp: '0', label: 'XFA-03', reuse: true },
      { datestamp: '20090101', label: 'OLD-1', reuse: true },
    ]);
    expect(() => parseTapelist('20260101 L1 WHAT:x\n')).toThrow(/unknown field "WHAT:x"/);
  });

  it('log: START, PART, PARTPARTIAL, DONE with CRCs, PARTIAL without nparts, FAIL, older lines without storage', () => {
    const log = parseAmandaLog([
      'START taper datestamp 20261122071649 "ST:daily" "POOL:daily" label XFA-02 tape 1',
      'PART taper "ST:daily" "POOL:daily" XFA-02 1 localhost "/my disk" 20261122071649 1/-1 0 [sec 0.000368 bytes 65536 kps 173913.043478]',
      'PARTPARTIAL taper "ST:daily" "POOL:daily" XFA-02 2 localhost "/my disk" 20261122071649 2/-1 0 [sec 0.1 bytes 1000 kps 10] "No space left on device"',
      'START taper datestamp 20261122071649 "ST:daily" "POOL:daily" label XFA-03 tape 2',
      'PART taper "ST:daily" "POOL:daily" XFA-03 1 localhost "/my disk" 20261122071649 2/2 0 [sec 0.1 bytes 40960 kps 10 orig-kb 360]',
      'DONE taper "ST:daily" "POOL:daily" localhost "/my disk" 20261122071649 2 0 d6ca8ea8:368640 d6ca8ea8:368640 00000000:0 [sec 0.100000 bytes 106496 kps 3600.000000 orig-kb 360]',
      'PARTIAL taper "ST:daily" "POOL:daily" localhost /b 20261122071649 0 [sec 0.1 kb 20 kps 1] "dumper failed"',
      'FAIL taper "ST:daily" "POOL:daily" localhost bad 20261122071739 0 error "Got empty header"',
      'FAIL dumper localhost bad 20261122071739 0 [dump (15508) /bin/tar returned 2]',
      '  sendbackup: start [localhost:bad level 0]',
      'PART taper OLD-1 3 host /usr 20090101 1/1 1 [sec 1.0 kb 64 kps 64.0]',
      'DONE taper host /usr 20090101 1 1 [sec 1.0 kb 64 kps 64.0]',
      'SUCCESS dumper localhost plain 20261122071649 0 d6ca8ea8:368640 d6ca8ea8:368640 [sec 0.083 kb 360 kps 4329.3 orig-kb 360]',
      'INFO taper tape XFA-02 kb 360 fm 6 [OK]',
    ].join('\n'));
    expect(log.strange).toEqual([]);
    expect(log.tapes).toEqual([{ label: 'XFA-02', datestamp: '20261122071649', storage: 'daily' }, { label: 'XFA-03', datestamp: '20261122071649', storage: 'daily' }]);
    expect(log.parts.map((p) => [p.label, p.fileno, p.host, p.disk, p.partnum, p.totalparts, p.level, p.bytes, p.partial, p.volumeDatestamp])).toEqual([
      ['XFA-02', 1, 'localhost', '/my disk', 1, -1, 0, 65536, false, '20261122071649'],
      ['XFA-02', 2, 'localhost', '/my disk', 2, -1, 0, 1000, true, '20261122071649'],
      ['XFA-03', 1, 'localhost', '/my disk', 2, 2, 0, 40960, false, '20261122071649'],
      ['OLD-1', 3, 'host', '/usr', 1, 1, 1, 65536, false, undefined],
    ]);
    expect(log.parts[3].exactBytes).toBe(false);
    const [done, partial, fail, dumperFail, old] = log.results;
    expect(done).toMatchObject({ program: 'taper', status: 'DONE', storage: 'daily', disk: '/my disk', nparts: 2, level: 0, bytes: 106496,
      nativeCrc: { crc: 'd6ca8ea8', size: 368640 }, clientCrc: { crc: 'd6ca8ea8', size: 368640 }, serverCrc: { crc: '00000000', size: 0 } });
    expect(storedStreamCrc(done)).toEqual({ crc: 'd6ca8ea8', size: 368640 });
    expect(partial).toMatchObject({ status: 'PARTIAL', disk: '/b', nparts: undefined, level: 0, message: 'dumper failed' });
    expect(fail).toMatchObject({ program: 'taper', status: 'FAIL', host: 'localhost', disk: 'bad', level: 0, message: 'Got empty header' });
    expect(dumperFail).toMatchObject({ program: 'dumper', status: 'FAIL', message: 'dump (15508) /bin/tar returned 2' });
    expect(old).toMatchObject({ status: 'DONE', host: 'host', disk: '/usr', nparts: 1, level: 1, nativeCrc: undefined });
    expect(storedStreamCrc(old)).toBeUndefined();
  });

  it('amanda.conf: tapelist and logdir relative to the directory, named changers, includefile', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xfa-amconf-'));
    try {
      writeFileSync(join(dir, 'amanda.conf'), [
        'org "x"  # comment', 'logdir "log"', 'includefile "changers.conf"', 'tpchanger "vt"',
        'define storage offsite {', '  tpchanger "chg-multi:file:/off/slot{1..2}"', '}', 'holdingdisk hd { directory "/h" }',
      ].join('\n'));
      writeFileSync(join(dir, 'changers.conf'), 'define changer vt {\n  tapedev "chg-disk:/vtapes"\n}\n');
      const c = readAmandaConfig(dir);
      expect(c).toMatchObject({ tapelist: join(dir, 'tapelist'), logdir: join(dir, 'log'), changer: 'chg-disk:/vtapes',
        storages: { offsite: 'chg-multi:file:/off/slot{1..2}' }, warnings: [] });
      writeFileSync(join(dir, 'amanda.conf'), 'tapelist "/var/tl"\ntpchanger "chg-disk"\ntapedev "file:/vt"\n');
      expect(readAmandaConfig(dir)).toMatchObject({ tapelist: '/var/tl', logdir: '/usr/adm/amanda', changer: 'chg-disk:/vt' });
      writeFileSync(join(dir, 'amanda.conf'), 'tpchanger "chg-robot:/dev/sg1"\n');
      expect(readAmandaConfig(dir).warnings[0]).toMatch(/chg-robot.*not supported/);
      expect(() => readAmandaConfig(join(dir, 'nope'))).toThrow(/no amanda.conf/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a real Amanda 3.5.1 configuration', () => {
  const config = `xfaimport${process.pid}`;
  const confDir = `/etc/amanda/${config}`;
  let root: string;
  let am: string;
  let scratch: string;

  beforeAll(() => {
    requireAmanda();
    root = sharedTmp('xfa-amimport-');
    am = join(root, 'am');
    // slot1: gz flushed from holding (4 parts), slot2: plain straight to tape (6 parts)
    makeAmandaMedia(am, config);
    // One more run: plain again (slot3), and a DLE whose directory does not exist: the dumper
    // fails, the taper logs FAIL (`estimate server` keeps the planner from dropping it first).
    appendFileSync(join(confDir, 'amanda.conf'), 'define dumptype xfa-bad {\n  xfa-plain\n  estimate server\n}\n');
    appendFileSync(join(confDir, 'disklist'), 'localhost bad /nonexistent/xfa-dir xfa-bad\n');
    asBackup(`amdump ${config} localhost plain localhost bad`);
    scratch = mkdtempSync(join(tmpdir(), 'xfa-amimport-cat-'));
  }, 240_000);

  afterAll(() => {
    removeAmandaConfig(config);
    if (root) rmSync(root, { recursive: true, force: true });
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  /** Every PART and result line of the logs, as the parser reads them. */
  function logs() {
    const c = readAmandaConfig(confDir);
    const files = spawnSync('sh', ['-c', `ls ${c.logdir}/log.*.*`], { encoding: 'utf8' }).stdout.trim().split('\n');
    return files.map((f) => parseAmandaLog(readFileSync(f, 'latin1'), f));
  }

  it('imports the tapelist and logs: volumes, dumps and parts as logged; CRCs combine to Amanda\'s', async () => {
    const cat = openCatalog(join(scratch, 'a.db'));
    const r = await importAmanda(cat, confDir);
    expect(r).toMatchObject({ changer: `chg-disk:${am}/vtapes`, volumes: 3, missing: [], dumps: 4, ok: 3, failed: 1, parts: 16, crcMatched: 3 });
    expect(r.problems).toEqual([{ where: expect.stringMatching(/^localhost:bad level 0 \d{14}$/), message: 'Amanda: FAIL Got empty header' }]);
    expect(r.warnings.some((w) => /dumper FAIL, never written/.test(w.message))).toBe(true);
    expect(cat.volumes().map((v) => [v.label, v.state, v.device])).toEqual([1, 2, 3].map((n) => [`XFA-0${n}`, 'written', `file:${am}/vtapes/slot${n}`]));

    const parsed = logs();
    const partLines = parsed.flatMap((l) => l.parts);
    const results = parsed.flatMap((l) => l.results.filter((x) => x.program === 'taper'));
    for (const d of cat.dumps()) {
      expect(d).toMatchObject({ origin: 'amanda', storage: `chg-disk:${am}/vtapes`, program: d.status === 'ok' ? '/bin/tar' : null });
      const res = results.find((x) => x.host === d.host && x.disk === d.disk && x.datestamp === d.datestamp)!;
      expect(res.status).toBe(d.status === 'ok' ? 'DONE' : 'FAIL');
      if (d.status !== 'ok') continue;
      const parts = cat.parts(d.id);
      const logged = partLines.filter((p) => p.host === d.host && p.disk === d.disk && p.datestamp === d.datestamp);
      expect(parts.map((p) => [p.label, p.fileno, p.partnum, p.size])).toEqual(logged.map((p) => [p.label, p.fileno, p.partnum, p.bytes]));
      expect(parts).toHaveLength(res.nparts!);
      expect(crc32cOfParts(parts.map((p) => ({ crc: p.crc!, size: p.size })))).toBe(d.crc);
      expect(`${d.crc}:${d.size}`).toBe(d.disk === 'gz' ? `${res.serverCrc!.crc}:${res.serverCrc!.size}` : `${res.clientCrc!.crc}:${res.clientCrc!.size}`);
    }
    expect(cat.dumps().map((d) => [d.disk, d.status, cat.parts(d.id).length, d.compression]).sort()).toEqual([
      ['bad', 'failed', 0, null], ['gz', 'ok', 4, '.gz'], ['plain', 'ok', 6, null], ['plain', 'ok', 6, null],
    ]);
    expect((await verify(cat)).problems.filter((p) => !/bad/.test(p.where))).toEqual([]);
    cat.close();
  }, 120_000);

  it('importing again adds nothing: same dump ids, parts and statuses', async () => {
    const cat = openCatalog(join(scratch, 'twice.db'));
    await importAmanda(cat, confDir);
    const before = { dumps: cat.dumps(), parts: cat.parts(), volumes: cat.volumes() };
    const again = await importAmanda(cat, confDir);
    expect(again).toMatchObject({ dumps: 4, ok: 3, failed: 1 });
    const strip = <T extends { started?: string; finished?: string | null; id?: number }>(rows: T[]) => rows.map(({ started: _s, finished: _f, ...x }) => x);
    expect(strip(cat.dumps())).toEqual(strip(before.dumps));
    expect(cat.parts().map(({ id: _i, ...p }) => p)).toEqual(before.parts.map(({ id: _i, ...p }) => p));
    expect(cat.volumes()).toEqual(before.volumes);
    cat.close();
  }, 120_000);

  it('imported dumps restore: the gzip one and the plain one give the tree Amanda dumped', async () => {
    const cat = openCatalog(join(scratch, 'restore.db'));
    await importAmanda(cat, confDir);
    for (const disk of ['gz', 'plain']) {
      const dest = join(scratch, `restored-${disk}`);
      const r = await restoreDump(cat, { host: 'localhost', disk }, { dir: dest });
      expect(r.dump.origin).toBe('amanda');
      const diff = spawnSync('diff', ['-r', '--no-dereference', join(am, 'data'), dest], { encoding: 'utf8' });
      expect(diff.stdout + diff.stderr, disk).toBe('');
      expect(diff.status).toBe(0);
    }
    cat.close();
  }, 120_000);

  it('a vtape gone: its volume is missing, its dump failed and reported; the others still import', async () => {
    const vt = join(scratch, 'vtapes-missing');
    cpSync(join(am, 'vtapes'), vt, { recursive: true });
    rmSync(join(vt, 'slot2'), { recursive: true });
    const cat = openCatalog(join(scratch, 'missing.db'));
    const r = await importAmanda(cat, confDir, { changer: `chg-disk:${vt}` });
    expect(r).toMatchObject({ volumes: 3, missing: ['XFA-02'], ok: 2, failed: 2 });
    expect(r.problems).toContainEqual({ where: 'XFA-02', message: expect.stringMatching(/not found in chg-disk:.*: missing/) });
    expect(r.problems).toContainEqual({ where: expect.stringMatching(/^localhost:plain level 0 /), message: 'part 1 is on XFA-02, which is missing' });
    expect(cat.volume('XFA-02')).toMatchObject({ state: 'missing' });
    expect(cat.dumps({ status: 'ok' }).map((d) => d.disk).sort()).toEqual(['gz', 'plain']);
    cat.close();
  }, 120_000);

  it('a corrupted part: the CRC32C read back differs from Amanda\'s and the dump is failed', async () => {
    const vt = join(scratch, 'vtapes-corrupt');
    cpSync(join(am, 'vtapes'), vt, { recursive: true });
    corrupt(vtapeFile(join(vt, 'slot1'), 2));
    const cat = openCatalog(join(scratch, 'corrupt.db'));
    const r = await importAmanda(cat, confDir, { changer: `chg-disk:${vt}` });
    expect(r.problems).toContainEqual({ where: expect.stringMatching(/^localhost:gz level 0 /), message: expect.stringMatching(/^the parts read back have CRC32C [0-9a-f]{8}, Amanda logged [0-9a-f]{8}:\d+$/) });
    expect(cat.dumps().find((d) => d.disk === 'gz')).toMatchObject({ status: 'failed' });
    cat.close();
  }, 120_000);
});
