/**
 * The addon's media functions (csrc/addon/media.cc), typed. Internal: the public API is
 * header.ts and volume.ts.
 */
import { native } from '../native.js';
import type { AmandaHeader } from './header.js';
import type { VolumeContents, VolumeStatus } from './volume.js';

interface MediaNative {
  headerBuild(h: AmandaHeader, minSize?: number, maxSize?: number): Buffer;
  headerParse(b: Buffer): AmandaHeader;
  headerClassify(b: Buffer): 'empty' | 'weird' | 'amanda';
  amandaQuote(s: string): string;
  amandaUnquote(s: string): string;
  amandaSanitise(s: string): string;
  volumeScan(device: string, props?: string[]): VolumeContents;
  volumeLabel(device: string, label: string, timestamp: string, props?: string[]): void;
  volumeStatus(device: string, props?: string[]): VolumeStatus;
}

export const mediaNative = native as unknown as MediaNative;
