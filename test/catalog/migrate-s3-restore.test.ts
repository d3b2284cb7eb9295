// Restoring from an S3 copy made by xfa migrate (real Swift + s3api server, real tar): dumps backed
// up to vtapes (plain tar; tar → zstd → encrypt with a slice index) are migrated to S3 with the
// connection from the environment, the vtapes are deleted, and restoreDump restores each dump from
// its S3 copy, byte-identical (tree compare; one path alone through the copied slice index);
// verify checks the S3 copies (every volume scanned, every part read back, CRCs) and reports the
// deleted vtapes, nothing else.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Catalog } from '../../src/catalog/db.js';
import { migrate } from '../../src/catalog/migrate.js';
import { verify } from '../../src/catalog/verify.js';
import { restoreDump } from '../../src/restore/dump.js';
import { createBucket, directClient } from '../setup/s3-helpers.js';
import { startSwift, type SwiftServer } from '../setup/swift.js';
import { bigTree, indexedBackup, keyFile, treeSums } from '../restore/helpers-dump.js';
import { backup, changer, DUMP, KiB, open, tarTree } from './helpers.js';

let s3: SwiftServer;
let c: S3Client;
const BUCKET = 'restore';
const saved = { ...process.env };
let root: string;
let cat: Catalog;

beforeAll(async () => {
  s3 = await startSwift();
  c = directClient(s3);
  await createBucket(c, BUCKET);
  // restoreDump and verify take no S3 connection: the s3 device gets it from the environment.
  Object.assign(process.env, { S3_ENDPOINT: s3.endpoint, S3_ACCESS_KEY: s3.accessKey, S3_SECRET_KEY: s3.secretKey });
  root = mkdtempSync(join(tmpdir(), 'xfa-migrate-s3-restore-'));
  cat = open(root);
}, 120_000);

afterAll(async () => {
  process.env = saved;
  cat?.close();
  if (root) rmSync(root, { recursive: true, force: true });
  c?.destroy();
  await s3?.stop();
});

it('vtapes → S3, vtapes deleted: restoreDump restores every dump from its S3 copy byte-identically; verify checks the S3 copies', async () => {
  const vt = changer(root, 10);
  const plainTree = tarTree(join(root, 'p'), 5);
  const plain = await backup(cat, vt, plainTree.argv);
  expect(plain.status, plain.error?.message).toBe('ok');
  const key = keyFile(root);
  const tree = bigTree(join(root, 'big'), 120, 13);
  const enc = await indexedBackup(cat, vt, tree.argv, key, { ...DUMP, disk: '/big', datestamp: '20261123010000' }, 5);
  expect(enc.status, enc.error?.message).toBe('ok');

  const to = `s3:${BUCKET}/vault`;
  const r = await migrate(cat, { to, partSize: 192 * KiB, labelTemplate: 'S3R-%%', deviceProperties: ['BLOCK_SIZE=64k', `MAX_VOLUME_USAGE=${1024 * KiB}`] });
  expect(r.results.map((x) => x.error)).toEqual([undefined, undefined]);
  expect(r).toMatchObject({ copied: 2, failed: 0 });
  const copyOf = new Map(r.results.map((x) => [x.sourceId!, x.copyId!]));
  const s3Labels = [...new Set(r.results.flatMap((x) => x.labels!))].sort();
  expect(s3Labels.length).toBeGreaterThan(1); // the copies span S3 volumes
  for (const id of [plain.dumpId, enc.dumpId]) {
    expect(cat.dump(copyOf.get(id)!)).toMatchObject({ status: 'ok', storage: to, crc: cat.dump(id)!.crc, size: cat.dump(id)!.size });
    expect(cat.parts(copyOf.get(id)!).every((p) => p.device?.startsWith(`${to}/slot-`) && p.crc)).toBe(true);
  }
  // The encrypted dump's slice index went with it.
  expect(cat.sliceIndex(copyOf.get(enc.dumpId)!)).toBeDefined();

  // The vtapes are gone: only the S3 copies are left.
  rmSync(vt, { recursive: true, force: true });

  const out1 = join(root, 'out-plain');
  mkdirSync(out1);
  const a = await restoreDump(cat, { host: DUMP.host, disk: DUMP.disk }, { dir: out1 });
  expect(a.dump.id).toBe(copyOf.get(plain.dumpId));
  expect(a.selected.id).toBe(plain.dumpId);
  expect(treeSums(out1)).toEqual(treeSums(join(root, 'p', 'src')));

  const out2 = join(root, 'out-big');
  mkdirSync(out2);
  const b = await restoreDump(cat, { host: DUMP.host, disk: '/big' }, { dir: out2 }, { keys: { keyFile: key } });
  expect(b.dump.id).toBe(copyOf.get(enc.dumpId));
  expect(treeSums(out2)).toEqual(treeSums(tree.src));
  // One member alone, through the slice index (byte ranges of the S3 parts).
  const want = tree.files[60];
  const out3 = join(root, 'out-one');
  mkdirSync(out3);
  const one = await restoreDump(cat, { host: DUMP.host, disk: '/big' }, { dir: out3 }, { paths: [want], keys: { keyFile: key } });
  expect(one).toMatchObject({ selective: true, indexed: true, members: [want] });
  expect(one.dump.id).toBe(copyOf.get(enc.dumpId));
  expect(readFileSync(join(out3, want)).equals(readFileSync(join(tree.src, want)))).toBe(true);
  expect(one.bytesRead).toBeLessThan(cat.dump(enc.dumpId)!.size! / 4);

  // verify: the S3 volumes scanned, every part of both copies read back and matching the catalog.
  const v = await verify(cat, { labels: s3Labels });
  expect(v.problems).toEqual([]);
  expect(v).toMatchObject({ volumes: s3Labels.length, dumps: 2 });
  expect(v.parts).toBe(r.results.reduce((s, x) => s + x.parts!, 0));
  expect(v.bytes).toBe(cat.dump(plain.dumpId)!.size! + cat.dump(enc.dumpId)!.size!);
  expect(v.indexes).toBe(1);
  // Everything: the deleted vtapes are the only problems.
  const all = await verify(cat);
  expect(all.problems.length).toBeGreaterThan(0);
  expect(all.problems.every((p) => /^VOL\d+/.test(p.where))).toBe(true);
}, 300_000);
