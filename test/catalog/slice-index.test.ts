// A backup through filter-tar-index: the dump's slice index is stored in the catalog with it,
// lists every file of the tree, and its slices lie within the dump as stored (zstd frames).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { recordTransfer, SLICE_INDEX_FORMAT } from '../../src/catalog/recorder.js';
import { headerText } from '../../src/media/header.js';
import { element } from '../../src/registry.js';
import { SliceIndex } from '../../src/slice-index.js';
import { Xfer } from '../../src/xfer.js';
import { changer, DUMP, KiB, open, tarTree } from './helpers.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'xfa-catalog-index-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

it('the slice index of a tar backup is stored with the good dump', async () => {
  const vt = changer(root);
  const { argv, files } = tarTree(root);
  const header = headerText({ type: 'SPLIT_FILE', datestamp: DUMP.datestamp, name: DUMP.host, disk: DUMP.disk, dumplevel: 0, program: '/bin/tar',
    partnum: 1, totalparts: -1, recoverCmd: '/bin/tar -xpGf - ...' });
  const specs = [element('source-process', { argv }), element('filter-tar-index', { 'slice-on': 'member', 'min-slice': 64 * KiB }),
    element('filter-zstd', { seekable: true }),
    element('dest-taper', { header, changer: `chg-disk:${vt}`, 'label-template': 'VOL%%', 'part-size': 256 * KiB })];
  const cat = open(root);
  const r = await recordTransfer(cat, new Xfer(specs), DUMP, { changer: `chg-disk:${vt}`, index: { specs } });
  expect(r.status).toBe('ok');
  const stored = cat.sliceIndex(r.dumpId)!;
  expect(stored.format).toBe(SLICE_INDEX_FORMAT);
  const index = SliceIndex.fromJSON(JSON.parse(inflateRawSync(stored.data).toString('utf8')));
  expect(files.length).toBeGreaterThan(10);
  for (const f of files) expect(index.object(f), f).toMatchObject({ objectType: 'file' });
  const size = cat.dump(r.dumpId)!.size!;
  expect(index.slices.length).toBeGreaterThanOrEqual(5);
  // stored offsets are in the dump as written (zstd frames), and end within it
  const last = index.slices[index.slices.length - 1];
  expect(last.stored.offset + last.stored.length).toBeLessThanOrEqual(size);
  expect(index.filters.map((f) => f.name)).toEqual(['filter-zstd']);
  cat.close();
});
