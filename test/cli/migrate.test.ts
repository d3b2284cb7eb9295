// `xfa migrate` as a command (node bin/xfa.js): dry run (text and JSON) changes nothing; holding →
// vtape → second vtape set with re-split part counts; a corrupted source part fails that copy
// (exit 1) while the others are copied; a migrate killed with SIGKILL mid-copy is resumed by the
// next run, which copies only the unfinished dumps; vtape → S3 with credentials from the
// environment; usage errors exit 2.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCatalog } from '../../src/catalog/db.js';
import { verify } from '../../src/catalog/verify.js';
import { corrupt, vtapeFile } from '../catalog/helpers.js';
import { crcOf, holdingFile, info, KiB, randomDump, readsBack, slots } from '../catalog/migrate-helpers.js';
import { createBucket, directClient, listKeys } from '../setup/s3-helpers.js';
import { startSwift, type SwiftServer } from '../setup/swift.js';
import { finished, jsonLines, scratch, startXfa, untilOutput, xfa } from './helpers.js';

const MiB = 1024 * KiB;

/** A scratch dir with a catalog of `n` random dumps (`size` bytes each, seeds 1..n) on vtapes in src/. */
async function withDumps(n: number, size: number, partSize = 256 * KiB): Promise<{ dir: string; db: string; src: string; dst: string; ids: number[] }> {
  const dir = scratch();
  const db = join(dir, 'catalog.db');
  const src = slots(join(dir, 'src'));
  const dst = slots(join(dir, 'dst'));
  const cat = openCatalog(db);
  const ids: number[] = [];
  for (let i = 1; i <= n; i++) ids.push(await randomDump(cat, src, info('client', `/d${i}`, 0, '20260501000000'), i, size, { partSize }));
  cat.close();
  return { dir, db, src, dst, ids };
}

const rows = (db: string) => {
  const c = openCatalog(db);
  try {
    return { dumps: c.dumps(), parts: c.parts() };
  } finally {
    c.close();
  }
};

describe('xfa migrate', { timeout: 180_000 }, () => {
  it('--dry-run lists id, dump, size, source and destination; --json the same as objects; nothing changes', async () => {
    const { db, src, dst, ids } = await withDumps(2, 100 * KiB);
    const before = JSON.stringify(rows(db));
    const t = await xfa(['migrate', '-c', db, '--to', `chg-disk:${dst}`, '--dry-run']);
    expect(t.code).toBe(0);
    expect(t.stdout).toBe(`copy #${ids[0]} client:/d1 level 0 20260501000000  100.0 KiB  chg-disk:${src} -> chg-disk:${dst}\n`
      + `copy #${ids[1]} client:/d2 level 0 20260501000000  100.0 KiB  chg-disk:${src} -> chg-disk:${dst}\n`
      + 'dry run: 2 dumps to copy (200.0 KiB), 0 skipped; nothing changed\n');
    const j = await xfa(['migrate', '-c', db, '--to', `chg-disk:${dst}`, '-n', '--json', '--disk', '/d2']);
    expect(j.code).toBe(0);
    expect(jsonLines(j.stdout)).toEqual([
      { type: 'plan', id: ids[1], original: ids[1], host: 'client', disk: '/d2', level: 0, datestamp: '20260501000000', size: 100 * KiB, from: `chg-disk:${src}`, to: `chg-disk:${dst}`, action: 'copy' },
      { type: 'summary', dryRun: true, planned: 1, copy: 1, skip: 0, bytes: 100 * KiB },
    ]);
    expect(JSON.stringify(rows(db))).toBe(before);
    expect(readdirSync(dst, { recursive: true }).map(String).sort()).toEqual(['slot1', 'slot2', 'slot3', 'slot4', 'slot5', 'slot6']);
  });

  it('holding → vtape → a second vtape set re-split; a second run skips everything; the copies verify and read back', async () => {
    const dir = scratch();
    const db = join(dir, 'catalog.db');
    const hold = join(dir, 'holding');
    const one = slots(join(dir, 'one'));
    const two = slots(join(dir, 'two'));
    const A = info('alpha', '/home', 0, '20260601000000');
    await holdingFile(hold, A, 41, 1 * MiB);
    await holdingFile(hold, info('alpha', '/etc', 1, '20260601000000'), 42, 10 * KiB);
    const r1 = await xfa(['migrate', '-c', db, '--from', `holding:${hold}`, '--to', `chg-disk:${one}`, '--part-size', '512k', '--label-template', 'ONE-%%']);
    expect(r1.stderr).toBe('');
    expect(r1.code).toBe(0);
    expect(r1.stdout).toMatch(/^\[1\/2\] new alpha:\/etc level 1 20260601000000 \(10\.0 KiB\) holding:\S+ -> chg-disk:\S+\n {6}ok: copy #2, 1 part on ONE-01 /);
    expect(r1.stdout).toMatch(/\[2\/2\] new alpha:\/home level 0 20260601000000 \(1\.0 MiB\) .*\n {6}ok: copy #4, 2 parts on ONE-01 /);
    expect(r1.stdout).toMatch(/migrate to chg-disk:\S+: 2 copied \(1\.0 MiB\), 0 skipped, 0 failed in [\d.]+ s\n$/);
    const r2 = await xfa(['migrate', '-c', db, '--from', `chg-disk:${one}`, '--to', `chg-disk:${two}`, '--part-size', '192k', '--label-template', 'TWO-%%', '--json']);
    expect(r2.code).toBe(0);
    const results = jsonLines(r2.stdout).filter((l) => l.type === 'result');
    expect(results.map((r) => [r.status, r.parts])).toEqual([['ok', 1], ['ok', 6]]); // 10 KiB; 1 MiB in 192 KiB parts
    const again = await xfa(['migrate', '-c', db, '--to', `chg-disk:${two}`, '--label-template', 'TWO-%%']);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^skip #\d+ alpha:\/etc level 1 20260601000000: already copied as #\d+\nskip #\d+ alpha:\/home .*: already copied as #\d+\nmigrate to .*: 0 copied \(0 B\), 2 skipped, 0 failed/);
    const cat = openCatalog(db);
    const copy = cat.dumps().find((d) => d.storage === `chg-disk:${two}` && d.disk === '/home')!;
    expect(copy).toMatchObject({ status: 'ok', crc: crcOf(41, MiB), size: MiB });
    expect(await readsBack(`chg-disk:${two}`, A, cat.parts(copy.id).map((p) => `${p.label}:${p.fileno}`), 41)).toEqual({ crc: crcOf(41, MiB), size: MiB });
    expect((await verify(cat, { labels: ['ONE-01', 'TWO-01'] })).problems).toEqual([]);
    cat.close();
  });

  it('a corrupted source part: that copy fails, recorded failed, exit 1; the other dumps are copied', async () => {
    const { db, dst, ids } = await withDumps(3, 300 * KiB);
    const cat = openCatalog(db);
    const p = cat.parts(ids[0])[1];
    cat.close();
    corrupt(vtapeFile(p.device!.slice('file:'.length), p.fileno));
    const r = await xfa(['migrate', '-c', db, '--to', `chg-disk:${dst}`, '--label-template', 'D-%%']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/\[1\/3\] #1 client:\/d1 .*\n {6}FAILED \(copy #4 recorded failed\): .*the source read back has CRC/);
    expect(r.stdout).toMatch(/: 2 copied \(600\.0 KiB\), 0 skipped, 1 failed in/);
    const after = rows(db).dumps.filter((d) => d.origin === 'migrate');
    expect(after.map((d) => [d.copy_of, d.status])).toEqual([[ids[0], 'failed'], [ids[1], 'ok'], [ids[2], 'ok']]);
    const q = await xfa(['migrate', '-c', db, '--to', `chg-disk:${dst}`, '--label-template', 'D-%%', '-q']);
    expect(q.code).toBe(1);
    expect(q.stdout).toMatch(/^#1 client:\/d1 level 0 20260501000000:\n {6}FAILED .*\nmigrate to .*: 0 copied \(0 B\), 2 skipped, 1 failed/);
  });

  it('killed with SIGKILL mid-copy: the next run fails the copy left running and copies only the unfinished dumps', async () => {
    const { db, dst, ids } = await withDumps(3, 24 * MiB, 4 * MiB);
    const args = ['migrate', '-c', db, '--to', `chg-disk:${dst}`, '--part-size', '1m', '--label-template', 'K-%%'];
    const child = startXfa(args);
    const out = finished(child);
    await untilOutput(child, /\[2\/3\] /);
    // Mid-copy: dump 2's copy is running and has a part on the destination (of 24).
    for (let t0 = Date.now(); ; await new Promise((r) => setTimeout(r, 10))) {
      const r = rows(db);
      const copy = r.dumps.find((d) => d.copy_of === ids[1] && d.status === 'running');
      if (copy && r.parts.some((p) => p.dumpId === copy.id)) break;
      if (Date.now() - t0 > 60_000) throw new Error('the second copy never started');
    }
    child.kill('SIGKILL');
    const killed = await out;
    expect(killed.signal).toBe('SIGKILL');
    const mid = rows(db).dumps.filter((d) => d.origin === 'migrate');
    expect(mid.map((d) => [d.copy_of, d.status])).toEqual([[ids[0], 'ok'], [ids[1], 'running']]);
    const running = mid[1].id;

    const r = await xfa([...args, '--json']);
    expect(r.code).toBe(0);
    const lines = jsonLines(r.stdout);
    expect(lines[0]).toEqual({ type: 'interrupted', ids: [running] });
    const results = lines.filter((l) => l.type === 'result') as Array<{ status: string; item: { id: number }; copyId?: number }>;
    expect(results.map((x) => [x.item.id, x.status])).toEqual([[ids[0], 'skipped'], [ids[1], 'ok'], [ids[2], 'ok']]);
    expect(lines.at(-1)).toMatchObject({ type: 'summary', copied: 2, skipped: 1, failed: 0, interrupted: [running] });
    const cat = openCatalog(db);
    expect(cat.dump(running)).toMatchObject({ status: 'failed', error: expect.stringMatching(/interrupted/) });
    const good = cat.dumps({ status: 'ok' }).filter((d) => d.origin === 'migrate');
    expect(good.map((d) => d.copy_of)).toEqual(ids);
    for (const [i, d] of good.entries()) expect(d.crc).toBe(crcOf(i + 1, 24 * MiB));
    expect(good.map((d) => cat.parts(d.id).length)).toEqual([24, 24, 24]);
    const labels = [...new Set(good.flatMap((d) => cat.parts(d.id).map((p) => p.label)))];
    expect((await verify(cat, { labels })).problems).toEqual([]);
    cat.close();
  });

  it('usage: no --to, an unknown storage, a bad --since or --part-size, arguments: exit 2', async () => {
    const dir = scratch();
    const db = join(dir, 'c.db');
    for (const [args, msg] of [
      [[], /migrate wants --to STORAGE/],
      [['--to', 'ftp:x'], /"ftp:x" is not a storage/],
      [['--to', `chg-disk:${dir}`, '--since', 'yesterday'], /since "yesterday": want YYYYMMDD/],
      [['--to', `chg-disk:${dir}`, '--part-size', 'big'], /--part-size/],
      [['--to', `chg-disk:${dir}`, 'extra'], /options only/],
      [['--to', 'holding:/x'], /source only/],
      [['--to', `chg-disk:${dir}`, '--from', `chg-disk:${dir}`], /same storage/],
      [['--to', `chg-disk:${dir}`, '--fulls-onyl'], /unknown option .--fulls-onyl. \(did you mean "--fulls-only"\?\)/],
    ] as Array<[string[], RegExp]>) {
      const r = await xfa(['migrate', '-c', db, ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr).toContain('xfa migrate --help');
    }
    const h = await xfa(['migrate', '--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/^Usage: xfa migrate --to STORAGE/);
    expect(h.stdout).toContain('--latest-fulls');
  });
});

describe('xfa migrate to S3', { timeout: 180_000 }, () => {
  let s3: SwiftServer;
  let c: S3Client;
  beforeAll(async () => {
    s3 = await startSwift();
    c = directClient(s3);
    await createBucket(c, 'cli-vault');
  });
  afterAll(async () => {
    c?.destroy();
    await s3?.stop();
  });

  it('vtape → s3:BUCKET/PREFIX with the endpoint and keys from the environment; parts re-split to --part-size', async () => {
    const { db, ids } = await withDumps(2, 700 * KiB);
    const env = { S3_ENDPOINT: s3.endpoint, S3_ACCESS_KEY: s3.accessKey, S3_SECRET_KEY: s3.secretKey };
    const args = ['migrate', '-c', db, '--to', 's3:cli-vault/weekly', '--part-size', '256k', '-p', 'BLOCK_SIZE=128k', '--label-template', 'W-%%'];
    const r = await xfa(args, { env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('ok: copy #3, 3 parts on W-01');
    expect(r.stdout).not.toContain(s3.secretKey);
    const cat = openCatalog(db);
    const copies = cat.dumps().filter((d) => d.storage === 's3:cli-vault/weekly');
    expect(copies.map((d) => [d.copy_of, d.status, d.crc])).toEqual([[ids[0], 'ok', crcOf(1, 700 * KiB)], [ids[1], 'ok', crcOf(2, 700 * KiB)]]);
    expect(cat.parts(copies[0].id).map((p) => [p.label, p.device, p.size])).toEqual([
      ['W-01', 's3:cli-vault/weekly/slot-01/', 256 * KiB], ['W-01', 's3:cli-vault/weekly/slot-01/', 256 * KiB], ['W-01', 's3:cli-vault/weekly/slot-01/', 188 * KiB]]);
    cat.close();
    expect((await listKeys(c, 'cli-vault', 'weekly/slot-01/')).filter((k) => k.endsWith('-filestart'))).toHaveLength(6);
    // No credentials: the copies fail (recorded failed), exit 1.
    const none = await xfa([...args.slice(0, 3), '--to', 's3:cli-vault/other', '--label-template', 'O-%%', '-p', 'MAX_RETRIES=0'], { env: { S3_ENDPOINT: 'http://127.0.0.1:9', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' } });
    expect(none.code).toBe(1);
    expect(none.stdout).toMatch(/FAILED/);
  });
});
