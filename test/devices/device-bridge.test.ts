// The device bridge (csrc/devices/js_device.h, src/devices/bridge.ts): the C++ media elements
// driving the TypeScript s3 device on a real S3 server (Swift + s3api): dest-taper spanning two
// S3 volumes, source-recovery and source-device reading back byte for byte, a failing server,
// cancel mid-write, the JavaScript-thread rules and registration.
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../src/devices/s3.js';
import { bridgedDevices, registerDeviceType, unregisterDeviceType } from '../../src/devices/bridge.js';
import { S3Device, registerS3Device } from '../../src/devices/s3.js';
import { labelVolumeAsync, scanVolume, scanVolumeAsync, volumeStatus, volumeStatusAsync } from '../../src/media/volume.js';
import { native } from '../../src/native.js';
import { element, run, runClean, waitFor } from '../helpers.js';
import { startProxy, type FaultProxy } from '../setup/fault-proxy.js';
import { MiB, createBucket, directClient, lcg, listKeys } from '../setup/s3-helpers.js';
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

  it('source-device reads one part; header=keep sends the stored (compact) header first', async () => {
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
