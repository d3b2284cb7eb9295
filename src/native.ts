/**
 * The compiled addon (build/Release/xfa.node) and the shape of what it exports. Only this file
 * loads it; everything else goes through the typed wrappers in xfer.ts and registry.ts.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ElementInfo, PropValue } from './element-info.js';

export interface NativeSpec {
  name: string;
  props: Record<string, PropValue>;
  /** TypeScript elements (src/bridge.ts): the port the engine sends events to. */
  role?: string;
  window?: number;
  port?: object;
}

export interface NativeMessage {
  type: string;
  elt: string;
  index: number;
  version: number;
  [field: string]: unknown;
}

export interface NativeTransfer {
  start(): void;
  cancel(): void;
  state(): string;
  linkage(): string;
  result(index: number): Buffer | undefined;
}

export interface NativeLinkPreview {
  linkage?: string;
  cost?: { copies: number; allocs: number; threads: number; glues: number };
  error?: string;
}

export interface NativePoolStats {
  maxThreads: number;
  threads: number;
  busy: number;
  reserved: number;
  waiting: number;
  blocksAllocated: number;
  blocksOutstanding: number;
  blocksFree: number;
}

/** A channel between the transfers of a graph (csrc/core/mux_channel.h, src/graph.ts). */
export interface NativeChannel {
  readonly id: number;
  readonly kind: 'mux' | 'demux';
  readonly size: number;
  /** The transfer holding endpoint `e` (-1 trunk, k >= 0 stream/slot) is done. */
  endpointDone(e: number): void;
  /** The whole graph is being cancelled: every element on it cancels its own transfer. */
  cancel(): void;
  /** Says the graph is cancelled without waking anyone yet: mark every channel, then cancel each. */
  markCancelled(): void;
}

export interface MuxHeaderFields {
  flags: number;
  stream: number;
  length: number;
  sequence: number;
  checksum: number;
}

export interface NativeAddon {
  elements(): ElementInfo[];
  Transfer: new (
    specs: NativeSpec[],
    options: { blockSize?: number; progressMs?: number; forceGlue?: boolean; names?: string[] },
    onMessages: (batch: NativeMessage[]) => void,
  ) => NativeTransfer;
  linkPreview(specs: NativeSpec[]): NativeLinkPreview;
  gluePairs(): ElementInfo['pairs'];
  /** Tests: link raw pair tables (see csrc/core/linker.h). */
  linkTables(tables: ElementInfo['pairs'][], forceGlue?: boolean): NativeLinkPreview;
  poolStats(): NativePoolStats;
  crc32c(data: Buffer): string;
  Channel: new (kind: 'mux' | 'demux', size: number, queueBlocks?: number) => NativeChannel;
  /** Fletcher-32 as the mux packets carry it (csrc/core/fletcher32.h). */
  fletcher32(data: Buffer): number;
  /** The 32 header bytes of a multiplexed packet (csrc/core/mux_format.h). */
  muxHeader(h: Partial<MuxHeaderFields>): Buffer;
  muxHeaderParse(b: Buffer): MuxHeaderFields | { error: string };
}

function findAddon(): string {
  // src/native.ts under tsx/vitest, dist/src/native.js when compiled: walk up to the package root.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const candidate = join(dir, 'build', 'Release', 'xfa.node');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error('xfa: native addon build/Release/xfa.node not found; run `npm install` (or `npm run build:native`)');
}

export const native: NativeAddon = createRequire(import.meta.url)(findAddon()) as NativeAddon;
