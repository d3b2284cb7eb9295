/**
 * Compression codecs against their CLIs on the same file, same run (bench/harness.ts compare():
 * median of per-run ratios). `node --import tsx bench/codecs.ts`
 *
 *   filter-zstd level=1            vs  zstd -1            target ≥ 0.95×
 *   filter-zstd level=1 workers=2  vs  zstd -1 -T2        target ≥ 0.95×
 *   filter-gzip level=1 workers=2  vs  pigz -1 -p2        target ≥ 0.9×   (apt-get install -y pigz)
 * plus, reported without a target: seekable zstd (4 MiB slices, 2 workers) and filter-unzstd vs zstd -d.
 *
 * Input: a real tar of system directories (text, code, binaries: zstd -1 ratio ≈ 2.5–3), repeated
 * to BENCH_MB (default 512) MiB. BENCH_RUNS runs per case (default 5). Both sides read the same
 * page-cached file and write a file in the same directory, neither with fsync (dest-file sync=false:
 * the CLIs do not sync; this measures the codecs, not the disk).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { element, Xfer } from '../src/index.js';
import { compare, sh, type CaseResult } from './harness.js';

const MB = Number(process.env.BENCH_MB ?? 512);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const ONLY = process.env.BENCH_ONLY;
const dir = mkdtempSync(join(tmpdir(), 'xfa-codecs-'));
const results: CaseResult[] = [];
const want = (name: string) => !ONLY || name.includes(ONLY);

function makeInput(path: string, mb: number): void {
  const seedTar = join(dir, 'seed.tar');
  const dirs = ['/usr/share/doc', '/usr/include', '/usr/share/perl', '/usr/lib/python3', '/usr/share/man'].filter(existsSync);
  spawnSync('/bin/sh', ['-c', `tar cf - ${dirs.join(' ')} 2>/dev/null | head -c ${256 << 20} > ${seedTar}`]);
  const seed = readFileSync(seedTar);
  if (seed.length < 1 << 20) throw new Error('bench: could not build the input tar');
  const fd = openSync(path, 'w');
  for (let left = mb << 20; left > 0;) {
    const n = Math.min(left, seed.length);
    writeSync(fd, seed, 0, n);
    left -= n;
  }
  closeSync(fd);
  rmSync(seedTar);
}

async function xfer(specs: ReturnType<typeof element>[]): Promise<void> {
  await new Xfer(specs, { progressMs: 0 }).start().done;
}

function hasTool(name: string): boolean {
  return spawnSync('/bin/sh', ['-c', `command -v ${name}`]).status === 0;
}

async function zstdCase(input: string, name: string, props: Record<string, unknown>, cli: string, target?: number): Promise<void> {
  const out = join(dir, 'z.out');
  const r = await compare({
    name, baseline: cli, bytes: statSync(input).size, runs: RUNS, target,
    before: () => rmSync(out, { force: true }),
    base: () => sh(`${cli} -q -c ${input} > ${out}`),
    xfa: () => xfer([element('source-file', { path: input }), element('filter-zstd', props), element('dest-file', { path: out, sync: false })]),
  });
  r.extra = { ratio_out: (statSync(input).size / statSync(out).size).toFixed(2) };
  results.push(r);
}

async function gzipCase(input: string): Promise<void> {
  if (!hasTool('pigz')) {
    console.log('filter-gzip vs pigz: skipped, pigz is not installed (apt-get install -y pigz)');
    return;
  }
  const out = join(dir, 'g.out');
  results.push(await compare({
    name: 'filter-gzip level=1 workers=2', baseline: 'pigz -1 -p2', bytes: statSync(input).size, runs: RUNS, target: 0.9,
    before: () => rmSync(out, { force: true }),
    base: () => sh(`pigz -1 -p2 -c ${input} > ${out}`),
    xfa: () => xfer([element('source-file', { path: input }), element('filter-gzip', { level: 1, workers: 2 }), element('dest-file', { path: out, sync: false })]),
  }));
}

async function unzstdCase(input: string): Promise<void> {
  const z = join(dir, 'in.zst');
  sh(`zstd -q -1 -c ${input} > ${z}`);
  const out = join(dir, 'u.out');
  results.push(await compare({
    name: 'filter-unzstd', baseline: 'zstd -d', bytes: statSync(input).size, runs: RUNS,
    before: () => rmSync(out, { force: true }),
    base: () => sh(`zstd -q -d -c ${z} > ${out}`),
    xfa: () => xfer([element('source-file', { path: z }), element('filter-unzstd'), element('dest-file', { path: out, sync: false })]),
  }));
}

const input = join(dir, 'input.tar');
makeInput(input, MB);
console.log(`xfa codecs bench: ${MB} MiB tar, ${RUNS} runs per case, medians; ratio = baseline time / xfa time`);
if (want('zstd1')) await zstdCase(input, 'filter-zstd level=1', { level: 1 }, 'zstd -1', 0.95);
if (want('zstd2')) await zstdCase(input, 'filter-zstd level=1 workers=2', { level: 1, workers: 2 }, 'zstd -1 -T2', 0.95);
if (want('seekable')) await zstdCase(input, 'filter-zstd level=1 w=2 seekable 4MiB', { level: 1, workers: 2, seekable: true, 'slice-size': 4 << 20 }, 'zstd -1 -T2');
if (want('gzip')) await gzipCase(input);
if (want('unzstd')) await unzstdCase(input);
rmSync(dir, { recursive: true, force: true });
const missed = results.filter((r) => r.target !== undefined && r.ratio < r.target);
if (missed.length) console.log(`missed targets: ${missed.map((r) => r.name).join(', ')}`);
