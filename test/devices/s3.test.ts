// The s3 device (src/devices/s3.ts) against a real S3 server (Swift + s3api, started here):
// Amanda's key layout byte for byte, block and multipart files, append, LEOM/PEOM, abort_file,
// seeks past the end and over a missing file — and Amanda's own s3 device (libamdevice 3.5 via
// Perl) reading a volume xfa wrote.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Device, type S3DeviceProperties } from '../../src/devices/s3.js';
import { headerText, type AmandaHeader } from '../../src/media/header.js';
import { startProxy, type FaultProxy } from '../setup/fault-proxy.js';
import { MiB, createBucket, deleteObject, directClient, getObject, head, lcg, listKeys, uploadsLeft } from '../setup/s3-helpers.js';
import { startSwift, type SwiftServer } from '../setup/swift.js';

let s3: SwiftServer;
let c: S3Client;
let px: FaultProxy;
const B = 'vtapes';

beforeAll(async () => {
  s3 = await startSwift();
  c = directClient(s3);
  await createBucket(c, B);
  px = await startProxy(s3.port);
});
afterAll(async () => {
  c?.destroy();
  await px?.close();
  await s3?.stop();
});

const props = (extra: S3DeviceProperties = {}, host = `127.0.0.1:${s3.port}`): S3DeviceProperties => ({
  S3_HOST: host, S3_SSL: false, S3_SUBDOMAIN: false, S3_ACCESS_KEY: s3.accessKey, S3_SECRET_KEY: s3.secretKey, ...extra,
});

const dump = (disk: string, partnum = 1): AmandaHeader => ({
  type: 'SPLIT_FILE', datestamp: '20240102030405', name: 'client.example.com', disk, dumplevel: 0, program: '/bin/tar',
  partnum, totalparts: -1, recoverCmd: '/bin/tar -xpGf - ...',
});

async function writeFile(dev: S3Device, h: AmandaHeader, data: Buffer): Promise<number> {
  const n = await dev.startFile(h);
  for (let off = 0; off < data.length; off += dev.blockSize) expect(await dev.writeBlock(data.subarray(off, off + dev.blockSize))).toBe('ok');
  await dev.finishFile();
  return n;
}

async function readFile(dev: S3Device, file: number): Promise<{ header: AmandaHeader; data: Buffer }> {
  const header = await dev.seekFile(file);
  const parts: Buffer[] = [];
  for (let b = await dev.readBlock(); b; b = await dev.readBlock()) parts.push(b);
  return { header, data: Buffer.concat(parts) };
}

describe('s3 device: layout', () => {
  it('labels a volume and writes files with Amanda\'s keys: special-tapestart, f%08x-filestart, f%08x-b%016x.data', async () => {
    const dev = S3Device.open(`s3:${B}/DailySet1/slot-01/`, props({ BLOCK_SIZE: '1MiB' }));
    await dev.start('write', 'DailySet1-01', '20240102030405');
    const a = lcg(1, 3 * MiB + 500);
    const b = lcg(2, 17);
    expect(await writeFile(dev, dump('/home'), a)).toBe(1);
    expect(await writeFile(dev, dump('/etc'), b)).toBe(2);
    await dev.finish();

    const p = 'DailySet1/slot-01/';
    expect((await listKeys(c, B, p)).sort()).toEqual([
      `${p}f00000001-b0000000000000000.data`, `${p}f00000001-b0000000000000001.data`, `${p}f00000001-b0000000000000002.data`,
      `${p}f00000001-b0000000000000003.data`, `${p}f00000001-filestart`, `${p}f00000002-b0000000000000000.data`, `${p}f00000002-filestart`,
      `${p}special-tapestart`,
    ]);
    // Compact headers (no padding), TAPESTART with the block size, file headers with blocksize 0.
    expect((await getObject(c, B, `${p}special-tapestart`)).toString()).toBe(headerText({ type: 'TAPESTART', datestamp: '20240102030405', name: 'DailySet1-01', blocksize: MiB }));
    const fs1 = (await getObject(c, B, `${p}f00000001-filestart`)).toString();
    expect(fs1).toBe(headerText({ ...dump('/home'), blocksize: 0 }));
    expect(fs1).toMatch(/^AMANDA: SPLIT_FILE 20240102030405 client.example.com \/home {2}part 1\/-1 {2}lev 0 comp N program \/bin\/tar\n/);
    expect((await getObject(c, B, `${p}f00000001-b0000000000000003.data`)).equals(a.subarray(3 * MiB))).toBe(true);
    expect((await getObject(c, B, `${p}f00000002-b0000000000000000.data`)).equals(b)).toBe(true);

    const r = S3Device.open(`s3:${B}/DailySet1/slot-01/`, props({ BLOCK_SIZE: '1MiB' }));
    const scan = await r.scan();
    expect(scan.label).toBe('DailySet1-01');
    expect(scan.files.map((f) => [f.file, f.header.disk])).toEqual([[1, '/home'], [2, '/etc']]);
    await r.start('read');
    const f1 = await readFile(r, 1);
    expect(f1.header).toMatchObject({ type: 'SPLIT_FILE', disk: '/home', partnum: 1, blocksize: 0 });
    expect(f1.data.equals(a)).toBe(true);
    expect(r.bytesRead).toBe(a.length);
    await r.seekFile(1);
    await r.seekBlock(2);
    expect((await r.readBlock())?.equals(a.subarray(2 * MiB, 3 * MiB))).toBe(true);
    expect((await readFile(r, 2)).data.equals(b)).toBe(true);
    const end = await r.seekFile(3);
    expect(end.type).toBe('TAPEEND');
    expect(r.isEof).toBe(true);
    expect(await r.readBlock()).toBeNull();
    await r.finish();
  });

  it('S3_MULTI_PART_UPLOAD: one f%08x-mp.data object per file, a part per block, read back by ranges', async () => {
    const dev = S3Device.open(`s3:${B}/mp-`, props({ BLOCK_SIZE: '5MiB', S3_MULTI_PART_UPLOAD: true, NB_THREADS_BACKUP: 2 }));
    await dev.start('write', 'MP-01', '20240102030405');
    const data = lcg(3, 12 * MiB + 3);
    expect(await writeFile(dev, dump('/var'), data)).toBe(1);
    await dev.finish();
    expect((await listKeys(c, B, 'mp-')).sort()).toEqual(['mp-f00000001-filestart', 'mp-f00000001-mp.data', 'mp-special-tapestart']);
    expect((await head(c, B, 'mp-f00000001-mp.data'))?.etag).toMatch(/^[0-9a-f]{32}-3$/);
    expect(await uploadsLeft(c, B, 'mp-')).toEqual([]);
    const r = S3Device.open(`s3:${B}/mp-`, props({ BLOCK_SIZE: '5MiB' }));
    await r.start('read');
    expect((await readFile(r, 1)).data.equals(data)).toBe(true);
    await r.seekFile(1);
    await r.seekBlock(2);
    expect((await r.readBlock())?.equals(data.subarray(10 * MiB))).toBe(true);
    expect(await r.readBlock()).toBeNull();
    await r.finish();
  });

  it('append continues after the last file and counts what the volume holds; write erases the volume', async () => {
    const spec = `s3:${B}/app/`;
    const dev = S3Device.open(spec, props({ BLOCK_SIZE: '64KiB' }));
    await dev.start('write', 'APP-1', '');
    await writeFile(dev, dump('/a'), lcg(4, 100_000));
    await dev.finish();
    const again = S3Device.open(spec, props({ BLOCK_SIZE: '64KiB' }));
    await again.start('append');
    const used = again.volumeBytes;
    expect(used).toBeGreaterThan(100_000);
    expect(await writeFile(again, dump('/b'), lcg(5, 1000))).toBe(2);
    await again.finish();
    expect((await S3Device.open(spec, props()).scan()).files.map((f) => f.header.disk)).toEqual(['/a', '/b']);
    const fresh = S3Device.open(spec, props({ BLOCK_SIZE: '64KiB' }));
    await fresh.start('write', 'APP-2', '');
    await fresh.finish();
    expect(await listKeys(c, B, 'app/')).toEqual(['app/special-tapestart']);
    expect((await getObject(c, B, 'app/special-tapestart')).toString()).toMatch(/^AMANDA: TAPESTART DATE X TAPE APP-2\n/);
  });
});

describe('s3 device: end of medium, aborts, errors', () => {
  it('MAX_VOLUME_USAGE: LEOM 4 blocks early, then PEOM ("full", nothing written)', async () => {
    const dev = S3Device.open(`s3:${B}/eom/`, props({ BLOCK_SIZE: '64KiB', MAX_VOLUME_USAGE: '1MiB' }));
    await dev.start('write', 'EOM-1', '');
    await dev.startFile(dump('/big'));
    const blk = lcg(6, 65536);
    let results: string[] = [];
    let firstEom = -1;
    for (let i = 0; i < 20; i++) {
      results.push(await dev.writeBlock(blk));
      if (dev.isEom && firstEom < 0) firstEom = i;
    }
    results = [...new Set(results)];
    await dev.finishFile();
    await dev.finish();
    expect(results).toEqual(['ok', 'full']);
    const keys = (await listKeys(c, B, 'eom/')).filter((k) => k.endsWith('.data'));
    const headerBytes = (await getObject(c, B, 'eom/special-tapestart')).length + (await getObject(c, B, 'eom/f00000001-filestart')).length;
    expect(keys.length).toBe(Math.floor((MiB - headerBytes) / 65536)); // 15: every block that fit
    expect(firstEom).toBe(keys.length - 4);
  });

  it('abortFile removes the partial file; its number is used again', async () => {
    const dev = S3Device.open(`s3:${B}/abort/`, props({ BLOCK_SIZE: '64KiB' }));
    await dev.start('write', 'AB-1', '');
    await writeFile(dev, dump('/ok'), lcg(7, 70_000));
    await dev.startFile(dump('/cut'));
    for (let i = 0; i < 5; i++) await dev.writeBlock(lcg(8, 65536));
    await dev.abortFile();
    expect(await writeFile(dev, dump('/next'), lcg(9, 10))).toBe(2);
    await dev.finish();
    expect((await S3Device.open(`s3:${B}/abort/`, props()).scan()).files.map((f) => [f.file, f.header.disk])).toEqual([[1, '/ok'], [2, '/next']]);
    expect((await listKeys(c, B, 'abort/')).filter((k) => k.startsWith('abort/f00000002-b'))).toEqual(['abort/f00000002-b0000000000000000.data']);
  });

  it('a file missing in the middle is an error naming the next file; an unlabeled volume says so', async () => {
    const dev = S3Device.open(`s3:${B}/gap/`, props({ BLOCK_SIZE: '64KiB' }));
    await dev.start('write', 'GAP-1', '');
    for (const d of ['/1', '/2', '/3']) await writeFile(dev, dump(d), lcg(10, 1000));
    await dev.finish();
    await deleteObject(c, B, 'gap/f00000002-filestart');
    const r = S3Device.open(`s3:${B}/gap/`, props());
    await r.start('read');
    await expect(r.seekFile(2)).rejects.toThrow(/^seek file s3:vtapes\/gap\/ file 2: no such file \(gap\/f00000002-filestart missing\); the next file is 3$/);
    expect((await r.seekFile(3)).disk).toBe('/3');
    await r.finish();
    const blank = S3Device.open(`s3:${B}/blank/`, props());
    await expect(blank.readLabel()).rejects.toMatchObject({ status: 'VOLUME_UNLABELED', message: expect.stringMatching(/not labeled/) });
    await expect(S3Device.open('s3:no-such-bucket-9/x', props()).readLabel()).rejects.toThrow(/404 NoSuchBucket/);
    expect(() => S3Device.open(`s3:${B}/x`, props({ BLOCK_SIZE: '1MiB', S3_MULTI_PART_UPLOAD: true }))).toThrow(/at least 5 MiB/);
    expect(() => S3Device.open(`s3:${B}/x`, props({ S3_HOSTT: 'x' }))).toThrow(/S3_HOSTT: unknown property/);
  });

  it('block PUTs cut mid-way are retried; wrong credentials fail with a clear error and no secret', async () => {
    px.clear();
    px.fault({ kind: 'drop', match: /^PUT .*-b0000000000000001\.data/, after: 30_000, times: 2 });
    const dev = S3Device.open(`s3:${B}/flaky/`, props({ BLOCK_SIZE: '64KiB', RETRY_DELAY: 10 }, `127.0.0.1:${px.port}`));
    await dev.start('write', 'FL-1', '');
    const data = lcg(11, 300_000);
    await writeFile(dev, dump('/f'), data);
    await dev.finish();
    expect(px.stats.faults).toBe(2);
    expect(dev.retries).toBe(2);
    const r = S3Device.open(`s3:${B}/flaky/`, props());
    await r.start('read');
    expect((await readFile(r, 1)).data.equals(data)).toBe(true);
    await r.finish();
    const bad = S3Device.open(`s3:${B}/flaky/`, props({ S3_SECRET_KEY: 'Secret-Value-123456' }));
    const err = await bad.start('read').catch((e: Error) => e);
    expect(String(err)).toMatch(/403 .*check the credentials/);
    expect(String(err) + (err as Error).stack).not.toContain('Secret-Value-123456');
  });
});

describe('s3 device: Amanda interop', () => {
  /** Amanda's s3 device (Perl, Amanda::Xfer Source::Device) reads file `file` of the volume into a file. */
  async function amandaReads(spec: string, file: number, blockSize: number): Promise<{ meta: Record<string, unknown>; data: Buffer }> {
    const dir = mkdtempSync(join(tmpdir(), 'xfa-amanda-s3-'));
    const out = join(dir, `file${file}.data`);
    const script = new URL('./amanda-s3-read.pl', import.meta.url).pathname;
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((res) => {
      execFile('perl', [script, spec, `127.0.0.1:${s3.port}`, s3.accessKey, s3.secretKey, String(file), out, String(blockSize)], { cwd: dir, timeout: 60_000 },
        (e, stdout, stderr) => res({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, stdout, stderr }));
    });
    if (r.code !== 0 && /Can't locate Amanda/.test(r.stderr)) throw new Error('Amanda is not installed: apt-get install -y amanda-server amanda-client amanda-common');
    expect(r.stderr, r.stderr).toBe('');
    return { meta: JSON.parse(r.stdout), data: readFileSync(out) };
  }

  it('Amanda\'s own s3 device reads the label, the header and the blocks of a volume xfa wrote', async () => {
    const spec = `s3:${B}/amanda-slot1-`;
    const dev = S3Device.open(spec, props({ BLOCK_SIZE: '1MiB' }));
    await dev.start('write', 'AMANDA-01', '20240506070809');
    await writeFile(dev, dump('/etc'), lcg(12, 50_000));
    const data = lcg(13, 2 * MiB + 4321);
    await writeFile(dev, { ...dump('/home', 3) }, data);
    await dev.finish();
    const got = await amandaReads(spec, 2, MiB);
    expect(got.meta).toMatchObject({ label: 'AMANDA-01', datestamp: '20240506070809', type: 'SPLIT_FILE', name: 'client.example.com', disk: '/home', level: 0, partnum: 3, blocks: 3, bytes: data.length });
    expect(got.data.equals(data)).toBe(true);
  });

  it('… and a multipart (f%08x-mp.data) file, by ranged reads', async () => {
    const spec = `s3:${B}/amanda-mp-`;
    const dev = S3Device.open(spec, props({ BLOCK_SIZE: '5MiB', S3_MULTI_PART_UPLOAD: true }));
    await dev.start('write', 'AMANDA-MP', '20240506070809');
    const data = lcg(14, 11 * MiB + 99);
    await writeFile(dev, dump('/srv'), data);
    await dev.finish();
    expect(await listKeys(c, B, 'amanda-mp-f00000001-')).toEqual(['amanda-mp-f00000001-filestart', 'amanda-mp-f00000001-mp.data']);
    const got = await amandaReads(spec, 1, 5 * MiB);
    expect(got.meta).toMatchObject({ label: 'AMANDA-MP', disk: '/srv', bytes: data.length });
    expect(got.data.equals(data)).toBe(true);
  });
});
