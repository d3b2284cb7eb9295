/**
 * Fixtures for `restoreDump` / `xfa restore`: a real tree archived by the real `tar`, written by
 * dest-taper across small vtapes and recorded in a catalog — plain (no index), or through
 * filter-tar-index slice-on=member → filter-zstd seekable → filter-encrypt with its slice index
 * in the catalog. And a way to compare trees.
 */
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Catalog, DumpInfo } from '../../src/catalog/db.js';
import { recordTransfer } from '../../src/catalog/recorder.js';
import { headerText } from '../../src/media/header.js';
import { element } from '../../src/registry.js';
import { Xfer } from '../../src/xfer.js';
import { makeTree } from '../tar-tree.js';
import { DUMP, KiB } from '../catalog/helpers.js';

export { backup, changer, corrupt, DUMP, KiB, open, tarTree, vtapeFile } from '../catalog/helpers.js';

/** A tree of `files` files under root/src/tree; tar's argv for source-process. */
export function bigTree(root: string, files = 300, seed = 11): { argv: string[]; files: string[]; src: string } {
  const src = join(root, 'src');
  const list = makeTree(src, 'tree', { files, seed, maxSize: 40 * KiB, links: true });
  return { argv: ['tar', '--format=gnu', '-cf', '-', '-C', src, 'tree'], files: list, src };
}

export function keyFile(root: string): string {
  const k = join(root, 'backup.key');
  writeFileSync(k, randomBytes(32).toString('hex'));
  return k;
}

/**
 * tar → filter-tar-index slice-on=member → filter-zstd seekable → filter-encrypt key-file=K →
 * dest-taper (256 KiB parts, 640 KiB volumes), recorded with its slice index.
 */
export async function indexedBackup(cat: Catalog, vtapes: string, argv: string[], key: string, info: DumpInfo = DUMP, slot = 1) {
  const header = headerText({ type: 'SPLIT_FILE', datestamp: info.datestamp, name: info.host, disk: info.disk, dumplevel: info.level,
    program: '/bin/tar', partnum: 1, totalparts: -1, recoverCmd: '/bin/tar -xpGf - ...' });
  const specs = [element('source-process', { argv }), element('filter-tar-index', { 'slice-on': 'member', 'min-slice': 16 * KiB }),
    element('filter-zstd', { seekable: true }), element('filter-encrypt', { 'key-file': key }),
    element('dest-taper', { header, changer: `chg-disk:${vtapes}`, slot, 'label-template': 'VOL%%', 'part-size': 256 * KiB,
      'device-properties': [`MAX_VOLUME_USAGE=${640 * KiB}`] })];
  return recordTransfer(cat, new Xfer(specs), info, { changer: `chg-disk:${vtapes}`, index: { specs } });
}

/** sha256 of every file and symlink under dir (relative names), for comparing trees. */
export function treeSums(dir: string): Record<string, string> {
  const r = spawnSync('bash', ['-c', 'find . \\( -type f -o -type l \\) -print0 | sort -z | xargs -0 -r sha256sum; find . -type l -printf "%p -> %l\\n"'],
    { cwd: dir, encoding: 'latin1', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`treeSums ${dir}: ${r.stderr}`);
  const out: Record<string, string> = {};
  for (const line of r.stdout.split('\n').filter(Boolean)) {
    const m = /^([0-9a-f]{64}) {2}(.*)$/.exec(line);
    if (m) out[m[2]] = m[1];
    else out[line] = 'link';
  }
  return out;
}

/** The catalog's rows, to show a restore changed nothing. */
export function catalogRows(cat: Catalog): unknown {
  return {
    volumes: cat.db.prepare('SELECT * FROM volumes ORDER BY id').all(),
    dumps: cat.db.prepare('SELECT * FROM dumps ORDER BY id').all(),
    parts: cat.db.prepare('SELECT * FROM parts ORDER BY id').all(),
    indexes: cat.db.prepare('SELECT dump_id, format, length(data) AS n FROM slice_indexes ORDER BY dump_id').all(),
  };
}
