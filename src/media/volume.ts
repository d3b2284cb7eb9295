/**
 * Volumes from TypeScript: what is on one (label and every file's header), label one, or ask
 * whether one is there and labeled — the same C++ devices the elements use (csrc/devices/).
 *
 * Devices are named as Amanda names them: `file:/vtapes/slot1` (a vtape directory),
 * `diskflat:/srv/vol1.img` (a volume in one file), `null:`. Device properties are Amanda's
 * (BLOCK_SIZE, MAX_VOLUME_USAGE, LEOM, ENFORCE_MAX_VOLUME_USAGE, ...), given as an object or as
 * "NAME=VALUE" strings.
 *
 * `s3:` volumes (S3Device, behind the device bridge) cannot be read synchronously on the
 * JavaScript thread — the device waits for this very event loop — so scanVolume, labelVolume and
 * volumeStatus refuse them with an error saying so; their async variants (scanVolumeAsync,
 * labelVolumeAsync, volumeStatusAsync) work for every device, doing s3: volumes in TypeScript
 * with S3Device (properties as for the bridge: s3PropsWithEnv) and the others through the C++
 * devices.
 */
import { S3Device, s3PropsWithEnv, type S3DeviceProperties } from '../devices/s3.js';
import type { AmandaHeader } from './header.js';
import { mediaNative as vnative } from './native-media.js';

export type DeviceProperties = Record<string, string | number | boolean> | readonly string[];

export interface VolumeFile {
  /** File number on the volume, from 1. */
  file: number;
  header: AmandaHeader;
  /** The header's text as stored (up to its NUL padding). */
  text: string;
}

export interface VolumeContents {
  label: string;
  /** The label's datestamp ("X" for a volume labeled but never written). */
  datestamp: string;
  files: VolumeFile[];
}

export type VolumeStatusFlag = 'DEVICE_ERROR' | 'DEVICE_BUSY' | 'VOLUME_MISSING' | 'VOLUME_UNLABELED' | 'VOLUME_ERROR';

export interface VolumeStatus {
  /** Set when the volume is labeled. */
  label?: string;
  datestamp?: string;
  /** Amanda's device status flags; empty when the label was read. */
  status: VolumeStatusFlag[];
  /** Why the label could not be read. */
  error?: string;
}

/** Device properties as the addon takes them: ["BLOCK_SIZE=65536", ...]. */
export function propertyStrings(props: DeviceProperties | undefined): string[] {
  if (!props) return [];
  if (Array.isArray(props)) return [...(props as readonly string[])];
  return Object.entries(props).map(([k, v]) => `${k}=${String(v)}`);
}

/** True for devices implemented in TypeScript (`s3:`): only the async functions below take them. */
export function isTsDevice(device: string): boolean {
  return /^s3:/.test(device);
}

function refuseTs(fn: string, device: string): void {
  if (isTsDevice(device)) {
    throw new Error(`${fn}(${device}): an s3 volume cannot be read synchronously on the JavaScript thread (the device waits for this event loop); use ${fn}Async`);
  }
}

function propertyObject(props: DeviceProperties | undefined): S3DeviceProperties {
  const out: S3DeviceProperties = {};
  for (const kv of propertyStrings(props)) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new Error(`device property "${kv}": expected NAME=VALUE`);
    out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}

function openS3(device: string, props: DeviceProperties | undefined): S3Device {
  return S3Device.open(device, s3PropsWithEnv(propertyObject(props)));
}

/** The label and every file's header, in order. Throws if the volume is missing or unlabeled. */
export function scanVolume(device: string, props?: DeviceProperties): VolumeContents {
  refuseTs('scanVolume', device);
  return vnative.volumeScan(device, propertyStrings(props));
}

/** Labels a volume (erasing whatever it held). `timestamp` defaults to "X". */
export function labelVolume(device: string, label: string, opts: { timestamp?: string; properties?: DeviceProperties } = {}): void {
  refuseTs('labelVolume', device);
  vnative.volumeLabel(device, label, opts.timestamp ?? '', propertyStrings(opts.properties));
}

/** Reads the label without throwing: what a changer needs to know about a slot. */
export function volumeStatus(device: string, props?: DeviceProperties): VolumeStatus {
  refuseTs('volumeStatus', device);
  return vnative.volumeStatus(device, propertyStrings(props));
}

/** scanVolume for any device, s3: included. */
export async function scanVolumeAsync(device: string, props?: DeviceProperties): Promise<VolumeContents> {
  if (!isTsDevice(device)) return scanVolume(device, props);
  const dev = openS3(device, props);
  try {
    const r = await dev.scan();
    return { label: r.label, datestamp: r.datestamp, files: r.files.map((f) => ({ file: f.file, header: f.header, text: f.text })) };
  } finally {
    await dev.finish();
  }
}

/** labelVolume for any device, s3: included (erases the volume). */
export async function labelVolumeAsync(device: string, label: string, opts: { timestamp?: string; properties?: DeviceProperties } = {}): Promise<void> {
  if (!isTsDevice(device)) return labelVolume(device, label, opts);
  const dev = openS3(device, opts.properties);
  try {
    await dev.start('write', label, opts.timestamp ?? '');
  } finally {
    await dev.finish();
  }
}

/** volumeStatus for any device, s3: included. */
export async function volumeStatusAsync(device: string, props?: DeviceProperties): Promise<VolumeStatus> {
  if (!isTsDevice(device)) return volumeStatus(device, props);
  let dev: S3Device;
  try {
    dev = openS3(device, props);
  } catch (e) {
    return { status: ['DEVICE_ERROR'], error: (e as Error).message };
  }
  try {
    const { label, datestamp } = await dev.readLabel();
    return { label, datestamp, status: [] };
  } catch (e) {
    const st = (e as { status?: unknown }).status;
    return { status: [st === 'VOLUME_UNLABELED' ? 'VOLUME_UNLABELED' : 'DEVICE_ERROR'], error: (e as Error).message };
  } finally {
    await dev.finish();
  }
}
