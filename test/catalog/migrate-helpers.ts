/**
 * Fixtures for the migrate tests: dumps of source-random bytes written by dest-taper over vtapes
 * and recorded in a catalog, holding files written by dest-holding, and the bytes they hold.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Catalog, DumpInfo } from '../../src/catalog/db.js';
import { recordTransfer } from '../../src/catalog/recorder.js';
import { headerText } from '../../src/media/header.js';
import { native } from '../../src/native.js';
import { element } from '../../src/registry.js';
import { Xfer } from '../../src/xfer.js';

export const KiB = 1024;

export const info = (host: string, disk: string, level: number, datestamp: string): DumpInfo => ({ host, disk, level, datestamp, program: 'GNUTAR' });

export function slots(dir: string, n = 6): string {
  for (let i = 1; i <= n; i++) mkdirSync(join(dir, `slot${i}`), { recursive: true });
  return dir;
}

export const headerOf = (d: DumpInfo, type: 'FILE' | 'SPLIT_FILE' = 'SPLIT_FILE'): string => headerText({
  type, datestamp: d.datestamp, name: d.host, disk: d.disk, dumplevel: d.level, program: '/bin/tar',
  ...(type === 'SPLIT_FILE' ? { partnum: 1, totalparts: -1 } : {}), recoverCmd: '/bin/tar -xpGf - ...',
});

import { lcg } from '../helpers.js';
export { lcg };

export const crcOf = (seed: number, n: number): string => native.crc32c(lcg(seed, n));

/** Writes `length` random bytes (seed) as a dump with dest-taper and records it. */
export async function randomDump(cat: Catalog, vtapes: string, d: DumpInfo, seed: number, length: number,
  opts: { partSize?: number; volume?: number; slot?: number } = {}): Promise<number> {
  const xfer = new Xfer([element('source-random', { length, seed }),
    element('dest-taper', { header: headerOf(d), changer: `chg-disk:${vtapes}`, slot: opts.slot ?? 1, 'label-template': 'SRC-%%', 'part-size': opts.partSize ?? 256 * KiB,
      'device-properties': [`MAX_VOLUME_USAGE=${opts.volume ?? 64 * 1024 * KiB}`] })]);
  const r = await recordTransfer(cat, xfer, d, { changer: `chg-disk:${vtapes}` });
  if (r.status !== 'ok') throw new Error(`backup failed: ${r.error?.message}`);
  return r.dumpId;
}

/** Writes `length` random bytes (seed) as an Amanda holding file (chunks of chunksize) under dir/DATESTAMP/. */
export async function holdingFile(dir: string, d: DumpInfo, seed: number, length: number, chunksize = 256 * KiB): Promise<string> {
  const path = join(dir, d.datestamp, `${d.host}.${d.disk.replace(/\//g, '_')}.${d.level}`);
  mkdirSync(join(dir, d.datestamp), { recursive: true });
  await new Xfer([element('source-random', { length, seed }), element('dest-holding', { path, header: headerOf(d, 'FILE'), chunksize })]).start().done;
  return path;
}

/** Reads a dump's parts back with source-recovery and checks every byte against source-random `seed`. */
export async function readsBack(changer: string, d: DumpInfo, parts: string[], seed: number, size?: number): Promise<{ crc: string; size: number }> {
  // `size`: tapes pad the last block with zeros, and source-recovery delivers them unless told the size.
  const xfer = new Xfer([element('source-recovery', { changer, header: headerOf(d).split('\n')[0], parts, ...(size ? { size } : {}) }), element('dest-null', { seed })]);
  let crc: { crc: string; size: number } | undefined;
  xfer.on('message', (m) => {
    if (m.type === 'crc' && m.index === 0) crc = { crc: m.crc, size: m.size };
  });
  await xfer.start().done;
  return crc!;
}
