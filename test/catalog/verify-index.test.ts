// xfa verify checks a dump's slice index: its structure against the dump, and the stored bytes
// at slice starts (zstd frames) read back from the vtapes.
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Catalog } from '../../src/catalog/db.js';
import { recordTransfer, SLICE_INDEX_FORMAT } from '../../src/catalog/recorder.js';
import { verify } from '../../src/catalog/verify.js';
import { checkSliceIndex } from '../../src/catalog/verify-index.js';
import { headerText } from '../../src/media/header.js';
import { element } from '../../src/registry.js';
import { Xfer } from '../../src/xfer.js';
import { changer, DUMP, KiB, open, tarTree, vtapeFile } from './helpers.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'xfa-verify-index-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

async function indexedBackup(): Promise<{ cat: Catalog; dumpId: number; vt: string }> {
  const vt = changer(root);
  const { argv } = tarTree(root);
  const header = headerText({ type: 'SPLIT_FILE', datestamp: DUMP.datestamp, name: DUMP.host, disk: DUMP.disk, dumplevel: 0, program: '/bin/tar',
    partnum: 1, totalparts: -1, recoverCmd: '/bin/tar -xpGf - ...' });
  const specs = [element('source-process', { argv }), element('filter-tar-index', { 'slice-on': 'member', 'min-slice': 64 * KiB }),
    element('filter-zstd', { seekable: true, level: 1 }),
    element('dest-taper', { header, changer: `chg-disk:${vt}`, 'label-template': 'VOL%%', 'part-size': 256 * KiB })];
  const cat = open(root);
  const r = await recordTransfer(cat, new Xfer(specs), DUMP, { changer: `chg-disk:${vt}`, index: { specs } });
  expect(r.status).toBe('ok');
  return { cat, dumpId: r.dumpId, vt };
}

/** The stored index's JSON: slices flat, 5 numbers each (slice, native offset/length, stored offset/length). */
function editIndex(cat: Catalog, dumpId: number, edit: (j: { slices: number[] }) => void): void {
  const j = JSON.parse(inflateRawSync(cat.sliceIndex(dumpId)!.data).toString('utf8')) as { slices: number[] };
  edit(j);
  cat.setSliceIndex(dumpId, SLICE_INDEX_FORMAT, deflateRawSync(Buffer.from(JSON.stringify(j))));
}

it('a good index passes: every slice start read back is a zstd frame', async () => {
  const { cat } = await indexedBackup();
  const r = await verify(cat);
  expect(r.problems.map((p) => p.message)).toEqual([]);
  expect(r.indexes).toBe(1);
  expect(r.slicesProbed).toBeGreaterThanOrEqual(5);
  cat.close();
});

it('an index that does not match the dump is reported, slice by slice', async () => {
  const { cat, dumpId } = await indexedBackup();
  editIndex(cat, dumpId, (j) => (j.slices[5 * 2 + 3] += 1));
  const r = await verify(cat);
  expect(r.problems.map((p) => p.where)).toContain(`dump ${dumpId} index`);
  expect(r.problems.map((p) => p.message).join('\n')).toMatch(/slice \d+: stored at \d+, the previous slice ended at \d+/);
  cat.setSliceIndex(dumpId, SLICE_INDEX_FORMAT, Buffer.from('not deflate'));
  expect((await checkSliceIndex(cat, cat.dump(dumpId)!))!.problems[0]).toMatch(/does not decode/);
  cat.close();
});

it('a slice start damaged on the vtape is found (as well as the CRC mismatch)', async () => {
  const { cat, dumpId } = await indexedBackup();
  const j = JSON.parse(inflateRawSync(cat.sliceIndex(dumpId)!.data).toString('utf8')) as { slices: number[] };
  const target = { slice: j.slices[5 * 3], stored: { offset: j.slices[5 * 3 + 3] } };
  // find the part holding that stored offset and flip its first byte there
  const parts = cat.parts(dumpId);
  let at = target.stored.offset;
  const p = parts.find((x) => (at < x.size ? true : ((at -= x.size), false)))!;
  const file = vtapeFile(p.device!.replace(/^file:/, ''), p.fileno);
  const fd = openSync(file, 'r+');
  const b = Buffer.alloc(1);
  readSync(fd, b, 0, 1, 32768 + at);
  b[0] ^= 0xff;
  writeSync(fd, b, 0, 1, 32768 + at);
  closeSync(fd);
  const r = await verify(cat);
  const text = r.problems.map((x) => `${x.where}: ${x.message}`).join('\n');
  expect(text).toMatch(new RegExp(`dump ${dumpId} index: .*slice ${target.slice} at stored byte ${target.stored.offset}: not a zstd frame`));
  expect(text).toMatch(/CRC32C/);
  cat.close();
});
