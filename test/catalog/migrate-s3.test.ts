// xfa migrate to and from S3 (the s3 device's volumes on a real Swift + s3api server): vtape → S3
// re-split into parts of the S3 part size across slots, every part read back; S3 → vtape again,
// byte for byte; a damaged S3 block makes the copy from S3 fail, recorded failed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { openCatalog, type Catalog } from '../../src/catalog/db.js';
import { migrate } from '../../src/catalog/migrate.js';
import { S3Device, type S3DeviceProperties } from '../../src/devices/s3.js';
import { propertyStrings } from '../../src/media/volume.js';
import { element } from '../../src/registry.js';
import { Xfer } from '../../src/xfer.js';
import { createBucket, directClient, listKeys, putObject } from '../setup/s3-helpers.js';
import { startSwift, type SwiftServer } from '../setup/swift.js';
import { crcOf, info, KiB, randomDump, readsBack, slots } from './migrate-helpers.js';

let s3: SwiftServer;
let c: S3Client;
const BUCKET = 'vault';
beforeAll(async () => {
  s3 = await startSwift();
  c = directClient(s3);
  await createBucket(c, BUCKET);
});
afterAll(async () => {
  c?.destroy();
  await s3?.stop();
});

let root: string;
let cat: Catalog;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'xfa-migrate-s3-'));
  cat = openCatalog(join(root, 'catalog.db'));
});
afterEach(() => {
  cat.close();
  rmSync(root, { recursive: true, force: true });
});

const conn = (): S3DeviceProperties => ({ ENDPOINT: s3.endpoint, S3_ACCESS_KEY: s3.accessKey, S3_SECRET_KEY: s3.secretKey });

/** One part of an S3 volume read with source-device (the device bridge): its CRC32C and size. */
async function partCrc(device: string, file: number, label: string): Promise<{ crc: string; size: number }> {
  const xfer = new Xfer([element('source-device', { device, file, label, 'device-properties': propertyStrings(conn()) }), element('dest-null', {})]);
  let crc: { crc: string; size: number } | undefined;
  xfer.on('message', (m) => {
    if (m.type === 'crc' && m.index === 0) crc = { crc: m.crc, size: m.size };
  });
  await xfer.start().done;
  return crc!;
}

it('vtape → S3: parts of the S3 part size on s3 device volumes, spanning slots at MAX_VOLUME_USAGE, read back; S3 → vtape restores the bytes', async () => {
  const src = slots(join(root, 'src'));
  const A = info('alpha', '/home', 0, '20260401000000');
  const B = info('beta', '/etc', 0, '20260401000000');
  const a = await randomDump(cat, src, A, 21, 1200 * KiB);
  const b = await randomDump(cat, src, B, 22, 100 * KiB + 1);
  const to = `s3:${BUCKET}/daily`;
  const r = await migrate(cat, {
    to, s3: conn(), partSize: 300 * KiB, labelTemplate: 'S3-%%', deviceProperties: ['BLOCK_SIZE=64k', `MAX_VOLUME_USAGE=${1024 * KiB}`],
  });
  expect(r.results.map((x) => x.error)).toEqual([undefined, undefined]);
  expect(r).toMatchObject({ copied: 2, failed: 0, bytes: 1300 * KiB + 1 });
  const [ca, cb] = r.results;
  const copyA = cat.dump(ca.copyId!)!;
  expect(copyA).toMatchObject({ status: 'ok', origin: 'migrate', copy_of: a, storage: to, crc: crcOf(21, 1200 * KiB), size: 1200 * KiB });
  const pa = cat.parts(copyA.id);
  // 300 KiB parts (a multiple of the 64 KiB block); the first volume ends early (LEOM) and the dump continues on slot 2.
  expect(pa.map((p) => p.partnum)).toEqual(pa.map((_, i) => i + 1));
  expect(pa.every((p) => p.size <= 320 * KiB && p.crc)).toBe(true);
  expect(pa.reduce((s, p) => s + p.size, 0)).toBe(1200 * KiB);
  expect([...new Set(pa.map((p) => [p.label, p.device].join(' ')))]).toEqual([`S3-01 ${to}/slot-01/`, `S3-02 ${to}/slot-02/`]);
  expect(cat.dump(cb.copyId!)).toMatchObject({ status: 'ok', crc: crcOf(22, 100 * KiB + 1) });
  expect(cat.parts(cb.copyId!)[0].label).toBe('S3-02'); // continues on the last slot used
  // Amanda's key layout under the slot prefixes; the headers are SPLIT_FILE parts of the dump.
  const keys = await listKeys(c, BUCKET, 'daily/');
  expect(keys).toContain('daily/slot-01/special-tapestart');
  expect(keys).toContain('daily/slot-01/f00000001-filestart');
  expect(keys).toContain('daily/slot-01/f00000001-b0000000000000000.data');
  const dev = S3Device.open(`${to}/slot-01/`, conn());
  await dev.start('read');
  expect(await dev.seekFile(2)).toMatchObject({ type: 'SPLIT_FILE', name: 'alpha', disk: '/home', partnum: 2, totalparts: -1, datestamp: '20260401000000' });
  await dev.finish();
  for (const p of pa) expect(await partCrc(p.device!, p.fileno, p.label)).toEqual({ crc: p.crc, size: p.size });

  // Already there: skipped. Then S3 → vtape, and the vtape copy is the original, byte for byte.
  expect(await migrate(cat, { to, s3: conn(), labelTemplate: 'S3-%%' })).toMatchObject({ copied: 0, skipped: 2 });
  const back = slots(join(root, 'back'));
  const r2 = await migrate(cat, { from: to, to: `chg-disk:${back}`, s3: conn(), partSize: 512 * KiB, labelTemplate: 'BACK-%%' });
  expect(r2.results.map((x) => x.error)).toEqual([undefined, undefined]);
  const copyBack = cat.dump(r2.results[0].copyId!)!;
  expect(copyBack).toMatchObject({ status: 'ok', copy_of: copyA.id, crc: copyA.crc });
  const pb = cat.parts(copyBack.id);
  expect(pb.map((p) => p.size)).toEqual([512 * KiB, 512 * KiB, 176 * KiB]);
  expect(await readsBack(`chg-disk:${back}`, A, pb.map((p) => `${p.label}:${p.fileno}:${p.size}`), 21)).toEqual({ crc: crcOf(21, 1200 * KiB), size: 1200 * KiB });
});

it('a damaged block on S3: the copy from S3 fails (CRC), recorded failed; a missing S3 endpoint or label template fails the copy to S3 at the first slot', async () => {
  const src = slots(join(root, 'src'));
  const a = await randomDump(cat, src, info('h', '/x', 0, '20260402000000'), 31, 200 * KiB);
  const to = `s3:${BUCKET}/damaged`;
  const r = await migrate(cat, { to, s3: conn(), labelTemplate: 'DMG-%%', deviceProperties: ['BLOCK_SIZE=64k'] });
  expect(r).toMatchObject({ copied: 1, failed: 0 });
  const copy = r.results[0].copyId!;
  const p = cat.parts(copy)[0];
  await putObject(c, BUCKET, `damaged/slot-01/f${p.fileno.toString(16).padStart(8, '0')}-b0000000000000001.data`, Buffer.alloc(64 * KiB, 7));
  const back = slots(join(root, 'back'));
  const r2 = await migrate(cat, { from: to, to: `chg-disk:${back}`, s3: conn(), labelTemplate: 'B-%%' });
  expect(r2).toMatchObject({ copied: 0, failed: 1 });
  expect(r2.results[0].error).toMatch(/the source read back has CRC/);
  expect(cat.dump(r2.results[0].copyId!)!.status).toBe('failed');

  const bad = await migrate(cat, { to: `s3:${BUCKET}/other`, s3: { ...conn(), ENDPOINT: 'http://127.0.0.1:9' , MAX_RETRIES: 0 }, labelTemplate: 'O-%%' });
  expect(bad).toMatchObject({ copied: 0, failed: 1 });
  expect(cat.dump(bad.results[0].copyId!)!.status).toBe('failed');
  // At once, on the first slot (dest-taper is not left to try the next slots one after another).
  expect(bad.results[0].error).toMatch(new RegExp(`^s3:${BUCKET}/other/slot-01/: `));
  const noTemplate = await migrate(cat, { to: `s3:${BUCKET}/blank`, s3: conn() });
  expect(noTemplate.results[0]).toMatchObject({ status: 'failed', error: 'slot 1 is blank: a label template (--label-template) is needed to label it' });
  expect(cat.dumps({ status: 'ok' }).map((d) => d.id)).toEqual([a, copy]);
});
