/**
 * Catalog test fixtures: a real tree archived by the real `tar`, written with dest-taper across
 * small vtapes of a chg-disk changer and recorded in a catalog; and ways to damage the media.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openCatalog, type Catalog, type DumpInfo } from '../../src/catalog/db.js';
import { recordTransfer } from '../../src/catalog/recorder.js';
import { headerText } from '../../src/media/header.js';
import { element } from '../../src/registry.js';
import { Xfer, type XferError } from '../../src/xfer.js';
import { makeTree } from '../tar-tree.js';

export const KiB = 1024;
export const DUMP: DumpInfo = { host: 'client', disk: '/data', level: 0, datestamp: '20261122063000', program: 'GNUTAR' };

export function changer(root: string, slots = 6): string {
  const dir = join(root, 'vtapes');
  for (let i = 1; i <= slots; i++) mkdirSync(join(dir, `slot${i}`), { recursive: true });
  return dir;
}

/** Makes a tree under root/src and archives it with tar: the argv for source-process. */
export function tarTree(root: string, seed = 7): { argv: string[]; files: string[] } {
  const files = makeTree(join(root, 'src'), 'tree', { files: 40, seed, maxSize: 48 * KiB });
  return { argv: ['tar', '--format=gnu', '-cf', '-', '-C', join(root, 'src'), 'tree'], files };
}

/** Backs up `argv`'s output with dest-taper (256 KiB parts, 640 KiB volumes) and records it. */
export async function backup(cat: Catalog, vtapes: string, argv: string[], info: DumpInfo = DUMP, slot = 1):
Promise<{ dumpId: number; status: string; error?: XferError }> {
  const header = headerText({ type: 'SPLIT_FILE', datestamp: info.datestamp, name: info.host, disk: info.disk, dumplevel: info.level,
    program: '/bin/tar', partnum: 1, totalparts: -1, recoverCmd: '/bin/tar -xpGf - ...' });
  const xfer = new Xfer([element('source-process', { argv }),
    element('dest-taper', { header, changer: `chg-disk:${vtapes}`, slot, 'label-template': 'VOL%%', 'part-size': 256 * KiB,
      'device-properties': [`MAX_VOLUME_USAGE=${640 * KiB}`] })]);
  return recordTransfer(cat, xfer, info, { changer: `chg-disk:${vtapes}` });
}

export function open(root: string): Catalog {
  return openCatalog(join(root, 'catalog.db'));
}

/** The vtape file holding file number `fileno` of a slot directory. */
export function vtapeFile(slotDir: string, fileno: number): string {
  const name = readdirSync(slotDir).find((f) => f.startsWith(`${String(fileno).padStart(5, '0')}.`));
  if (!name) throw new Error(`no file ${fileno} in ${slotDir}`);
  return join(slotDir, name);
}

/** Flips one data byte (after the 32 KiB header) of a vtape file. */
export function corrupt(path: string, offset = 1000): void {
  const b = readFileSync(path);
  b[32768 + offset] ^= 0xff;
  writeFileSync(path, b);
}
