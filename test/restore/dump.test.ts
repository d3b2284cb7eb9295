// restoreDump end to end on real media: a real tree archived by the real tar, written by
// dest-taper across vtapes and recorded in a catalog (with a slice index: zstd + AES-GCM; and
// plain), restored with the real tar -x. One path reads only its slices; everything gives the
// same tree; a reindexed catalog still restores; copies stand in for a missing volume; every bad
// input is a RestoreError of its kind with where it is, and the catalog is never changed.
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Catalog } from '../../src/catalog/db.js';
import { recordTransfer } from '../../src/catalog/recorder.js';
import { reindex } from '../../src/catalog/reindex.js';
import { encryptProps } from '../../src/keys.js';
import { headerText } from '../../src/media/header.js';
import { element } from '../../src/registry.js';
import { Xfer } from '../../src/xfer.js';
import { verify } from '../../src/catalog/verify.js';
import { native } from '../../src/native.js';
import { RestoreError, restoreDump, selectDump } from '../../src/restore/dump.js';
import { backup, bigTree, catalogRows, changer, corrupt, DUMP, indexedBackup, keyFile, open, tarTree, treeSums, vtapeFile } from './helpers-dump.js';

let root: string;
let vt: string;
let cat: Catalog;
let key: string;
let tree: ReturnType<typeof bigTree>;
let plainTree: ReturnType<typeof tarTree>;
let enc: number; // indexed, zstd + encrypted, disk /data
let plain: number; // no index, raw tar, disk /plain
let n = 0;
const fresh = () => join(root, `out-${n++}`);
const walk = (d: string, base = d): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) =>
  e.isDirectory() ? walk(join(d, e.name), base) : [relative(base, join(d, e.name))]);

async function failure(p: Promise<unknown>): Promise<RestoreError> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  expect(e).toBeInstanceOf(RestoreError);
  return e as RestoreError;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'xfa-restore-dump-'));
  vt = changer(root, 10);
  cat = open(root);
  key = keyFile(root);
  tree = bigTree(root);
  const a = await indexedBackup(cat, vt, tree.argv, key);
  expect(a.status, a.error?.message).toBe('ok');
  enc = a.dumpId;
  plainTree = tarTree(join(root, 'p'), 5);
  const b = await backup(cat, vt, plainTree.argv, { ...DUMP, disk: '/plain', datestamp: '20261123010000' }, 5);
  expect(b.status, b.error?.message).toBe('ok');
  plain = b.dumpId;
}, 120_000);

afterAll(() => {
  cat?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('an indexed, compressed and encrypted dump across volumes', () => {
  it('backup → ls → one path (only its slices read) → everything (same tree) → verify', async () => {
    const d = cat.dump(enc)!;
    expect(new Set(cat.parts(enc).map((p) => p.label)).size).toBeGreaterThanOrEqual(2);
    expect(cat.sliceIndex(enc)).toBeDefined();
    const want = tree.files[150];
    const out = fresh();
    const one = await restoreDump(cat, { host: 'client', disk: '/data' }, { dir: out }, { paths: [want], keys: { keyFile: key } });
    expect(one).toMatchObject({ selective: true, indexed: true, members: [want], dumpSize: d.size, crc: { status: 'skipped' } });
    expect(one.chain).toEqual(['source-file', 'filter-decrypt', 'filter-unzstd', 'dest-process']);
    expect(readFileSync(join(out, want)).equals(readFileSync(join(tree.src, want)))).toBe(true);
    expect(walk(out)).toEqual([want]);
    expect(one.bytesRead).toBe(one.ranges.reduce((a, r) => a + r.length, 0));
    expect(one.bytesRead).toBeLessThan(d.size! / 20);
    const all = fresh();
    const every = await restoreDump(cat, { host: 'client', disk: '/data' }, { dir: all }, { keys: { keyFile: key } });
    expect(every).toMatchObject({ selective: false, bytesRead: d.size, crc: { status: 'ok', crc: d.crc, size: d.size } });
    expect(treeSums(all)).toEqual(treeSums(tree.src));
    expect((await verify(cat)).problems).toEqual([]);
  });

  it('several paths, a directory and a hard link come back; nothing else', async () => {
    const out = fresh();
    const r = await restoreDump(cat, { dump: enc }, { dir: out }, { paths: ['tree/hard', 'tree/d2/s1', tree.files[3]], keys: { keyFile: key } });
    expect(r.selective).toBe(true);
    expect(r.members).toContain('tree/hard');
    expect(statSync(join(out, 'tree/hard')).ino).toBe(statSync(join(out, tree.files[1])).ino);
    const sub = walk(join(tree.src, 'tree/d2/s1')).sort();
    expect(walk(join(out, 'tree/d2/s1')).sort()).toEqual(sub);
    for (const f of sub) expect(readFileSync(join(out, 'tree/d2/s1', f)).equals(readFileSync(join(tree.src, 'tree/d2/s1', f)))).toBe(true);
    expect(readFileSync(join(out, tree.files[3])).equals(readFileSync(join(tree.src, tree.files[3])))).toBe(true);
  });

  it('to a file: the native stream (the tar), written as FILE.tmp and renamed; to an fd', async () => {
    const tarBytes = spawnSync(tree.argv[0], tree.argv.slice(1), { maxBuffer: 1 << 30 }).stdout as Buffer;
    const file = join(root, 'native.tar');
    await restoreDump(cat, { dump: enc }, { file }, { keys: { keyFile: key } });
    expect(native.crc32c(readFileSync(file))).toBe(native.crc32c(tarBytes));
    expect(existsSync(`${file}.tmp`)).toBe(false);
    const fdFile = join(root, 'fd.tar');
    const fd = openSync(fdFile, 'w');
    await restoreDump(cat, { dump: enc }, { fd }, { keys: { keyFile: key } });
    closeSync(fd);
    expect(readFileSync(fdFile).equals(readFileSync(file))).toBe(true);
  });

  it('a wrong key, or none, is a key error; the target file is left alone and no .tmp remains', async () => {
    const before = catalogRows(cat);
    const other = join(root, 'other.key');
    writeFileSync(other, 'ab'.repeat(32));
    const file = join(root, 'wrong.tar');
    writeFileSync(file, 'old');
    const e = await failure(restoreDump(cat, { dump: enc }, { file }, { keys: { keyFile: other } }));
    expect(e.kind).toBe('key');
    expect(e.message).toMatch(/wrong key/);
    expect(readFileSync(file, 'utf8')).toBe('old');
    expect(existsSync(`${file}.tmp`)).toBe(false);
    const none = await failure(restoreDump(cat, { dump: enc }, { dir: fresh() }));
    expect(none.kind).toBe('key');
    expect(none.message).toMatch(/--key-file, --passphrase-file or --private-key/);
    expect(catalogRows(cat)).toEqual(before);
  });

  it('a path not in the dump is named before anything is read', async () => {
    const e = await failure(restoreDump(cat, { dump: enc }, { dir: fresh() }, { paths: ['tree/nope', tree.files[0]], keys: { keyFile: key } }));
    expect(e.kind).toBe('path');
    expect(e.message).toMatch(/not in dump #\d+ \(its index lists \d+ members\): tree\/nope$/);
  });
});

describe('keys', () => {
  it('an RSA-wrapped data key: --private-key unwraps it from the stream header read off the media', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
    const pem = join(root, 'restore.pem');
    writeFileSync(pem, privateKey);
    const small = tarTree(join(root, 'rsa'), 9);
    const header = headerText({ type: 'SPLIT_FILE', datestamp: '20261124000000', name: 'rsa', disk: '/k', dumplevel: 0, program: '/bin/tar', partnum: 1, totalparts: -1 });
    const specs = [element('source-process', { argv: small.argv }), element('filter-tar-index', { 'slice-on': 'member', 'min-slice': 8 * 1024 }),
      element('filter-encrypt', encryptProps({ publicKeyPem: publicKey })),
      element('dest-taper', { header, changer: `chg-disk:${vt}`, slot: 10, 'label-template': 'VOL%%', 'part-size': 256 * 1024 })];
    const b = await recordTransfer(cat, new Xfer(specs), { host: 'rsa', disk: '/k', level: 0, datestamp: '20261124000000' }, { changer: `chg-disk:${vt}`, index: { specs } });
    expect(b.status, b.error?.message).toBe('ok');
    const out = fresh();
    const one = await restoreDump(cat, { host: 'rsa' }, { dir: out }, { paths: [small.files[20]], keys: { privateKeyFile: pem } });
    expect(one.selective).toBe(true);
    expect(walk(out)).toEqual([small.files[20]]);
    const all = fresh();
    await restoreDump(cat, { host: 'rsa' }, { dir: all }, { keys: { privateKeyFile: pem } });
    expect(treeSums(all)).toEqual(treeSums(join(root, 'rsa', 'src')));
    const other = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
    writeFileSync(join(root, 'other.pem'), other.privateKey);
    const e = await failure(restoreDump(cat, { host: 'rsa' }, { dir: fresh() }, { keys: { privateKeyFile: join(root, 'other.pem') } }));
    expect(e.kind).toBe('key');
    expect(e.message).toMatch(/--private-key .*other.pem: /);
  });
});

describe('choosing the dump', () => {
  it('by host/disk/date/level and by id; the newest of several; no match says what exists', () => {
    expect(selectDump(cat, { host: 'client', disk: '/data' }).selected.id).toBe(enc);
    const s = selectDump(cat, { host: 'client' });
    expect([s.selected.id, s.matches]).toEqual([plain, 2]);
    expect(selectDump(cat, { host: 'client', date: '20261122' }).selected.id).toBe(enc);
    expect(selectDump(cat, { dump: plain, level: 3 }).selected.id).toBe(plain); // the id wins
    const e = (() => { try { selectDump(cat, { host: 'client', disk: '/data', level: 1 }); } catch (x) { return x as RestoreError; } })()!;
    expect(e.kind).toBe('no-dump');
    expect(e.message).toBe(`no dump matches host client, disk /data, level 1; the catalog has for client:/data: #${enc} level 0 20261122063000 ok`);
    expect(() => selectDump(cat, { host: 'nohost' })).toThrow(/no dump matches host nohost; the catalog has dumps of client:\/data, client:\/plain/);
    expect(() => selectDump(cat, { dump: 999 })).toThrow(/no dump #999 in the catalog/);
  });
});

describe('damaged media and bad targets', () => {
  it('a missing volume names the label and the device; the target is checked before the media', async () => {
    const before = catalogRows(cat);
    const p = cat.parts(enc)[3];
    const dir = p.device!.slice('file:'.length);
    renameSync(dir, `${dir}.gone`);
    try {
      const e = await failure(restoreDump(cat, { dump: enc }, { dir: fresh() }, { keys: { keyFile: key } }));
      expect(e.kind).toBe('volume');
      expect(e.message).toContain(`volume ${p.label} is missing: ${p.device}`);
      const blocker = join(root, 'a-file');
      writeFileSync(blocker, '');
      const t = await failure(restoreDump(cat, { dump: enc }, { dir: join(blocker, 'sub') }, { keys: { keyFile: key } }));
      expect(t.kind).toBe('target');
      expect(t.message).toMatch(/cannot restore into .*a-file\/sub: ENOTDIR/);
    } finally {
      renameSync(`${dir}.gone`, dir);
    }
    expect(catalogRows(cat)).toEqual(before);
  });

  it('a corrupt part is named LABEL:FILE (encrypted: GCM fails; plain: the CRC check), to a dir and to a file', async () => {
    const before = catalogRows(cat);
    for (const [id, keys] of [[enc, { keyFile: key }], [plain, undefined]] as const) {
      const p = cat.parts(id)[1];
      const f = vtapeFile(p.device!.slice('file:'.length), p.fileno);
      corrupt(f, 5000);
      try {
        const out = fresh();
        const e = await failure(restoreDump(cat, { dump: id }, { dir: out }, { keys }));
        expect(e.kind).toBe('corrupt');
        expect(e.where).toBe(`${p.label}:${p.fileno}`);
        expect(e.message).toMatch(new RegExp(`part 2 at ${p.label}:${p.fileno} is corrupt: CRC32C [0-9a-f]{8}, the catalog says ${p.crc}; files already extracted into .* may be damaged`));
        const file = join(root, `corrupt-${id}.tar`);
        const e2 = await failure(restoreDump(cat, { dump: id }, { file }, { keys }));
        expect(e2.where).toBe(`${p.label}:${p.fileno}`);
        expect(existsSync(file) || existsSync(`${file}.tmp`)).toBe(false);
      } finally {
        corrupt(f, 5000); // flips the byte back
      }
    }
    expect(catalogRows(cat)).toEqual(before);
  });

  it('a full disk: no-space, to a directory and to a file (tmpfs of 1 MiB)', async () => {
    const mnt = join(root, 'small');
    mkdirSync(mnt);
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt]);
    if (m.status !== 0) throw new Error(`this test mounts a tmpfs (run as root): ${m.stderr}`);
    try {
      const e = await failure(restoreDump(cat, { dump: enc }, { dir: join(mnt, 'x') }, { keys: { keyFile: key } }));
      expect(e.kind).toBe('no-space');
      expect(e.message).toMatch(/no space left on device/i);
      const file = join(mnt, 'all.tar');
      const e2 = await failure(restoreDump(cat, { dump: enc }, { file }, { keys: { keyFile: key } }));
      expect(e2.kind).toBe('no-space');
      expect(readdirSync(mnt).filter((x) => x.startsWith('all.tar'))).toEqual([]);
    } finally {
      spawnSync('umount', [mnt]);
    }
  });
});

describe('copies and a rebuilt catalog', () => {
  it('a copy serves when a volume of the original is missing', async () => {
    const c = await backup(cat, vt, plainTree.argv, { ...DUMP, disk: '/plain', datestamp: '20261123010000' }, 7);
    expect(c.status).toBe('ok');
    cat.db.prepare('UPDATE dumps SET copy_of = ?, origin = ? WHERE id = ?').run(plain, 'migrate', c.dumpId);
    expect(cat.dump(c.dumpId)!.crc).toBe(cat.dump(plain)!.crc); // tar of the same tree: the same stream
    expect(selectDump(cat, { host: 'client', disk: '/plain' })).toMatchObject({ matches: 1, selected: { id: plain } });
    const dir = cat.parts(plain)[0].device!.slice('file:'.length);
    renameSync(dir, `${dir}.gone`);
    try {
      const notes: string[] = [];
      const out = fresh();
      const r = await restoreDump(cat, { host: 'client', disk: '/plain' }, { dir: out }, { onNote: (s) => notes.push(s) });
      expect(r.dump.id).toBe(c.dumpId);
      expect(r.selected.id).toBe(plain);
      expect(notes.join('\n')).toMatch(/dump #\d+ cannot be read \(volume VOL\d+ is missing/);
      expect(treeSums(out)).toEqual(treeSums(join(root, 'p', 'src')));
    } finally {
      renameSync(`${dir}.gone`, dir);
    }
  });

  it('catalog deleted → reindex → restore still works (no index: the whole dump is read, its first bytes say how)', async () => {
    const fresh2 = open(join(root, 're'));
    const r = await reindex(fresh2, [...new Set(cat.parts(enc).map((p) => p.device!))]);
    expect(r.problems).toEqual([]);
    const id = selectDump(fresh2, { host: 'client', disk: '/data' }).selected.id;
    expect(fresh2.sliceIndex(id)).toBeUndefined();
    const out = fresh();
    const notes: string[] = [];
    const one = await restoreDump(fresh2, { host: 'client', disk: '/data' }, { dir: out }, { paths: [tree.files[7]], keys: { keyFile: key }, onNote: (s) => notes.push(s) });
    expect(one).toMatchObject({ selective: false, indexed: false });
    expect(one.why).toMatch(/no slice index/);
    expect(one.notes.join('\n')).toMatch(/its first bytes say filter-decrypt then filter-process/);
    expect(walk(out)).toEqual([tree.files[7]]);
    const all = fresh();
    const every = await restoreDump(fresh2, { host: 'client', disk: '/data' }, { dir: all }, { keys: { keyFile: key } });
    expect(every.crc.status).toBe('ok');
    expect(treeSums(all)).toEqual(treeSums(tree.src));
    fresh2.close();
  });
});
