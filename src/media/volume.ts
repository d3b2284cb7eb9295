/**
 * Volumes from TypeScript: what is on one (label and every file's header), label one, or ask
 * whether one is there and labeled — the same C++ devices the elements use (csrc/devices/).
 *
 * Devices are named as Amanda names them: `file:/vtapes/slot1` (a vtape directory),
 * `diskflat:/srv/vol1.img` (a volume in one file), `null:`. Device properties are Amanda's
 * (BLOCK_SIZE, MAX_VOLUME_USAGE, LEOM, ENFORCE_MAX_VOLUME_USAGE, ...), given as an object or as
 * "NAME=VALUE" strings.
 */
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

/** The label and every file's header, in order. Throws if the volume is missing or unlabeled. */
export function scanVolume(device: string, props?: DeviceProperties): VolumeContents {
  return vnative.volumeScan(device, propertyStrings(props));
}

/** Labels a volume (erasing whatever it held). `timestamp` defaults to "X". */
export function labelVolume(device: string, label: string, opts: { timestamp?: string; properties?: DeviceProperties } = {}): void {
  vnative.volumeLabel(device, label, opts.timestamp ?? '', propertyStrings(opts.properties));
}

/** Reads the label without throwing: what a changer needs to know about a slot. */
export function volumeStatus(device: string, props?: DeviceProperties): VolumeStatus {
  return vnative.volumeStatus(device, propertyStrings(props));
}
