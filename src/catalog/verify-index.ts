/**
 * Checking a dump's slice index (stored in the catalog by the Recorder, or rebuilt by reindex)
 * against the dump as recorded and as stored on its volumes:
 *
 *   - it decodes (deflated SliceIndex JSON), its stored data length is the dump's size;
 *   - slices are numbered in order, their native and stored ranges follow each other without
 *     gaps or overlaps and end within the dump; the stream head (if any) comes first;
 *   - every member's header lies inside the native bytes the slices cover;
 *   - unless headersOnly: the stored bytes at slice starts are what the outermost filter writes
 *     there (a zstd frame, a gzip member, a catenize marker naming that slice), read from the
 *     volumes with source-recovery — every slice when there are at most `maxProbes`, else that
 *     many spread evenly. Encrypted streams (filter-encrypt outermost) have no plain marker at a
 *     slice start: only the structure is checked, and the result says so.
 */
import { inflateRawSync } from 'node:zlib';
import type { XferMessage } from '../messages.js';
import { element } from '../registry.js';
import { parseCatenizeMarker, SliceIndex } from '../slice-index.js';
import { Xfer } from '../xfer.js';
import type { Catalog, DumpRow, PartRow } from './db.js';
import { recoveryElement } from './recovery.js';
import { SLICE_INDEX_FORMAT } from './recorder.js';

export interface IndexCheck {
  problems: string[];
  /** Slice starts read from the media and found right. */
  probed: number;
  /** Why slice starts were not probed, when they were not. */
  unprobed?: string;
}

/** Reads `size` bytes at `offset` of a dump's stream from its volumes. */
export async function readDumpRange(d: DumpRow, parts: readonly PartRow[], offset: number, size: number): Promise<Buffer> {
  const xfer = new Xfer([
    recoveryElement(d, parts, { offset, length: size }),
    element('dest-buffer', { 'max-size': Math.max(size, 1) }),
  ]);
  xfer.on('message', (_m: XferMessage) => {});
  xfer.start();
  await xfer.done;
  return xfer.result(1) ?? Buffer.alloc(0);
}

type Probe = { bytes: number; check(b: Buffer, slice: number): boolean; what: string } | string;

function probeFor(index: SliceIndex): Probe {
  const outer = index.filters[index.filters.length - 1]?.name;
  switch (outer) {
    case 'filter-zstd':
      // a data frame, or a skippable frame (the seek table ends the stream as a slice of its own)
      return { bytes: 4, what: 'a zstd frame', check: (b) => b.length === 4 && (b.readUInt32LE(0) === 0xfd2fb528 || (b.readUInt32LE(0) & 0xfffffff0) === 0x184d2a50) };
    case 'filter-gzip':
      return { bytes: 2, what: 'a gzip member', check: (b) => b[0] === 0x1f && b[1] === 0x8b };
    case 'filter-catenize':
      return { bytes: 48, what: 'a catenize marker', check: (b, slice) => parseCatenizeMarker(b)?.slice === slice };
    case undefined:
      return 'no filter stores the slices (plain tar)';
    default:
      return `${outer} writes no plain marker at a slice start`;
  }
}

function structure(index: SliceIndex, size: number): string[] {
  const problems: string[] = [];
  const data = index.data;
  if (data.dataLength !== size) problems.push(`the slice index covers ${data.dataLength} stored bytes, the dump has ${size}`);
  let stored = data.head ? data.head.offset + data.head.length : 0;
  if (data.head && data.head.offset !== 0) problems.push(`the stream head starts at ${data.head.offset}, not 0`);
  let native = 0;
  for (const [i, s] of index.slices.entries()) {
    if (i > 0 && s.slice <= index.slices[i - 1].slice) problems.push(`slice ${s.slice} follows slice ${index.slices[i - 1].slice}`);
    if (s.native.offset !== native) problems.push(`slice ${s.slice}: native bytes start at ${s.native.offset}, the previous slice ended at ${native}`);
    if (s.stored.offset !== stored) problems.push(`slice ${s.slice}: stored at ${s.stored.offset}, the previous slice ended at ${stored}`);
    native = s.native.offset + s.native.length;
    stored = s.stored.offset + s.stored.length;
    if (problems.length > 20) break;
  }
  if (stored > size) problems.push(`the slices end at stored byte ${stored}, past the dump's ${size}`);
  for (const o of index.objects) {
    if (o.headerOffset >= native) {
      problems.push(`member "${o.path}" starts at native byte ${o.headerOffset}, past the slices' ${native}`);
      break;
    }
  }
  return problems;
}

/** Checks dump `d`'s slice index; undefined when it has none. */
export async function checkSliceIndex(catalog: Catalog, d: DumpRow, opts: { headersOnly?: boolean; maxProbes?: number } = {}): Promise<IndexCheck | undefined> {
  const stored = catalog.sliceIndex(d.id);
  if (!stored) return undefined;
  if (stored.format !== SLICE_INDEX_FORMAT) return { problems: [`slice index in an unknown format "${stored.format}"`], probed: 0 };
  let index: SliceIndex;
  try {
    index = SliceIndex.fromJSON(JSON.parse(inflateRawSync(stored.data).toString('utf8')));
  } catch (e) {
    return { problems: [`the slice index does not decode: ${(e as Error).message}`], probed: 0 };
  }
  const problems = structure(index, d.size ?? 0);
  if (opts.headersOnly) return { problems, probed: 0, unprobed: 'headers only' };
  const probe = probeFor(index);
  if (typeof probe === 'string') return { problems, probed: 0, unprobed: probe };
  if (problems.length) return { problems, probed: 0, unprobed: 'the index structure is wrong' };
  const slices = index.slices.filter((s) => s.stored.length > 0);
  const max = opts.maxProbes ?? 32;
  const pick = slices.length <= max ? slices : Array.from({ length: max }, (_, i) => slices[Math.floor((i * (slices.length - 1)) / (max - 1))]);
  const parts = catalog.parts(d.id);
  let probed = 0;
  for (const s of pick) {
    let got: Buffer;
    try {
      got = await readDumpRange(d, parts, s.stored.offset, Math.min(probe.bytes, s.stored.length));
    } catch (e) {
      problems.push(`slice ${s.slice} at stored byte ${s.stored.offset}: cannot read: ${(e as Error).message}`);
      break;
    }
    if (!probe.check(got, s.slice)) problems.push(`slice ${s.slice} at stored byte ${s.stored.offset}: not ${probe.what} (${got.subarray(0, 8).toString('hex')})`);
    else probed++;
  }
  return { problems, probed };
}
