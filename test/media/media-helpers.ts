/**
 * Helpers for the media tests: write a buffer to a device file with dest-device and read one back
 * with source-device (both checked for leaks by runClean), small tmpfs mounts for "disk full",
 * and deterministic data.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HEADER_SIZE, headerText, parseHeader, type AmandaHeader } from '../../src/media/header.js';
import type { ChunkDoneMessage, CrcMessage, PartDoneMessage, XferMessage } from '../../src/messages.js';
import type { Xfer } from '../../src/xfer.js';
import { native } from '../../src/native.js';
import { element, runClean, type RunOutcome } from '../helpers.js';

export const crc32c = (b: Buffer): string => native.crc32c(b);

/** Seeded pseudo-random bytes (xorshift), so failures reproduce. */
export function bytes(n: number, seed = 1): Buffer {
  const b = Buffer.alloc(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    b[i] = s & 0xff;
  }
  return b;
}

export function tmp(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export const dumpHeader = (over: Partial<AmandaHeader> = {}): AmandaHeader => ({
  type: 'SPLIT_FILE', datestamp: '20240102030405', name: 'client', disk: '/home', dumplevel: 0, program: '/bin/tar',
  partnum: 1, totalparts: -1, recoverCmd: '/bin/tar -xpGf - ...', ...over,
});

let n = 0;
/** Writes `data` as one file with dest-device. */
export async function writeFile(device: string, data: Buffer, header: AmandaHeader | string, props: Record<string, unknown> = {},
  dir = tmpdir()): Promise<RunOutcome> {
  const src = join(dir, `xfa-media-src-${process.pid}-${n++}`);
  writeFileSync(src, data);
  try {
    return await runClean([element('source-file', { path: src }),
      element('dest-device', { device, header: typeof header === 'string' ? header : headerText(header), ...props })]);
  } finally {
    rmSync(src, { force: true });
  }
}

/** Reads file `file` with source-device into memory; `data` is undefined when it failed. */
export async function readFile(device: string, file: number, props: Record<string, unknown> = {}): Promise<RunOutcome & { data?: Buffer }> {
  const out = await runClean([element('source-device', { device, file, ...props }), element('dest-buffer', { 'max-size': 1 << 30 })]);
  return { ...out, data: out.error ? undefined : out.xfer.result(1) ?? Buffer.alloc(0) };
}

export const partDone = (ms: XferMessage[]) => ms.filter((m): m is PartDoneMessage => m.type === 'part-done');
export const crcOf = (ms: XferMessage[], elt?: string) => ms.find((m): m is CrcMessage => m.type === 'crc' && (!elt || m.elt === elt));

/** A tmpfs of `size` bytes mounted at a new directory (root only); unmount() removes it. */
export function tmpfs(size: number): { dir: string; unmount: () => void } {
  if (process.getuid?.() !== 0) throw new Error('the disk-full tests mount a small tmpfs: run them as root (CI does)');
  const dir = tmp('xfa-tmpfs-');
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mount -t tmpfs failed: ${r.stderr}`);
  return {
    dir,
    unmount: () => {
      spawnSync('umount', [dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Fills the filesystem of `dir` until fewer than `leave` bytes are free (a filler file). */
export function fill(dir: string, leave: number): string {
  const path = join(dir, 'filler');
  const df = spawnSync('df', ['-B1', '--output=avail', dir], { encoding: 'utf8' }).stdout.trim().split('\n').pop()!;
  const size = Math.max(0, Number(df) - leave);
  writeFileSync(path, Buffer.alloc(size));
  return path;
}

export function mkdirp(p: string): string {
  mkdirSync(p, { recursive: true });
  return p;
}

// ----- holding disk -----

export const holdingHeader: AmandaHeader = {
  type: 'FILE', datestamp: '20240102030405', name: 'client', disk: '/home', dumplevel: 1, program: '/bin/tar',
  compressed: true, compSuffix: '.gz', uncompressCmd: '/bin/gzip -dc |', recoverCmd: '/bin/tar -xpGf - ...',
};

export const chunkDone = (ms: XferMessage[]) => ms.filter((m): m is ChunkDoneMessage => m.type === 'chunk-done');

/** Writes `data` to a holding file at `path` with dest-holding (64 KiB chunks unless told). */
export async function hold(path: string, data: Buffer, props: Record<string, unknown> = {}, during?: (x: Xfer) => void): Promise<RunOutcome> {
  const src = join(tmpdir(), `xfa-hold-src-${process.pid}-${n++}`);
  writeFileSync(src, data);
  try {
    return await runClean([element('source-file', { path: src }),
      element('dest-holding', { path, header: headerText(holdingHeader), chunksize: '64KiB', ...props })], { during });
  } finally {
    rmSync(src, { force: true });
  }
}

/** Reads a holding file with source-holding into memory. */
export async function unhold(path: string, props: Record<string, unknown> = {}): Promise<RunOutcome & { data?: Buffer }> {
  const out = await runClean([element('source-holding', { path, ...props }), element('dest-buffer', { 'max-size': 1 << 30 })]);
  return { ...out, data: out.error ? undefined : out.xfer.result(1) };
}

/** The chunk chain from the first chunk, read directly: [path, header, data bytes] in order. */
export function chain(first: string): Array<[string, AmandaHeader, number]> {
  const out: Array<[string, AmandaHeader, number]> = [];
  for (let p = first; p;) {
    const raw = readFileSync(p);
    const h = parseHeader(raw.subarray(0, HEADER_SIZE));
    out.push([p, h, raw.length - HEADER_SIZE]);
    p = h.contFilename ?? '';
  }
  return out;
}
