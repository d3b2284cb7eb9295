// The device bridge (csrc/devices/js_device.h, src/devices/bridge.ts): the C++ media elements
// driving the TypeScript s3 device on a real S3 server (Swift + s3api): dest-taper spanning two
// S3 volumes, source-recovery and source-device reading back byte for byte, a failing server,
// cancel mid-write, the JavaScript-thread rules and registration.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../src/devices/s3.js';
import { bridgedDevices, unregisterDeviceType } from '../../src/devices/bridge.js';
import { S3Device, registerS3Device } from '../../src/devices/s3.js';
import { labelVolumeAsync, scanVolume, scanVolumeAsync, volumeStatus, volumeStatusAsync } from '../../src/media/volume.js';
import { native } from '../../src/native.js';
import { openCatalog } from '../../src/catalog/db.js';
import { readPartCrc, recordTransfer } from '../../src/catalog/recorder.js';
import { Xfer } from '../../src/xfer.js';
import { element, run, runClean, waitFor } from '../helpers.js';
import { startProxy, type FaultProxy } from '../setup/fault-proxy.js';
import { MiB, createBucket, directClient, lcg, listKeys, runCleanS3 } from '../setup/s3-helpers.js';
import { startSwift, type SwiftServer } from '../setup/swift.js';

let s3: SwiftServer;
let c: S3Client;
let px: FaultProxy;
const B = 'bridge';
const KiB = 1024;
const HEADER = 'AMANDA: FILE 20260102030405 client.example.com /home lev 0 comp N program /bin/tar';
const SPLIT = 'AMANDA: SPLIT_FILE 20260102030405 client.example.com /home part 1/-1 lev 0 comp N program /bin/tar';

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

const conn = (endpoint = s3.endpoint) => [`ENDPOINT=${endpoint}`, `S3_ACCESS_KEY=${s3.accessKey}`, `S3_SECRET_KEY=${s3.secretKey}`];
const crc = (b: Buffer) => native.crc32c(b);
const msgs = (m: { type: string }[], t: string) => m.filter((x) => x.type === t) as unknown as Record<string, unknown>[];

/** No bridged device left open, no socket left behind by the transfer (the S3 clients close asynchronously). */
async function settled(): Promise<void> {
  // A device an element keeps until the transfer is collected (source-device) closes then.
  await waitFor(() => {
    (globalThis as { gc?: () => void }).gc?.();
    return bridgedDevices('s3') === 0;
  });
}

describe('device bridge: dest-taper, source-recovery, source-device on s3: volumes', () => {
  const data = lcg(7, 5 * MiB + 12345);
  const P = 'span/';
  const changer = `chg-multi:s3:${B}/${P}slot-{01,02}/`;
  const props: string[] = [];
  beforeAll(() => props.push(...conn(), 'BLOCK_SIZE=256k', 'MAX_VOLUME_USAGE=4MiB'));

  it('dest-taper writes a dump split into parts across two S3 volumes (LEOM at MAX_VOLUME_USAGE)', async () => {
    const out = await runClean([
      element('source-random', { length: data.length, seed: 7 }),
      element('dest-taper', { changer, header: SPLIT, 'part-size': 1 * MiB, 'label-template': 'BRIDGE-%%', 'device-properties': props }),
    ]);
    expect(out.error?.message).toBeUndefined();
    const parts = msgs(out.messages, 'part-done');
    expect(parts.every((p) => p.successful)).toBe(true);
    expect(new Set(parts.map((p) => p.label))).toEqual(new Set(['BRIDGE-01', 'BRIDGE-02']));
    expect(parts.reduce((a, p) => a + Number(p.size), 0)).toBe(data.length);
    expect(parts.some((p) => p.reason === 'leom')).toBe(true);
    expect(msgs(out.messages, 'crc')[0]).toMatchObject({ crc: crc(data), size: data.length });
    const keys = await listKeys(c, B, P);
    expect(keys).toContain(`${P}slot-01/special-tapestart`);
    expect(keys).toContain(`${P}slot-02/f00000001-filestart`);
    await settled();
  });

  it('source-recovery reads the dump back across both volumes, byte-identical (scan and listed parts)', async () => {
    const scan = await runClean([
      element('source-recovery', { changer, header: SPLIT, 'device-properties': props }),
      element('dest-buffer', { 'max-size': 64 * MiB }),
    ]);
    expect(scan.error?.message).toBeUndefined();
    expect(scan.xfer.result(1)!.equals(data)).toBe(true);
    expect(msgs(scan.messages, 'crc')[0]).toMatchObject({ crc: crc(data), size: data.length });
    // Listed: LABEL:FILE:SIZE, with a byte range that starts in the middle of part 2.
    const dev = S3Device.open(`s3:${B}/${P}slot-02/`, { ENDPOINT: s3.endpoint, S3_ACCESS_KEY: s3.accessKey, S3_SECRET_KEY: s3.secretKey });
    const v2 = await dev.scan();
    await dev.finish();
    expect(v2.label).toBe('BRIDGE-02');
    const parts = msgs(scan.messages, 'part-done').map((p) => `${p.label}:${p.fileno}:${p.size}`);
    const off = 1 * MiB + 1000;
    const ranged = await runClean([
      element('source-recovery', { changer, header: SPLIT, parts, offset: off, size: 3 * MiB, 'device-properties': props }),
      element('dest-buffer', { 'max-size': 64 * MiB }),
    ]);
    expect(ranged.error?.message).toBeUndefined();
    expect(ranged.xfer.result(1)!.equals(data.subarray(off, off + 3 * MiB))).toBe(true);
    await settled();
  });

  it('source-device reads one part of a dump on S3', async () => {
    const out = await runClean([
      element('source-device', { device: `s3:${B}/${P}slot-01/`, file: 2, label: 'BRIDGE-01', 'device-properties': props }),
      element('dest-buffer', { 'max-size': 64 * MiB }),
    ]);
    expect(out.error?.message).toBeUndefined();
    expect(out.xfer.result(1)!.equals(data.subarray(1 * MiB, 2 * MiB))).toBe(true);
    const info = msgs(out.messages, 'info').find((m) => m.file === 2)!;
    expect(String(info.header)).toMatch(/^AMANDA: SPLIT_FILE 20260102030405 client.example.com \/home +part 2\/-1/);
  });
});


describe('device bridge: failures, cancel', () => {
  it('a failing S3 server: the error names the element, the device operation, the code and the S3 cause; the partial file is removed', async () => {
    px.clear();
    px.fault({ kind: 'drop', direction: 'up', match: /^PUT .*f00000001-b0000000000000002\.data/, after: 0, times: Infinity });
    const P = 'fail/slot-01/';
    const t0 = Date.now();
    const out = await runCleanS3(px, [
      element('source-random', { length: 3 * MiB, seed: 3 }),
      element('dest-taper', {
        changer: `s3:${B}/${P}`, header: SPLIT, 'label-template': 'FAIL-01', 'part-size': 0,
        'device-properties': [...conn(px.endpoint), 'BLOCK_SIZE=256k', 'MAX_RETRIES=1', 'RETRY_DELAY=10'],
      }),
    ]);
    px.clear();
    expect(Date.now() - t0).toBeLessThan(20_000);
    const msg = out.error?.message ?? '';
    expect(msg).toMatch(/^dest-taper#2: (write_block|finish_file) s3:bridge\/fail\/slot-01\/: EIO: /);
    expect(msg).toContain('f00000001-b0000000000000002.data');
    expect(out.messages.find((m) => m.type === 'error')).toMatchObject({ elt: 'dest-taper#2', code: 'EIO' });
    expect(msgs(out.messages, 'part-done')).toMatchObject([{ successful: false, reason: 'error' }]);
    // abort_file removed what of file 1 was stored; the label stays.
    expect(await listKeys(c, B, P)).toEqual([`${P}special-tapestart`]);
  });

  it('cancel while write_block waits for S3 (uploads stalled): no hang, nothing left behind, the partial file removed', async () => {
    px.clear();
    px.fault({ kind: 'stall', direction: 'up', match: /^PUT .*\.data/, after: 1000, times: Infinity });
    const P = 'cancel/slot-01/';
    const t0 = Date.now();
    const out = await runCleanS3(px, [
      element('source-random', { length: 0, seed: 4 }),
      element('dest-taper', {
        changer: `s3:${B}/${P}`, header: SPLIT, 'label-template': 'CANCEL-01',
        'device-properties': [...conn(px.endpoint), 'BLOCK_SIZE=64k', 'NB_THREADS_BACKUP=2', 'TIMEOUT=60000'],
      }),
    ], {
      during: (x) => {
        void waitFor(() => px.stats.faults >= 2, 20_000).then(() => setTimeout(() => x.cancel(), 100));
      },
    });
    px.clear();
    expect(Date.now() - t0).toBeLessThan(15_000); // the stalled PUTs (60 s timeout) were cut short
    expect(out.error?.cancelled).toBe(true);
    expect(msgs(out.messages, 'error')).toEqual([]);
    expect(msgs(out.messages, 'part-done')).toMatchObject([{ successful: false, reason: 'cancelled' }]);
    expect(await listKeys(c, B, P)).toEqual([`${P}special-tapestart`]);
    await settled();
  });

  it('source-device: a missing file is an error naming the device and file; a wrong label too', async () => {
    const props = [...conn(), 'BLOCK_SIZE=256k'];
    const missing = await runClean([element('source-device', { device: `s3:${B}/span/slot-01/`, file: 9, 'device-properties': props }), element('dest-null', {})]);
    expect(missing.error?.message).toMatch(/^source-device#1: seek_file 9 s3:bridge\/span\/slot-01\/: no file 9 of volume BRIDGE-01: the volume ends before it/);
    const label = await runClean([element('source-device', { device: `s3:${B}/span/slot-01/`, file: 1, label: 'OTHER', 'device-properties': props }), element('dest-null', {})]);
    expect(label.error?.message).toMatch(/the volume is labeled "BRIDGE-01", not "OTHER"/);
    const blank = await runClean([element('source-device', { device: `s3:${B}/nothing/`, file: 1, 'device-properties': props }), element('dest-null', {})]);
    expect(blank.error?.message).toMatch(/^source-device#1: start s3:bridge\/nothing\/: EIO: input\/output error: read label s3:bridge\/nothing\/: no special-tapestart/);
  });
});

describe('device bridge: registration, properties, the JavaScript thread', () => {
  it('an s3: device without the registration: a clear error naming the device and what is missing', async () => {
    unregisterDeviceType('s3');
    try {
      expect(() => element('source-device', { device: `s3:${B}/span/slot-01/`, file: 1 })).not.toThrow();
      const out = await run([element('source-device', { device: `s3:${B}/span/slot-01/`, file: 1 }), element('dest-null', {})]).catch((e: Error) => ({ error: e }));
      expect(String(out.error?.message)).toMatch(/open device "s3:bridge\/span\/slot-01\/": the s3 device is written in TypeScript \(src\/devices\/s3.ts\) and is not registered in this process: import 'xfa'/);
    } finally {
      registerS3Device();
    }
  });

  it('bad device properties are refused when the element is made (the device opens in TypeScript)', () => {
    expect(() => element('dest-device', { device: `s3:${B}/x/`, header: HEADER, 'device-properties': ['S3_BOGUS=1'] }).toString()).not.toThrow();
    return run([element('source-random', { length: 10, seed: 1 }), element('dest-device', { device: `s3:${B}/x/`, header: HEADER, 'device-properties': ['S3_BOGUS=1'] })])
      .then((o) => expect(o.error?.message).toMatch(/S3_BOGUS: unknown property of the s3 device/), (e: Error) => expect(e.message).toMatch(/S3_BOGUS: unknown property of the s3 device/));
  });

  it('credentials and endpoint from the environment (S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY) when the properties leave them out', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, { S3_ENDPOINT: s3.endpoint, S3_ACCESS_KEY: s3.accessKey, S3_SECRET_KEY: s3.secretKey });
    try {
      const data = lcg(11, 300 * KiB + 7);
      const w = await runClean([
        element('source-random', { length: data.length, seed: 11 }),
        element('dest-device', { device: `s3:${B}/env/`, mode: 'write', label: 'ENV-01', header: HEADER, 'device-properties': ['BLOCK_SIZE=64k'] }),
      ]);
      expect(w.error?.message).toBeUndefined();
      expect(msgs(w.messages, 'part-done')).toMatchObject([{ successful: true, fileno: 1, size: data.length }]);
      const r = await runClean([element('source-device', { device: `s3:${B}/env/`, file: 1, header: 'keep', 'device-properties': ['BLOCK_SIZE=64k'] }), element('dest-buffer', { 'max-size': 4 * MiB })]);
      expect(r.error?.message).toBeUndefined();
      const got = r.xfer.result(1)!;
      // header=keep: the header as the s3 device stores it (compact text, its own object), then the data.
      const text = got.subarray(0, got.length - data.length).toString();
      expect(text).toMatch(/^AMANDA: FILE 20260102030405 client.example.com \/home +lev 0 comp N program \/bin\/tar\n/);
      expect(got.subarray(got.length - data.length).equals(data)).toBe(true);
    } finally {
      process.env = saved;
    }
  });

  it('scanVolume/labelVolume/volumeStatus refuse s3: on the JavaScript thread; their async variants work', async () => {
    const props = { ENDPOINT: s3.endpoint, S3_ACCESS_KEY: s3.accessKey, S3_SECRET_KEY: s3.secretKey };
    expect(() => scanVolume(`s3:${B}/span/slot-01/`, props)).toThrow(/scanVolume\(s3:bridge\/span\/slot-01\/\): an s3 volume cannot be read synchronously on the JavaScript thread .*use scanVolumeAsync/);
    expect(() => volumeStatus(`s3:${B}/span/slot-01/`, props)).toThrow(/use volumeStatusAsync/);
    const v = await scanVolumeAsync(`s3:${B}/span/slot-01/`, props);
    expect(v.label).toBe('BRIDGE-01');
    expect(v.files.map((f) => [f.file, f.header.partnum])).toEqual(v.files.map((_, i) => [i + 1, i + 1]));
    await labelVolumeAsync(`s3:${B}/labeled/`, 'LAB-01', { timestamp: '20260101000000', properties: props });
    expect(await volumeStatusAsync(`s3:${B}/labeled/`, props)).toEqual({ label: 'LAB-01', datestamp: '20260101000000', status: [] });
    expect(await volumeStatusAsync(`s3:${B}/blank/`, props)).toMatchObject({ status: ['VOLUME_UNLABELED'] });
    // The C++ functions themselves, called directly, refuse rather than deadlock (EDEADLK).
    const media = native as unknown as { volumeScan(d: string, p: string[]): unknown };
    expect(() => media.volumeScan(`s3:${B}/span/slot-01/`, conn())).toThrow(/^start s3:bridge\/span\/slot-01\/: EDEADLK: .*: the s3 device is TypeScript \(behind the device bridge\) and cannot be called on the JavaScript thread/);
  });
});

describe('device bridge: the catalog on S3 parts, unchanged', () => {
  it('recordTransfer of a dest-taper dump to S3 reads every part back (Recorder / source-recovery) and records it ok; readPartCrc reads one part', async () => {
    const saved = { ...process.env };
    // The Recorder's read-back (source-recovery) gets no device properties: the connection comes from the environment.
    Object.assign(process.env, { S3_ENDPOINT: s3.endpoint, S3_ACCESS_KEY: s3.accessKey, S3_SECRET_KEY: s3.secretKey });
    const root = mkdtempSync(join(tmpdir(), 'xfa-bridge-rec-'));
    const cat = openCatalog(join(root, 'catalog.db'));
    try {
      const data = lcg(21, 3 * MiB + 99);
      const xfer = new Xfer([
        element('source-random', { length: data.length, seed: 21 }),
        element('dest-taper', {
          changer: `chg-multi:s3:${B}/rec/slot-{01,02}/`, header: SPLIT, 'part-size': 1 * MiB, 'label-template': 'REC-%%',
          'device-properties': ['BLOCK_SIZE=256k', 'MAX_VOLUME_USAGE=3MiB'],
        }),
      ]);
      const r = await recordTransfer(cat, xfer, { host: 'client.example.com', disk: '/home', level: 0, datestamp: '20260102030405', program: '/bin/tar' }, {
        deviceOf: (m) => (m.slot ? `s3:${B}/rec/slot-0${m.slot}/` : undefined),
      });
      expect(r.error?.message).toBeUndefined();
      expect(cat.dump(r.dumpId)).toMatchObject({ status: 'ok', crc: crc(data), size: data.length });
      const parts = cat.parts(r.dumpId);
      expect(new Set(parts.map((p) => p.label))).toEqual(new Set(['REC-01', 'REC-02']));
      expect(parts.every((p) => p.crc && p.device?.startsWith('s3:'))).toBe(true);
      const p2 = parts.find((p) => p.partnum === 2)!;
      expect(await readPartCrc(p2.device!, p2.fileno, p2.label)).toEqual({ crc: p2.crc, size: p2.size });
    } finally {
      cat.close();
      rmSync(root, { recursive: true, force: true });
      process.env = saved;
    }
  });
});
