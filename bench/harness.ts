/**
 * Benchmark harness: each case runs xfa and its baseline back to back, several times, in the same
 * process run; we report the median MB/s of each and the median of the per-run ratios (the only
 * figure that means something on a shared, noisy machine).
 */
import { execFileSync } from 'node:child_process';

export interface CaseResult {
  name: string;
  baseline: string;
  bytes: number;
  runs: number;
  xfaMBps: number;
  baseMBps: number;
  ratio: number;
  target?: number;
  extra?: Record<string, number | string>;
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export async function timeIt(fn: () => Promise<void> | void): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

export function sh(cmd: string): void {
  execFileSync('/bin/sh', ['-c', cmd], { stdio: ['ignore', 'ignore', 'inherit'] });
}

export async function compare(opts: {
  name: string;
  baseline: string;
  bytes: number;
  runs?: number;
  target?: number;
  xfa: () => Promise<void>;
  base: () => Promise<void> | void;
  before?: () => void;
}): Promise<CaseResult> {
  const runs = opts.runs ?? 5;
  const xs: number[] = [];
  const bs: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < runs; i++) {
    opts.before?.();
    const b = await timeIt(opts.base);
    opts.before?.();
    const x = await timeIt(opts.xfa);
    xs.push(opts.bytes / x / 1e6);
    bs.push(opts.bytes / b / 1e6);
    ratios.push(b / x);
  }
  const r: CaseResult = {
    name: opts.name, baseline: opts.baseline, bytes: opts.bytes, runs,
    xfaMBps: median(xs), baseMBps: median(bs), ratio: median(ratios), target: opts.target,
  };
  report(r);
  return r;
}

export function report(r: CaseResult): void {
  const t = r.target !== undefined ? `  target ≥ ${r.target}× ${r.ratio >= r.target ? 'ok' : 'MISSED'}` : '';
  const extra = r.extra ? '  ' + Object.entries(r.extra).map(([k, v]) => `${k}=${v}`).join(' ') : '';
  console.log(`${r.name.padEnd(44)} xfa ${r.xfaMBps.toFixed(0).padStart(6)} MB/s   ${r.baseline.padEnd(30)} ${r.baseMBps.toFixed(0).padStart(6)} MB/s   ratio ${r.ratio.toFixed(2)}${t}${extra}`);
}
