/**
 * xfa migrate (vtape → vtape) of one 256 MiB dump against copying the vtape files with `cp`, in the
 * same run; medians of 3. The ratio is cp's time / migrate's time (the harness's convention: > 1
 * means xfa is faster).
 *
 *     node --import tsx bench/migrate.ts          # BENCH_MB=256 BENCH_RUNS=3 by default
 *
 * The dump: source-random bytes written by dest-taper (64 MiB parts) to a chg-disk slot and
 * recorded in a catalog. Each run migrates it to a fresh chg-disk directory with 32 MiB parts
 * (re-split): source-recovery → dest-taper (fsync per part), then every part read back with
 * source-device and CRC-checked before the copy is recorded ok — so migrate reads the data twice
 * and writes it once, durably. Baselines: `cp -r` of the slot directory (no fsync), and the same
 * followed by `sync` of the copied files (durable, like dest-taper's). Reads come from the page
 * cache in both (the source was just written or read).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCatalog } from '../src/catalog/db.js';
import { migrate } from '../src/catalog/migrate.js';
import { recordTransfer } from '../src/catalog/recorder.js';
import { element, headerText, Xfer } from '../src/index.js';
import { median, report, sh, timeIt, type CaseResult } from './harness.js';

const MB = Number(process.env.BENCH_MB ?? 256);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const dir = mkdtempSync(join(tmpdir(), 'xfa-bench-migrate-'));

async function main(): Promise<void> {
  const bytes = MB * 2 ** 20;
  const src = join(dir, 'src');
  mkdirSync(join(src, 'slot1'), { recursive: true });
  const cat = openCatalog(join(dir, 'catalog.db'));
  const info = { host: 'bench', disk: '/data', level: 0, datestamp: '20260101000000' };
  const header = headerText({ type: 'SPLIT_FILE', datestamp: info.datestamp, name: info.host, disk: info.disk, dumplevel: 0, program: '/bin/tar', partnum: 1, totalparts: -1 });
  const w = await recordTransfer(cat, new Xfer([element('source-random', { length: bytes, seed: 5 }),
    element('dest-taper', { header, changer: `chg-disk:${src}`, 'part-size': 64 * 2 ** 20, 'label-template': 'SRC-%%' })]), info, { changer: `chg-disk:${src}` });
  if (w.status !== 'ok') throw new Error(`backup failed: ${w.error?.message}`);

  const cp: number[] = [];
  const cpSync: number[] = [];
  const mig: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const a = join(dir, `cp${i}`);
    cp.push(await timeIt(() => sh(`cp -r ${src}/slot1 ${a}`)));
    const b = join(dir, `cps${i}`);
    cpSync.push(await timeIt(() => sh(`cp -r ${src}/slot1 ${b} && sync ${b}/* ${b}`)));
    const to = join(dir, `dst${i}`);
    mkdirSync(join(to, 'slot1'), { recursive: true });
    mig.push(await timeIt(async () => {
      const r = await migrate(cat, { to: `chg-disk:${to}`, partSize: 32 * 2 ** 20, labelTemplate: `DST${i}-%%` });
      if (r.copied !== 1) throw new Error(`migrate: ${JSON.stringify(r.results.map((x) => x.error))}`);
    }));
    rmSync(a, { recursive: true });
    rmSync(b, { recursive: true });
    rmSync(to, { recursive: true });
  }
  cat.close();
  const ratios = cp.map((c, i) => c / mig[i]);
  const r: CaseResult = {
    name: `migrate vtape → vtape, ${MB} MiB`, baseline: 'cp -r of the vtape slot', bytes, runs: RUNS,
    xfaMBps: bytes / median(mig) / 1e6, baseMBps: bytes / median(cp) / 1e6, ratio: median(ratios),
    extra: {
      migrateMs: Math.round(median(mig) * 1000), cpMs: Math.round(median(cp) * 1000), cpSyncMs: Math.round(median(cpSync) * 1000),
      ratioVsCpSync: Number(median(cpSync.map((c, i) => c / mig[i])).toFixed(2)),
    },
  };
  report(r);
  console.log(JSON.stringify({ name: r.name, ratio: Number(r.ratio.toFixed(2)), ...r.extra }));
}

main().finally(() => rmSync(dir, { recursive: true, force: true }));
