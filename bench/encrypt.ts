/**
 * filter-encrypt / filter-decrypt throughput against the `openssl enc -aes-256-ctr` CLI on the same
 * file, same run (issue 4 target: encrypt ≥ 0.8× the CLI; GCM costs a little more than CTR).
 *
 *     node --import tsx bench/encrypt.ts   # BENCH_MB (default 512), BENCH_RUNS (5), BENCH_BLOCK (1 MiB)
 *
 * The CLI runs with its default buffer (the baseline) and with -bufsize 1 MiB (faster, the
 * stricter comparison); xfa uses 1 MiB blocks and slice-size 4 MiB. Everything is on one core on
 * both sides (read, cipher, write), so the ratio is GCM against CTR plus framing.
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { element, Xfer } from '../src/index.js';
import { compare, sh, type CaseResult } from './harness.js';

const MB = Number(process.env.BENCH_MB ?? 512);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const dir = mkdtempSync(join(tmpdir(), 'xfa-bench-enc-'));
const KEY = randomBytes(32).toString('hex');
const IV = randomBytes(16).toString('hex');

async function xfer(specs: ReturnType<typeof element>[]): Promise<void> {
  await new Xfer(specs, { progressMs: 0, blockSize: Number(process.env.BENCH_BLOCK ?? 1 << 20) }).start().done;
}

function makeInput(path: string): void {
  const fd = openSync(path, 'w');
  const chunk = randomBytes(1 << 20);
  for (let m = 0; m < MB; m++) {
    chunk[m % chunk.length] ^= 0x5a;
    writeFileSync(fd, chunk);
  }
  closeSync(fd);
}

async function main(): Promise<void> {
  const input = join(dir, 'in');
  const enc = join(dir, 'in.xfac');
  const out = join(dir, 'out');
  makeInput(input);
  const keyFile = join(dir, 'key');
  writeFileSync(keyFile, KEY + '\n');
  const results: CaseResult[] = [];
  const bytes = MB << 20;
  const openssl = (flags: string, to: string) => `openssl enc ${flags} -aes-256-ctr -K ${KEY} -iv ${IV} -bufsize 1048576 -in ${input} -out ${to}`;

  const encryptToNull = () => xfer([element('source-file', { path: input }), element('filter-encrypt', { 'key-file': keyFile, 'slice-size': '4MiB' }), element('dest-null')]);
  results.push(await compare({
    name: 'file → filter-encrypt → null', baseline: 'openssl enc -aes-256-ctr (default)', bytes, runs: RUNS, target: 0.8,
    base: () => sh(`openssl enc -e -aes-256-ctr -K ${KEY} -iv ${IV} -in ${input} -out /dev/null`),
    xfa: encryptToNull,
  }));
  results.push(await compare({
    name: 'file → filter-encrypt → null', baseline: 'openssl enc … -bufsize 1MiB', bytes, runs: RUNS, target: 0.8,
    base: () => sh(openssl('-e', '/dev/null')),
    xfa: encryptToNull,
  }));
  results.push(await compare({
    name: 'file → filter-encrypt → file', baseline: 'openssl enc … -bufsize 1MiB → file', bytes, runs: RUNS, target: 0.8,
    // flush the previous run's dirty pages so that neither side pays for the other's writeback
    before: () => {
      rmSync(out, { force: true });
      sh('sync');
    },
    base: () => sh(openssl('-e', out)),
    xfa: () => xfer([element('source-file', { path: input }), element('filter-encrypt', { 'key-file': keyFile, 'slice-size': '4MiB' }),
      element('dest-file', { path: out, sync: false })]),
  }));
  await xfer([element('source-file', { path: input }), element('filter-encrypt', { 'key-file': keyFile, 'slice-size': '4MiB' }), element('dest-file', { path: enc, sync: false })]);
  results.push(await compare({
    name: 'file → filter-decrypt → null', baseline: 'openssl enc -d … -bufsize 1MiB', bytes, runs: RUNS, target: 0.8,
    base: () => sh(openssl('-d', '/dev/null')),
    xfa: () => xfer([element('source-file', { path: enc }), element('filter-decrypt', { 'key-file': keyFile }), element('dest-null')]),
  }));
  rmSync(dir, { recursive: true, force: true });
  const missed = results.filter((r) => r.target !== undefined && r.ratio < r.target);
  if (missed.length) process.exitCode = 1;
}

await main();
