/**
 * `npm run bench`: throughput of xfa pipelines against same-run baselines (cat, zstd CLI), plus
 * event-loop delay and peak RSS. BENCH_MB sets the file size (default 512), BENCH_RUNS the runs
 * per case (default 5). Results also go to bench/results.json.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { element, Xfer } from '../src/index.js';
import { compare, median, report, sh, timeIt, type CaseResult } from './harness.js';

const MB = Number(process.env.BENCH_MB ?? 512);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const ONLY = process.env.BENCH_ONLY;
const dir = mkdtempSync(join(tmpdir(), 'xfa-bench-'));
const results: CaseResult[] = [];

async function xfer(specs: ReturnType<typeof element>[]): Promise<void> {
  await new Xfer(specs, { progressMs: 0 }).start().done;
}

/** Semi-compressible data: text-like runs mixed with random bytes (zstd -1 ratio ≈ 2–3). */
function makeInput(path: string, mb: number): void {
  const chunk = Buffer.alloc(1 << 20);
  const words = ['backup', 'amanda', 'volume', 'tape', 'slice', 'holding', 'disk', 'index', 'catalog', 'restore'];
  let s = 12345;
  const fd = openSync(path, 'w');
  for (let m = 0; m < mb; m++) {
    let i = 0;
    while (i < chunk.length) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      if (s % 4 === 0) {
        for (let k = 0; k < 64 && i < chunk.length; k++) chunk[i++] = (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 24;
      } else {
        const w = words[s % words.length] + ' ';
        i += chunk.write(w, i);
      }
    }
    writeFileSync(fd, chunk);
  }
  closeSync(fd);
}

const want = (name: string) => !ONLY || name.includes(ONLY);

async function fileCopy(input: string): Promise<void> {
  const out = join(dir, 'copy.out');
  results.push(await compare({
    name: 'file → file copy (fsync)', baseline: 'cat in > out && sync out', bytes: MB << 20, runs: RUNS, target: 0.95,
    before: () => rmSync(out, { force: true }),
    base: () => sh(`cat ${input} > ${out} && sync ${out}`),
    xfa: () => xfer([element('source-file', { path: input }), element('dest-file', { path: out })]),
  }));
}

async function zstdProcess(input: string): Promise<void> {
  const out = join(dir, 'z.out');
  results.push(await compare({
    name: 'fd → filter-process zstd -1 → fd', baseline: 'zstd -1 < in > out', bytes: MB << 20, runs: RUNS, target: 0.97,
    base: () => sh(`zstd -q -1 -c < ${input} > ${out}`),
    xfa: async () => {
      const i = openSync(input, 'r');
      const o = openSync(out, 'w');
      try {
        await xfer([element('source-fd', { fd: i }), element('filter-process', { cmd: 'zstd -q -1 -c' }), element('dest-fd', { fd: o })]);
      } finally {
        closeSync(i);
        closeSync(o);
      }
    },
  }));
}

async function randomNull(verify: boolean): Promise<void> {
  const bytes = 4 * 2 ** 30;
  const seed = 42;
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    times.push(await timeIt(() => xfer([element('source-random', { length: bytes, seed }), element('dest-null', verify ? { seed } : {})])));
  }
  const xfa = bytes / median(times) / 1e6;
  // Amanda 3.5.1 on this machine (reference machine-limits.md): 168 MB/s with verification.
  const r: CaseResult = {
    name: `source-random → dest-null${verify ? ' (verify)' : ''}`, baseline: 'Amanda XFA (reference figure)',
    bytes, runs: RUNS, xfaMBps: xfa, baseMBps: verify ? 168 : 268, ratio: xfa / (verify ? 168 : 268),
    extra: { target: verify ? '1000 MB/s' : '1500 MB/s', met: String(xfa >= (verify ? 1000 : 1500)) },
  };
  report(r);
  results.push(r);
}

async function eventLoopDelay(): Promise<void> {
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  const bytes = 4 * 2 ** 30;
  let msgs = 0;
  const x = new Xfer([element('source-random', { length: bytes, seed: 3 }), element('filter-crc'), element('dest-null', { seed: 3 })], { progressMs: 50 });
  x.on('message', () => msgs++);
  const t = await timeIt(() => x.start().done.then(() => undefined));
  h.disable();
  const p99 = h.percentile(99) / 1e6;
  const r: CaseResult = {
    name: 'event-loop delay during 4 GiB transfer', baseline: '(none)', bytes, runs: 1, xfaMBps: bytes / t / 1e6,
    baseMBps: 0, ratio: 0, extra: { p99_ms: p99.toFixed(2), max_ms: (h.max / 1e6).toFixed(2), messages: msgs, target_p99_ms: 20 },
  };
  report(r);
  results.push(r);
}

function peakRss(gib: number): number {
  const child = fileURLToPath(new URL('./rss-child.ts', import.meta.url));
  const r = spawnSync(process.execPath, ['--import', 'tsx', child, String(gib)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`rss child failed: ${r.stderr}`);
  return Number(r.stdout.trim());
}

async function rss(): Promise<void> {
  const small = peakRss(1);
  const large = peakRss(8);
  const r: CaseResult = {
    name: 'peak RSS, random → xor → crc → file copy', baseline: '(1 GiB vs 8 GiB)', bytes: 8 * 2 ** 30, runs: 1,
    xfaMBps: 0, baseMBps: 0, ratio: large / small, extra: { rss_1GiB_MB: (small / 1024).toFixed(0), rss_8GiB_MB: (large / 1024).toFixed(0) },
  };
  report(r);
  results.push(r);
}

const input = join(dir, 'input.bin');
makeInput(input, MB);
console.log(`xfa bench: ${MB} MiB input, ${RUNS} runs per case, medians; ratio = baseline time / xfa time`);
if (want('copy')) await fileCopy(input);
if (want('zstd')) await zstdProcess(input);
if (want('random')) {
  await randomNull(false);
  await randomNull(true);
}
if (want('loop')) await eventLoopDelay();
if (want('rss')) await rss();
writeFileSync(new URL('./results.json', import.meta.url), JSON.stringify({ date: new Date().toISOString(), mb: MB, results }, null, 2));
rmSync(dir, { recursive: true, force: true });
