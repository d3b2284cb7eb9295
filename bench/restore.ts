/**
 * Selective restore vs full restore of a 1 GiB tar backup (issue 4): time and bytes read from
 * storage for one file from the middle, against restoring everything, in the same run.
 *
 *     node --import tsx bench/restore.ts          # BENCH_MB=1024 BENCH_RUNS=3 by default
 *
 * Backups: real tar of ~2000 files (4 KiB–1 MiB) → filter-tar-index slice-on=member min-slice=1MiB →
 *   (a) filter-zstd seekable → filter-encrypt key-file   (b) filter-catenize cmd="gzip -1 -c"
 * → dest-file, with the SliceIndex trailer. The ratio is full-restore time / selective time.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { element } from '../src/index.js';
import { backupWithIndex, restoreAll, restorePath } from '../src/restore/selective.js';
import { median, report, sh, timeIt, type CaseResult } from './harness.js';

const MB = Number(process.env.BENCH_MB ?? 1024);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const dir = mkdtempSync(join(tmpdir(), 'xfa-bench-restore-'));

/** ~MB MiB of semi-compressible files (sizes 4 KiB–1 MiB) under dir/data; returns their paths. */
function makeTree(): string[] {
  const pool = Buffer.alloc(8 << 20);
  const words = ['backup ', 'amanda ', 'volume ', 'slice ', 'restore ', 'catalog '];
  let s = 7;
  for (let i = 0; i < pool.length;) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    if (s % 4 === 0) for (let k = 0; k < 64 && i < pool.length; k++) pool[i++] = (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 24;
    else i += pool.write(words[s % words.length], i);
  }
  const files: string[] = [];
  let total = 0;
  for (let n = 0; total < MB << 20; n++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const size = 4096 + (s % (1 << 20));
    const off = (s >>> 3) % (pool.length - size);
    const rel = `data/d${n % 37}/f${n}.bin`;
    mkdirSync(join(dir, `data/d${n % 37}`), { recursive: true });
    writeFileSync(join(dir, rel), pool.subarray(off, off + size));
    files.push(rel);
    total += size;
  }
  return files;
}

async function bench(name: string, filters: ReturnType<typeof element>[], withProps: Record<string, Record<string, unknown>>, tarPath: string, want: string): Promise<CaseResult> {
  const backup = join(dir, `${name.replace(/\W+/g, '-')}.xfa`);
  const backupSecs = await timeIt(async () => {
    await backupWithIndex([
      element('source-file', { path: tarPath }), element('filter-tar-index', { 'slice-on': 'member', 'min-slice': '1MiB' }),
      ...filters, element('dest-file', { path: backup, sync: false }),
    ]);
  });
  const sel: number[] = [];
  const full: number[] = [];
  let selRead = 0;
  let fullRead = 0;
  for (let i = 0; i < RUNS; i++) {
    const a = join(dir, `sel-${i}`);
    const b = join(dir, `full-${i}`);
    mkdirSync(a);
    mkdirSync(b);
    sh('sync');
    full.push(await timeIt(async () => { fullRead = (await restoreAll({ backup, dest: b, with: withProps })).bytesRead; }));
    sel.push(await timeIt(async () => { selRead = (await restorePath({ backup, path: want, dest: a, with: withProps })).bytesRead; }));
    rmSync(a, { recursive: true, force: true });
    rmSync(b, { recursive: true, force: true });
  }
  const ratios = sel.map((x, i) => full[i] / x);
  const native = statSync(tarPath).size;
  const r: CaseResult = {
    name: `selective restore, ${name}`, baseline: 'full restore of the same backup', bytes: native, runs: RUNS,
    xfaMBps: native / median(sel) / 1e6, baseMBps: native / median(full) / 1e6, ratio: median(ratios),
    extra: {
      selectiveMs: Math.round(median(sel) * 1000), fullMs: Math.round(median(full) * 1000),
      selectiveBytesRead: selRead, fullBytesRead: fullRead, storedBytes: statSync(backup).size,
      fileBytes: statSync(join(dir, want)).size, backupSecs: Number(backupSecs.toFixed(1)),
    },
  };
  report(r);
  rmSync(backup, { force: true });
  return r;
}

async function main(): Promise<void> {
  const files = makeTree();
  const tarPath = join(dir, 'data.tar');
  sh(`cd ${dir} && tar -cf data.tar data`);
  const want = files[Math.floor(files.length / 2)];
  const key = join(dir, 'key');
  writeFileSync(key, randomBytes(32));
  console.log(`tar: ${(statSync(tarPath).size / 2 ** 20).toFixed(0)} MiB, ${files.length} files; restoring ${want} (${statSync(join(dir, want)).size} bytes)`);
  const results = [
    await bench('zstd seekable + AES-256-GCM', [element('filter-zstd', { seekable: true }), element('filter-encrypt', { 'key-file': key })],
      { 'filter-decrypt': { 'key-file': key } }, tarPath, want),
    await bench('catenize gzip -1', [element('filter-catenize', { cmd: 'gzip -1 -c' })], {}, tarPath, want),
  ];
  console.log(JSON.stringify(results.map((r) => ({ name: r.name, ratio: Number(r.ratio.toFixed(1)), ...r.extra }))));
}

main().finally(() => rmSync(dir, { recursive: true, force: true }));
