// source-s3 against a real S3 server (Swift + s3api, started here): whole objects and byte ranges
// with several ranged GETs in flight delivered in order, ETag (MD5) verification that catches
// damaged storage, retries through a fault-injecting proxy, If-Match against a replaced object,
// cancel, clear errors — and the selective restore of a tar member from a backup stored in S3.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../elements/dest-s3.js';
import '../../elements/source-s3.js';
import type { XferMessage } from '../../src/messages.js';
import { backupWithIndex, type IndexedBackup } from '../../src/restore/selective.js';
import { SliceIndex } from '../../src/slice-index.js';
import { makeClient } from '../../src/s3/client.js';
import { S3ObjectReader } from '../../src/s3/download.js';
import { readS3Index, restoreAllS3, restorePathS3, sourceS3Props } from '../../src/s3/restore.js';
import { element, expectClean, openFds, run, runClean, snapshot, types, waitFor } from '../helpers.js';
import { startProxy, type FaultProxy } from '../setup/fault-proxy.js';
import { MiB, allText, createBucket, directClient, infos, lcg, putObject, s3props } from '../setup/s3-helpers.js';
import { startSwift, type SwiftServer } from '../setup/swift.js';
import { makeTree, tar } from '../tar-tree.js';
import { engineStats } from '../../src/xfer.js';
import type { ElementSpec } from '../../src/registry.js';

let s3: SwiftServer;
let c: S3Client;
let px: FaultProxy;
const B = 'source-s3-test';
const MULTI = 23 * MiB + 11; // written by dest-s3 in 5 MiB parts
let multiBytes: Buffer;
const SINGLE = 3 * MiB + 7;   // one PutObject

beforeAll(async () => {
  s3 = await startSwift();
  c = directClient(s3);
  await createBucket(c, B);
  px = await startProxy(s3.port);
  const up = await run([element('source-random', { length: MULTI, seed: 31 }), element('dest-s3', s3props(s3, B, 'multi', { 'part-size': '5MiB' }))]);
  expect(up.error).toBeUndefined();
  multiBytes = lcg(31, MULTI);
  await putObject(c, B, 'single', lcg(32, SINGLE));
});
afterAll(async () => {
  c?.destroy();
  await px?.close();
  await s3?.stop();
});

const readInfo = (messages: XferMessage[]) => infos(messages, 'source-s3#1').find((m) => m.startsWith('read '));
const retries = (messages: XferMessage[]) => infos(messages, 'source-s3#1').filter((m) => m.startsWith('retry: '));
const sourceBytes = (messages: XferMessage[]) => {
  const s = messages.find((m) => m.type === 'stats' && m.index === 0);
  return s?.type === 'stats' ? s.bytesOut : -1;
};

/** runClean that first waits for the proxy's sockets (this process's too) to close. */
async function runCleanS3(specs: ElementSpec[], opts: Parameters<typeof run>[1] = {}): ReturnType<typeof run> {
  const before = snapshot();
  const out = await run(specs, opts);
  await waitFor(() => px.open() === 0 && engineStats().reserved === 0);
  const newSockets = () => [...openFds()].filter(([fd, t]) => before.fds.get(fd) !== t && t.startsWith('socket:')).length;
  await waitFor(() => newSockets() === 0, 2000).catch(() => undefined);
  expectClean(before);
  return out;
}

describe('source-s3: whole objects', () => {
  it('a multipart object comes back byte-identical with 4 ranged GETs in flight, checked against its ETag', async () => {
    const { result, messages } = await runClean([element('source-s3', s3props(s3, B, 'multi', { 'part-size': '5MiB', concurrency: 4, verify: true })), element('dest-null', { seed: 31 })]);
    expect(result).toBeDefined();
    expect(messages.find((m) => m.type === 'crc' && m.elt === 'dest-null#2')).toMatchObject({ size: MULTI });
    expect(readInfo(messages)).toBe(`read ${MULTI} bytes of s3://${B}/multi (whole object; 5 GETs, up to 4 in flight, 0 retries)`);
    expect(sourceBytes(messages)).toBe(MULTI);
  });

  it('a single-part object with the default piece size, concurrency 1', async () => {
    const { messages } = await runClean([element('source-s3', s3props(s3, B, 'single', { concurrency: 1 })), element('dest-null', { seed: 32 })]);
    expect(messages.find((m) => m.type === 'crc' && m.elt === 'dest-null#2')).toMatchObject({ size: SINGLE });
    expect(readInfo(messages)).toMatch(/1 GET, up to 1 in flight/);
  });

  it('damaged storage is caught with verify=true: the MD5 of what was read is not the ETag (the default lets it through)', async () => {
    const size = 11 * MiB + 333;
    await putObject(c, B, 'damaged', lcg(33, size));
    // Flip one byte in the object file Swift keeps on disk (found by its size). Pieces of 5 MiB:
    // Swift checks an object's MD5 itself only when one GET reads all of it.
    const find = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? find(join(d, e.name)) : e.name.endsWith('.data') && statSync(join(d, e.name)).size === size ? [join(d, e.name)] : []);
    const [file] = find(join(s3.dir, 'srv'));
    expect(file).toBeDefined();
    const bytes = readFileSync(file);
    bytes[6 * MiB] ^= 0x20;
    writeFileSync(file, bytes);
    const { error } = await runClean([element('source-s3', s3props(s3, B, 'damaged', { 'part-size': '5MiB', verify: true })), element('dest-null')]);
    expect(error?.message).toMatch(/^source-s3#1: verify s3:\/\/source-s3-test\/damaged: MD5 [0-9a-f]{32} of the bytes read is not the ETag [0-9a-f]{32}$/);
    const r = await runClean([element('source-s3', s3props(s3, B, 'damaged', { 'part-size': '5MiB' })), element('dest-buffer', { 'max-size': '12MiB' })]);
    expect(r.error).toBeUndefined();
    expect(r.xfer.result(1)?.equals(bytes)).toBe(true);
  });

  it('a damaged part of a multipart object is caught too (MD5 of the part MD5s, with the part size dest-s3 recorded)', async () => {
    const size = 13 * MiB;
    const up = await run([element('source-random', { length: size, seed: 36 }), element('dest-s3', s3props(s3, B, 'damaged-mp', { 'part-size': '6MiB' }))]);
    expect(up.error).toBeUndefined();
    const good = await runClean([element('source-s3', s3props(s3, B, 'damaged-mp', { 'part-size': '5MiB', verify: true })), element('dest-null', { seed: 36 })]);
    expect(good.error).toBeUndefined();
    const find = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? find(join(d, e.name)) : e.name.endsWith('.data') && statSync(join(d, e.name)).size === 6 * MiB ? [join(d, e.name)] : []);
    const parts = find(join(s3.dir, 'srv'));
    expect(parts).toHaveLength(2);
    const bytes = readFileSync(parts[1]);
    bytes[12345] ^= 0x01;
    writeFileSync(parts[1], bytes);
    const { error } = await runClean([element('source-s3', s3props(s3, B, 'damaged-mp', { 'part-size': '5MiB', verify: true })), element('dest-null')]);
    expect(error?.message).toMatch(/^source-s3#1: verify s3:\/\/source-s3-test\/damaged-mp: the MD5s of the 3 parts read do not give the ETag [0-9a-f]{32}-3$/);
  });

  it('a multipart object from another writer (no recorded part size; Swift has no ?partNumber): read, and said to be unchecked', async () => {
    const up = new Upload({ client: c, params: { Bucket: B, Key: 'foreign-mp', Body: lcg(37, 11 * MiB) }, partSize: 5 * MiB, queueSize: 2 });
    await up.done();
    const { error, messages } = await runClean([element('source-s3', s3props(s3, B, 'foreign-mp', { verify: true })), element('dest-null', { seed: 37 })]);
    expect(error).toBeUndefined();
    expect(infos(messages, 'source-s3#1')).toContain('verify s3://source-s3-test/foreign-mp: the server does not tell part sizes, the multipart ETag was not checked');
  });

  it('a key that does not exist, and a bucket that does not exist: 404 at once', async () => {
    const a = await runClean([element('source-s3', s3props(s3, B, 'nope')), element('dest-null')]);
    expect(a.error?.message).toBe('source-s3#1: head s3://source-s3-test/nope: 404 NotFound');
    const b = await runClean([element('source-s3', s3props(s3, 'no-such-bucket-x', 'k')), element('dest-null')]);
    expect(b.error?.message).toMatch(/^source-s3#1: head s3:\/\/no-such-bucket-x\/k: 404 /);
    expect(retries(a.messages)).toEqual([]);
  });

  it('wrong credentials: 403 with a hint, and the secret nowhere', async () => {
    const secret = 'n0t-the-Right-secret/abc';
    const { error, messages } = await runClean([element('source-s3', { ...s3props(s3, B, 'multi'), 'secret-key': secret }), element('dest-null')]);
    expect(error?.message).toMatch(/^source-s3#1: head s3:\/\/source-s3-test\/multi: 403 .*\(check the credentials/);
    expect(allText(messages, error)).not.toContain(secret);
  });
});

describe('source-s3: ranges', () => {
  it('reads exactly the given ranges, in the order given, across part and piece boundaries', async () => {
    const ranges = [[20 * MiB, 3 * MiB], [0, 10], [5 * MiB - 3, 6], [MULTI - 1, 1], [1000, 7 * MiB]];
    const { messages, xfer } = await runClean([
      element('source-s3', s3props(s3, B, 'multi', { 'part-size': '5MiB', ranges: ranges.map(([o, l]) => `${o}:${l}`).join(',') })),
      element('dest-buffer', { 'max-size': '16MiB' }),
    ]);
    const want = Buffer.concat(ranges.map(([o, l]) => multiBytes.subarray(o, o + l)));
    expect(xfer.result(1)?.equals(want)).toBe(true);
    expect(sourceBytes(messages)).toBe(want.length);
    expect(readInfo(messages)).toMatch(/\(5 ranges; 6 GETs,/); // the 7 MiB range is two pieces
  });

  it('a range past the end fails before any byte moves; bad syntax is refused', async () => {
    const a = await runClean([element('source-s3', s3props(s3, B, 'multi', { ranges: `0:10,${MULTI - 5}:6` })), element('dest-null')]);
    expect(a.error?.message).toBe(`source-s3#1: range 1 (${MULTI - 5}:6): extends past the end of s3://source-s3-test/multi (${MULTI} bytes)`);
    expect(sourceBytes(a.messages)).toBe(0);
    const b = await runClean([element('source-s3', s3props(s3, B, 'multi', { ranges: '0:10,12-40' })), element('dest-null')]);
    expect(b.error?.message).toBe('source-s3#1: ranges: "12-40" is not OFFSET:LENGTH');
    const e = await runClean([element('source-s3', s3props(s3, B, 'multi', { ranges: '5:0' })), element('dest-null')]);
    expect(e.error?.message).toBe('source-s3#1: ranges: "5:0" is empty');
  });
});

describe('source-s3: faults (through a TCP proxy)', () => {
  const viaProxy = (key: string, extra: Record<string, unknown> = {}) =>
    element('source-s3', s3props(s3, B, key, { 'part-size': '5MiB', 'retry-delay': '20ms', ...extra }, px.endpoint));

  it('responses cut mid-body are fetched again; the bytes stay identical and in order', async () => {
    px.clear();
    px.fault({ kind: 'drop', direction: 'down', match: /^GET .* HTTP/, after: MiB, times: 3 });
    const { messages } = await runCleanS3([viaProxy('multi'), element('dest-null', { seed: 31 })]);
    expect(px.stats.faults).toBe(3);
    expect(retries(messages)).toHaveLength(3);
    expect(retries(messages)[0]).toMatch(/^retry: get s3:\/\/source-s3-test\/multi bytes \d+-\d+: /);
    expect(messages.find((m) => m.type === 'crc' && m.elt === 'dest-null#2')).toMatchObject({ size: MULTI });
  });

  it('a stalled response is dropped after `timeout` of silence and fetched again', async () => {
    px.clear();
    px.fault({ kind: 'stall', direction: 'down', match: /^GET /, after: 512 * 1024, times: 1 });
    const { messages } = await runCleanS3([viaProxy('multi', { timeout: '1s' }), element('dest-null', { seed: 31 })]);
    expect(retries(messages).join('\n')).toMatch(/timed out after 1000 ms/);
    expect(messages.find((m) => m.type === 'crc' && m.elt === 'dest-null#2')).toMatchObject({ size: MULTI });
  });

  it('503 SlowDown on GETs is retried; a GET that keeps failing fails the transfer after max-retries', async () => {
    px.clear();
    px.fault({ kind: 'slowdown', match: /^GET /, times: 2 });
    const ok = await runCleanS3([viaProxy('single'), element('dest-null', { seed: 32 })]);
    expect(ok.error).toBeUndefined();
    expect(retries(ok.messages).every((m) => m.includes('503 SlowDown'))).toBe(true);
    expect(retries(ok.messages)).toHaveLength(2);
    px.clear();
    px.fault({ kind: 'drop', direction: 'down', match: /^GET /, after: 100, times: Infinity });
    const bad = await runCleanS3([viaProxy('single', { 'max-retries': 2 }), element('dest-null')]);
    px.clear();
    expect(bad.error?.message).toMatch(/^source-s3#1: get s3:\/\/source-s3-test\/single bytes 0-3145734: .*\(gave up after 3 attempts\)$/);
    expect(types(bad.messages)).toEqual(['error', 'cancel', 'done']);
  });

  it('cancel while GETs hang: the transfer ends at once and no socket is left', async () => {
    px.clear();
    px.fault({ kind: 'stall', direction: 'down', match: /^GET /, after: 1000, times: Infinity });
    const t0 = Date.now();
    const { error, messages } = await runCleanS3([viaProxy('multi', { timeout: '30s' }), element('dest-null')], { during: (x) => setTimeout(() => x.cancel(), 300) });
    px.clear();
    expect(error?.cancelled).toBe(true);
    expect(types(messages)).toEqual(['cancel', 'done']);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('an object replaced while it is read fails with 412 instead of mixing versions (If-Match)', async () => {
    await putObject(c, B, 'replaced', lcg(34, 16 * MiB));
    const o = { endpoint: s3.endpoint, bucket: B, key: 'replaced', accessKey: s3.accessKey, secretKey: s3.secretKey, partSize: 5 * MiB, concurrency: 1 };
    const client = makeClient(o);
    try {
      const r = new S3ObjectReader(client, o);
      await r.open(null);
      const it = r.pieces();
      expect((await it.next()).value?.length).toBe(5 * MiB);
      await putObject(c, B, 'replaced', lcg(35, 16 * MiB));
      // The next piece may already be on its way; a GET sent after the replacement gets 412.
      const rest = async () => {
        for (let n = 1; ; n++) if ((await it.next()).done) return n;
      };
      await expect(rest()).rejects.toThrow(/^the object changed while it was read \(ETag no longer [0-9a-f]{32}\)$/);
    } finally {
      client.destroy();
    }
  });
});

describe('source-s3: selective restore of a backup stored in S3', () => {
  let dir: string;
  let files: string[];
  let b: IndexedBackup;
  let backupSize: number;
  let keyFile: string;
  const loc = () => ({ endpoint: s3.endpoint, bucket: B, key: 'backups/data.xfa', accessKey: s3.accessKey, secretKey: s3.secretKey, partSize: 5 * MiB });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'xfa-s3-restore-'));
    files = makeTree(dir, 'data', { files: 160, seed: 41, maxSize: 60_000, longNames: false, links: false });
    tar(['-cf', join(dir, 'data.tar'), 'data'], { cwd: dir });
    keyFile = join(dir, 'k');
    writeFileSync(keyFile, randomBytes(32).toString('hex'));
    const file = join(dir, 'backup.xfa');
    b = await backupWithIndex([
      element('source-file', { path: join(dir, 'data.tar') }), element('filter-tar-index', { 'slice-on': 'member', 'min-slice': 128 * 1024 }),
      element('filter-zstd', { seekable: true }), element('filter-encrypt', { 'key-file': keyFile }), element('dest-file', { path: file, sync: false }),
    ]);
    backupSize = statSync(file).size;
    const up = await run([element('source-file', { path: file }), element('dest-s3', s3props(s3, B, 'backups/data.xfa', { 'part-size': '5MiB' }))]);
    expect(up.error).toBeUndefined();
  });

  it('restores one member reading only the index trailer and its slices with ranged GETs', async () => {
    const want = files[80];
    const dest = join(dir, 'r1');
    mkdirSync(dest);
    const r = await restorePathS3({ s3: loc(), path: want, dest, with: { 'filter-decrypt': { 'key-file': keyFile } } });
    expect(readFileSync(join(dest, want)).equals(readFileSync(join(dir, want)))).toBe(true);
    expect(r.indexBytes).toBe(backupSize - b.dataBytes);
    expect(r.bytesRead).toBe(r.ranges.reduce((a, x) => a + x.length, 0) + r.indexBytes);
    expect(r.slices.length).toBeLessThanOrEqual(2);
    expect(r.bytesRead).toBeLessThan(backupSize / 5);
    expect(infos(r.messages, 'source-s3#1')[0]).toMatch(new RegExp(`^read ${r.bytesRead - r.indexBytes} bytes of s3://source-s3-test/backups/data.xfa \\(${r.ranges.length} ranges;`));
  });

  it('the index trailer read from S3 is the index the backup made; a catalog index costs no read', async () => {
    const { index, bytesRead } = await readS3Index(loc());
    expect(bytesRead).toBe(backupSize - b.dataBytes);
    expect(JSON.stringify(index.toJSON())).toBe(JSON.stringify(b.index.toJSON()));
    const dest = join(dir, 'r2');
    mkdirSync(dest);
    const r = await restorePathS3({ s3: loc(), path: files[3], dest, index: b.index, with: { 'filter-decrypt': { 'key-file': keyFile } } });
    expect(r.indexBytes).toBe(0);
    expect(readFileSync(join(dest, files[3])).equals(readFileSync(join(dir, files[3])))).toBe(true);
  });

  it('the same restore as a plain chain: source-s3 ranges=… ! filter-decrypt slices=… ! filter-unzstd ! tar -x', async () => {
    const want = files[120];
    const slices = b.index.slicesForObject(b.index.object(want)!);
    const ranges = [b.index.data.head!, ...slices.map((s) => s.stored)];
    const dest = join(dir, 'r3');
    mkdirSync(dest);
    const { error } = await runClean([
      element('source-s3', sourceS3Props(loc(), ranges)),
      element('filter-decrypt', { 'key-file': keyFile, slices: slices.map((s) => s.slice).join(',') }),
      element('filter-unzstd'),
      element('dest-process', { argv: ['tar', '-xf', '-', '-C', dest, want] }),
    ]);
    expect(error).toBeUndefined();
    expect(readFileSync(join(dest, want)).equals(readFileSync(join(dir, want)))).toBe(true);
  });

  it('a backup written straight to S3 (dest-s3) with its index kept aside (a catalog) restores the same way', async () => {
    const specs = [
      element('source-file', { path: join(dir, 'data.tar') }), element('filter-tar-index', { 'slice-on': 'member', 'min-slice': 128 * 1024 }),
      element('filter-zstd', { seekable: true }), element('dest-s3', s3props(s3, B, 'backups/direct.zst', { 'part-size': '5MiB' })),
    ];
    const messages: XferMessage[] = [];
    const up = await run(specs);
    expect(up.error).toBeUndefined();
    messages.push(...up.messages);
    const index = SliceIndex.fromMessages(specs, messages);
    expect(index.slices.length).toBeGreaterThan(5);
    const want = files[42];
    const dest = join(dir, 'r5');
    mkdirSync(dest);
    const r = await restorePathS3({ s3: { ...loc(), key: 'backups/direct.zst' }, path: want, dest, index });
    expect(readFileSync(join(dest, want)).equals(readFileSync(join(dir, want)))).toBe(true);
    expect(r.indexBytes).toBe(0);
    expect(r.bytesRead).toBeLessThan(index.data.dataLength / 4);
  });

  it('a full restore from S3 gives the whole tree', async () => {
    const dest = join(dir, 'r4');
    mkdirSync(dest);
    const r = await restoreAllS3({ s3: loc(), dest, with: { 'filter-decrypt': { 'key-file': keyFile } } });
    expect(r.bytesRead).toBe(backupSize);
    for (const f of [files[0], files[77], files[159]]) expect(readFileSync(join(dest, f)).equals(readFileSync(join(dir, f)))).toBe(true);
  });
});
