/**
 * Multiplexing (DESIGN.md §5, issue 8). `node --import tsx bench/mux.ts`
 *
 *   1. 4 sources, each source-random rate=50MB, into one mux → dest-file: aggregate throughput
 *      against the sum of the sources' rates. Baseline, same run: ONE such source alone into a
 *      dest-file (what a throttled source really delivers here), times 4. Target ≥ 0.9×.
 *   2. demux of one stream out of 8 from a page-cached multiplexed file → dest-null: the demux
 *      must read the file exactly once (its bytes in == the file size, asserted), and its time is
 *      compared with `cat FILE > /dev/null`. Reported: streams not chosen are skipped unread by
 *      the checksum; the chosen one is verified.
 *
 * BENCH_MB: bytes per source in case 1 (default 100 MB = 2 s at 50 MB/s) and per stream in case 2
 * (default 100 MiB, 8 streams). BENCH_RUNS (default 5). dest-file sync=no: the disk is not what is
 * measured.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { element, parseGraph, Xfer } from '../src/index.js';
import { median, report, sh, timeIt, type CaseResult } from './harness.js';

const MB = Number(process.env.BENCH_MB ?? 100);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const RATE = 50_000_000;
const dir = mkdtempSync(join(tmpdir(), 'xfa-bench-mux-'));
const results: CaseResult[] = [];

async function graph(text: string): Promise<Awaited<ReturnType<typeof parseGraph>['done']>> {
  const r = await parseGraph(text, { progressMs: 0 }).start().done;
  if (r.failed.length) throw new Error(`bench: ${r.failed.map((f) => f.error?.message).join('; ')}`);
  return r;
}

async function aggregate(): Promise<void> {
  const bytes = MB * 1_000_000;
  const out = join(dir, 'four.mux');
  const one = join(dir, 'one');
  const xs: number[] = [];
  const bs: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    // Each side writes a fresh file: replacing the previous run's 400 MB would add its unlink.
    rmSync(one, { force: true });
    rmSync(out, { force: true });
    const tb = await timeIt(() => new Xfer([
      element('source-random', { length: bytes, seed: 1, rate: RATE }), element('dest-file', { path: one, sync: false }),
    ], { progressMs: 0 }).start().done.then(() => undefined));
    const tx = await timeIt(() => graph([
      ...[1, 2, 3, 4].map((s) => `source-random length=${bytes} seed=${s} rate=${RATE} ! m.`),
      `mux name=m ! dest-file path=${out} sync=no`,
    ].join('\n')).then(() => undefined));
    const sum = (4 * bytes) / tb / 1e6; // four sources at the rate one really achieves
    const agg = (4 * bytes) / tx / 1e6;
    xs.push(agg);
    bs.push(sum);
    ratios.push(agg / sum);
  }
  const r: CaseResult = {
    name: '4 × source-random rate=50MB → mux → file', baseline: '4 × one throttled source alone',
    bytes: 4 * bytes, runs: RUNS, xfaMBps: median(xs), baseMBps: median(bs), ratio: median(ratios), target: 0.9,
    extra: { nominal: '200 MB/s', vsNominal: (median(xs) / 200).toFixed(3) },
  };
  report(r);
  results.push(r);
}

async function demuxOne(): Promise<void> {
  const per = MB << 20;
  const file = join(dir, 'eight.mux');
  await graph([
    ...Array.from({ length: 8 }, (_, i) => `source-random length=${per} seed=${i + 1} ! m.`),
    `mux name=m ! dest-file path=${file} sync=no`,
  ].join('\n'));
  const size = statSync(file).size;
  sh(`cat ${file} > /dev/null`); // page cache
  const xs: number[] = [];
  const bs: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const tb = await timeIt(() => sh(`cat ${file} > /dev/null`));
    let bytesIn = 0;
    const tx = await timeIt(async () => {
      const r = await graph(`source-file path=${file} ! demux streams=5 ! dest-null seed=5`);
      bytesIn = r.stats.find((s) => s.elt === 'demux#2')!.bytesIn;
    });
    if (bytesIn !== size) throw new Error(`bench: demux read ${bytesIn} bytes of a ${size}-byte file`);
    xs.push(size / tx / 1e6);
    bs.push(size / tb / 1e6);
    ratios.push(tb / tx);
  }
  const r: CaseResult = {
    name: 'demux 1 of 8 streams from a file (verified)', baseline: 'cat file > /dev/null',
    bytes: size, runs: RUNS, xfaMBps: median(xs), baseMBps: median(bs), ratio: median(ratios),
    extra: { readOnce: 'yes', fileBytes: size },
  };
  report(r);
  results.push(r);
}

try {
  await aggregate();
  await demuxOne();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(JSON.stringify({ date: new Date().toISOString(), mb: MB, results }));
