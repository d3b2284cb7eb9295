/**
 * Shared by the compression tests (filter-zstd, filter-unzstd, filter-gzip, filter-gunzip): seeded
 * data, temporary files, running the real CLIs, and an independent reading of the zstd seekable
 * format (written from the spec, not from our C++).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { SliceMessage, XferMessage } from '../../src/messages.js';
import { element, runClean, type RunOutcome } from '../helpers.js';

/** mulberry32: small, seeded, good enough for test data and sizes. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const randInt = (r: () => number, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));

/** Text-like runs mixed with random bytes: compresses about 2–4×, so matches and literals both occur. */
export function semiCompressible(n: number, seed: number): Buffer {
  const r = rng(seed);
  const words = ['backup', 'amanda', 'volume', 'tape', 'slice', 'holding', 'disk', 'index', 'catalog', 'restore', '\n'];
  const b = Buffer.alloc(n);
  let i = 0;
  while (i < n) {
    if (r() < 0.15) {
      const k = Math.min(n - i, randInt(r, 1, 40));
      for (let j = 0; j < k; j++) b[i++] = Math.floor(r() * 256);
    } else {
      i += b.write(words[Math.floor(r() * words.length)] + ' ', i);
    }
  }
  return b;
}

export function tempDir(): { dir: string; path: (name: string) => string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'xfa-codec-'));
  return { dir, path: (name) => join(dir, name), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs a shell command (a real CLI) with optional stdin; returns stdout, throws on failure. */
export function sh(cmd: string, input?: Buffer): Buffer {
  return execFileSync('/bin/sh', ['-c', cmd], { input, maxBuffer: 1 << 30, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Like sh() but returns the status and stderr instead of throwing. */
export function shStatus(cmd: string, input?: Buffer): { status: number | null; stdout: Buffer; stderr: string } {
  const r = spawnSync('/bin/sh', ['-c', cmd], { input, maxBuffer: 1 << 30 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

export function requireTool(name: string, install: string): void {
  const r = spawnSync('/bin/sh', ['-c', `command -v ${name}`]);
  if (r.status !== 0) throw new Error(`${name} is not installed: run \`${install}\``);
}

/** The `slice` messages of one element (by instance name, e.g. "filter-zstd#2"), in order. */
export function slices(messages: XferMessage[], elt: string): SliceMessage[] {
  return messages.filter((m): m is SliceMessage => m.type === 'slice' && m.elt === elt);
}

export function errorOf(out: RunOutcome): string {
  return out.error?.message ?? '';
}

/** Compresses/decompresses `input` through one element, file to file; returns the output bytes. */
export async function throughFile(
  name: string, props: Record<string, unknown>, input: Buffer, tmp: ReturnType<typeof tempDir>,
): Promise<{ out: Buffer; outcome: RunOutcome }> {
  const inPath = tmp.path(`in-${name}`);
  const outPath = tmp.path(`out-${name}`);
  writeFileSync(inPath, input);
  const outcome = await runClean([element('source-file', { path: inPath }), element(name, props), element('dest-file', { path: outPath })]);
  let out = Buffer.alloc(0);
  try {
    out = readFileSync(outPath);
  } catch {
    /* failed transfers leave no file */
  }
  return { out, outcome };
}

// ----- zstd seekable format, read from the spec --------------------------------------------------

export interface SeekFrame { cOffset: number; cSize: number; dOffset: number; dSize: number; checksum?: number }

/** Parses the seek table at the end of `buf` (zstd contrib/seekable_format, v0.1.0). */
export function readSeekTable(buf: Buffer): { frames: SeekFrame[]; tableSize: number; checksums: boolean } {
  const n = buf.length;
  expect(buf.readUInt32LE(n - 4), 'seekable magic').toBe(0x8f92eab1);
  const desc = buf[n - 5];
  const count = buf.readUInt32LE(n - 9);
  const checksums = (desc & 0x80) !== 0;
  expect(desc & 0x7c, 'reserved bits').toBe(0);
  const entry = checksums ? 12 : 8;
  const tableSize = 8 + count * entry + 9;
  const start = n - tableSize;
  expect(buf.readUInt32LE(start), 'skippable magic').toBe(0x184d2a5e);
  expect(buf.readUInt32LE(start + 4), 'Frame_Size').toBe(tableSize - 8);
  const frames: SeekFrame[] = [];
  let c = 0;
  let d = 0;
  for (let i = 0; i < count; i++) {
    const p = start + 8 + i * entry;
    const f: SeekFrame = { cOffset: c, cSize: buf.readUInt32LE(p), dOffset: d, dSize: buf.readUInt32LE(p + 4) };
    if (checksums) f.checksum = buf.readUInt32LE(p + 8);
    frames.push(f);
    c += f.cSize;
    d += f.dSize;
  }
  expect(c, 'frames end where the table starts').toBe(start);
  return { frames, tableSize, checksums };
}

/** Expected slice messages for `n` bytes cut every `size` bytes: [inOffset, inLength] pairs. */
export function expectedCuts(n: number, size: number): Array<[number, number]> {
  const cuts: Array<[number, number]> = [];
  for (let o = 0; o < n; o += size) cuts.push([o, Math.min(size, n - o)]);
  return cuts;
}

/** Slice messages must tile both streams: contiguous input and output ranges, numbered in order. */
export function expectTiling(msgs: SliceMessage[], inTotal: number, outTotal: number): void {
  let i = 0;
  let o = 0;
  msgs.forEach((m, k) => {
    expect(m.slice).toBe(k);
    expect(m.inOffset).toBe(i);
    expect(m.outOffset).toBe(o);
    i += m.inLength;
    o += m.outLength;
  });
  expect(i).toBe(inTotal);
  expect(o).toBe(outTotal);
}
