// The catalog end to end: a real tar of a tree written by dest-taper across vtapes and recorded
// from the transfer's messages; schema migrations; failed and interrupted dumps never good;
// verify finds a corrupted part, a missing file and a relabeled volume, each where it is.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { crc32cOfParts } from '../../src/catalog/crc.js';
import { CatalogError, openCatalog, SCHEMA_VERSION } from '../../src/catalog/db.js';
import { Recorder } from '../../src/catalog/recorder.js';
import { verify } from '../../src/catalog/verify.js';
import { scanVolume } from '../../src/media/volume.js';
import { native } from '../../src/native.js';
import { backup, changer, corrupt, DUMP, open, tarTree, vtapeFile } from './helpers.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'xfa-catalog-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('schema', () => {
  it('a new catalog is at the latest version; reopening keeps the data; a newer schema is refused', () => {
    const file = join(root, 'c.db');
    const c = openCatalog(file);
    expect(c.version()).toBe(SCHEMA_VERSION);
    c.upsertVolume({ label: 'V1', device: 'file:/x' });
    c.close();
    const c2 = openCatalog(file);
    expect(c2.volumes().map((v) => v.label)).toEqual(['V1']);
    c2.db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    c2.close();
    expect(() => openCatalog(file)).toThrow(CatalogError);
    expect(() => openCatalog(file)).toThrow(/newer than this xfa/);
  });

  it('a part is recorded with its volume in one transaction: a duplicate leaves the volume counters alone', () => {
    const c = openCatalog(join(root, 'c.db'));
    const id = c.startDump(DUMP);
    c.addPart(id, { label: 'V1', fileno: 1, partnum: 1, size: 100 });
    expect(() => c.addPart(id, { label: 'V1', fileno: 1, partnum: 2, size: 50 })).toThrow(/UNIQUE/);
    expect(c.volume('V1')!.bytes).toBe(100);
    expect(c.parts(id).map((p) => p.partnum)).toEqual([1]);
    c.close();
  });
});

describe('backup recorded from transfer messages', () => {
  it('a tar of a tree across vtapes: parts, volumes, CRCs; the parts read back are the archive', async () => {
    const vt = changer(root);
    const { argv } = tarTree(root);
    const cat = open(root);
    const r = await backup(cat, vt, argv);
    expect(r.error).toBeUndefined();
    expect(r.status).toBe('ok');
    const archive = spawnSync(argv[0], argv.slice(1), { maxBuffer: 1 << 30 }).stdout as Buffer;
    const d = cat.dump(r.dumpId)!;
    expect(d).toMatchObject({ status: 'ok', host: 'client', disk: '/data', level: 0, size: archive.length, crc: native.crc32c(archive) });
    const parts = cat.parts(r.dumpId);
    expect(parts.length).toBeGreaterThanOrEqual(3);
    expect(parts.map((p) => p.partnum)).toEqual(parts.map((_, i) => i + 1));
    expect(new Set(parts.map((p) => p.label)).size).toBeGreaterThanOrEqual(2); // spans volumes
    expect(parts.reduce((s, p) => s + p.size, 0)).toBe(archive.length);
    let off = 0;
    for (const p of parts) {
      expect(p.crc).toBe(native.crc32c(archive.subarray(off, off + p.size)));
      off += p.size;
      expect(scanVolume(p.device!).files.find((f) => f.file === p.fileno)!.header).toMatchObject({ partnum: p.partnum, name: 'client' });
    }
    expect(crc32cOfParts(parts.map((p) => ({ crc: p.crc!, size: p.size })))).toBe(d.crc);
    expect(cat.volumes().every((v) => v.state === 'written' && v.written === 1 && v.device?.startsWith('file:'))).toBe(true);
    const rep = await verify(cat);
    expect(rep.problems).toEqual([]);
    expect(rep.bytes).toBe(archive.length);
    cat.close();
  });

  it('a dump whose program fails is recorded as failed with the reason, never ok', async () => {
    const vt = changer(root);
    const { argv } = tarTree(root);
    const cat = open(root);
    const r = await backup(cat, vt, ['sh', '-c', `${argv.map((a) => `'${a}'`).join(' ')}; exit 3`]);
    expect(r.status).toBe('failed');
    expect(cat.dump(r.dumpId)!.status).toBe('failed');
    expect(cat.dump(r.dumpId)!.error).toMatch(/exited with status 3/);
    expect(cat.dumps({ status: 'ok' })).toEqual([]);
    cat.close();
  });

  it('interrupted (no done): the dump stays running with the parts so far, and a reopened catalog agrees', () => {
    const cat = open(root);
    const rec = new Recorder(cat, DUMP, { changer: 'chg-disk:/nowhere' });
    const base = { elt: 'dest-taper#2', index: 1, version: 1 };
    rec.message({ ...base, type: 'part-done', successful: true, eom: false, eof: false, size: 4096, duration: 1, partnum: 1, fileno: 1, label: 'VOL01', slot: 1 } as never);
    rec.message({ ...base, type: 'part-done', successful: false, eom: true, eof: false, size: 100, duration: 1, partnum: 2, fileno: 2, label: 'VOL01', slot: 1 } as never);
    cat.close(); // the process dies here
    const again = open(root);
    expect(again.dumps().map((d) => d.status)).toEqual(['running']);
    expect(again.parts().map((p) => [p.label, p.fileno, p.size, p.device])).toEqual([['VOL01', 1, 4096, 'file:/nowhere/slot1']]);
    expect(again.dumps({ status: 'ok' })).toEqual([]);
    again.close();
  });
});

describe('verify', () => {
  it('a corrupted part is reported at LABEL:FILE with its part number; a deleted one as missing', async () => {
    const vt = changer(root);
    const cat = open(root);
    const r = await backup(cat, vt, tarTree(root).argv);
    expect(r.status).toBe('ok');
    const p2 = cat.parts(r.dumpId)[1];
    corrupt(vtapeFile(p2.device!.slice('file:'.length), p2.fileno));
    let rep = await verify(cat);
    expect(rep.problems.map((p) => p.where)).toEqual([`${p2.label}:${p2.fileno}`, `dump ${r.dumpId}`]);
    expect(rep.problems[0].message).toMatch(/part 2: CRC32C [0-9a-f]{8}, the catalog says [0-9a-f]{8}/);
    const p3 = cat.parts(r.dumpId)[2];
    unlinkSync(vtapeFile(p3.device!.slice('file:'.length), p3.fileno));
    rep = await verify(cat);
    expect(rep.problems.map((p) => p.where)).toContain(`${p3.label}:${p3.fileno}`);
    expect(rep.problems.find((p) => p.where === `${p3.label}:${p3.fileno}`)!.message).toMatch(/part 3: no such file on the volume/);
    cat.close();
  });
});
