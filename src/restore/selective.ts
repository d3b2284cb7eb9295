/**
 * Selective restore: one path out of a compressed, encrypted (or catenized) tar backup, reading
 * only the stored bytes of the slices that hold it (DESIGN.md §4).
 *
 *     // backup: tar → filter-tar-index slice-on=member → filter-zstd seekable → filter-encrypt → file
 *     const b = await backupWithIndex([source, tarIndex, zstd, encrypt, element('dest-file', { path })]);
 *     // restore: member → slices → stored ranges → source-ranges → decrypt → unzstd → tar -x
 *     const r = await restorePath({ backup: path, path: 'etc/hosts', dest: '/tmp/r', with: { 'filter-decrypt': { 'key-file': k } } });
 *     r.bytesRead  // index trailer + the frames of one or two slices
 *
 * The index comes from the trailer at the end of the backup (SliceIndex.read) or from the caller
 * (a catalog). The member's slices are read with source-ranges (the stream header too, when the
 * chain wrote one: filter-encrypt's), the inverse filters run on just those frames
 * (filter-decrypt with slices=…, filter-unzstd, filter-decatenize …), and `tar -x` gets a tar
 * stream that starts at a member header — filter-tar-index slice-on=member cuts slices there, and
 * GNU tar accepts a stream that ends at a member boundary. When slices were cut elsewhere
 * (slice-size=N), `dd` trims the native bytes to the member. A hard link brings
 * the member it links to along, so that tar can make the link.
 */
import { SliceIndex, SliceIndexError, type ByteRange, type ObjectEntry, type SliceEntry } from '../slice-index.js';
import type { XferMessage } from '../messages.js';
import { element, type ElementSpec } from '../registry.js';
import { Xfer, type XferOptions, type XferResult } from '../xfer.js';

export interface IndexedBackup {
  index: SliceIndex;
  result: XferResult;
  messages: XferMessage[];
  /** Stored data bytes (before the trailer) and the trailer's size. */
  dataBytes: number;
  trailerBytes: number;
}

/**
 * Runs a backup chain that ends in dest-file, composes its SliceIndex and appends it to the file
 * as a trailer. `inverse` names restore elements for filters xfa cannot invert by itself, by
 * chain position.
 */
export async function backupWithIndex(specs: ElementSpec[], opts: XferOptions & { inverse?: Record<number, ElementSpec> } = {}): Promise<IndexedBackup> {
  const dest = specs[specs.length - 1];
  if (dest.name !== 'dest-file') throw new SliceIndexError(`backupWithIndex needs dest-file last, not ${dest.name}`);
  const { messages, result } = await runCollect(specs, opts);
  const index = SliceIndex.fromMessages(specs, messages, { inverse: opts.inverse });
  const trailerBytes = await index.appendTo(String(dest.props.path));
  return { index, result, messages, dataBytes: index.data.dataLength, trailerBytes };
}

export interface RestoreOptions {
  /** The stored backup file (data + trailer). */
  backup: string;
  /** Directory tar extracts into. */
  dest: string;
  /** Extra properties for the inverse filters by element name (keys: { 'filter-decrypt': { 'key-file': … } }). */
  with?: Record<string, Record<string, unknown>>;
  /** The index, when the caller has it; otherwise it is read from the trailer (and counted). */
  index?: SliceIndex;
  xfer?: XferOptions;
}

export interface RestoreResult {
  members: ObjectEntry[];
  slices: SliceEntry[];
  /** The stored ranges read, in order (the stream header first when there is one). */
  ranges: ByteRange[];
  /** Bytes read from storage: the ranges plus the index trailer when it was read here. */
  bytesRead: number;
  indexBytes: number;
  linkage: string;
  messages: XferMessage[];
}

/** Restores one path (a file, link or directory entry) into `dest`. */
export async function restorePath(o: RestoreOptions & { path: string }): Promise<RestoreResult> {
  const { index, indexBytes } = await indexOf(o);
  const member = index.object(o.path);
  if (!member) throw new SliceIndexError(`${o.path}: not in the backup's index (${index.objects.length} members)`);
  const members = [member];
  if (member.objectType === 'hardlink' && member.linkTarget) {
    const target = index.object(member.linkTarget);
    if (target && target.headerOffset < member.headerOffset) members.unshift(target);
  }
  const slices = unique(members.flatMap((m) => index.slicesForObject(m)));
  if (slices.length === 0) throw new SliceIndexError(`${o.path}: no slice holds its bytes (index damaged?)`);
  const trim = trimFor(index, members, slices);
  const ranges = [...(index.data.head ? [index.data.head] : []), ...slices.map((s) => s.stored)];
  const chain = [
    element('source-ranges', { path: o.backup, ranges: ranges.map((r) => `${r.offset}:${r.length}`).join(',') }),
    ...inverseChain(index, o.with, slices),
    ...trim,
    element('dest-process', { argv: ['tar', '-xf', '-', '-C', o.dest, '--', ...members.map((m) => m.path)] }),
  ];
  const { messages, result } = await runCollect(chain, o.xfer);
  const read = bytesOut(messages, 0);
  return { members, slices, ranges, bytesRead: read + indexBytes, indexBytes, linkage: result.linkage, messages };
}

/** Restores the whole backup (every stored byte through the inverse filters into tar -x). */
export async function restoreAll(o: RestoreOptions): Promise<RestoreResult> {
  const { index, indexBytes } = await indexOf(o);
  const ranges = index.data.dataLength > 0 ? [{ offset: 0, length: index.data.dataLength }] : [];
  const chain = [
    element('source-ranges', { path: o.backup, ranges: ranges.map((r) => `${r.offset}:${r.length}`).join(',') }),
    ...inverseChain(index, o.with, null),
    element('dest-process', { argv: ['tar', '-xf', '-', '-C', o.dest] }),
  ];
  const { messages, result } = await runCollect(chain, o.xfer);
  return { members: [...index.objects], slices: [...index.slices], ranges, bytesRead: bytesOut(messages, 0) + indexBytes, indexBytes, linkage: result.linkage, messages };
}

/** The inverse filters; with a subset of slices, filter-decrypt is told which frames to expect. */
function inverseChain(index: SliceIndex, withProps: RestoreOptions['with'], slices: SliceEntry[] | null): ElementSpec[] {
  const extra = { ...(withProps ?? {}) };
  if (slices) {
    const list = slices.map((s) => s.slice).join(',');
    extra['filter-decrypt'] = { ...(extra['filter-decrypt'] ?? {}), slices: list };
  }
  return index.inverseFilters(extra);
}

/**
 * Nothing when every slice starts at a member header and ends at a member's end (slice-on=member
 * cuts so); otherwise `dd` trims the native bytes to the one member.
 */
function trimFor(index: SliceIndex, members: ObjectEntry[], slices: SliceEntry[]): ElementSpec[] {
  const starts = new Set(index.objects.map((m) => m.headerOffset));
  const ends = new Set(index.objects.map((m) => end(SliceIndex.span(m))));
  const last = Math.max(0, ...ends);
  if (slices.every((s) => starts.has(s.native.offset) && (ends.has(end(s.native)) || end(s.native) >= last))) return [];
  if (members.length > 1) throw new SliceIndexError('cannot restore a hard link from slices that are not cut at members');
  const span = SliceIndex.span(members[0]);
  const first = slices[0].native;
  // One dd reads past the bytes before the member, copies the member and stops reading: its
  // upstream then sees an early close, which filter-process reports as dd's business.
  const skip = span.offset - first.offset;
  return [element('filter-process', {
    argv: ['dd', 'iflag=skip_bytes,count_bytes,fullblock', `skip=${skip}`, `count=${span.length}`, 'bs=64K', 'status=none'],
  })];
}

const end = (r: ByteRange) => r.offset + r.length;

async function indexOf(o: RestoreOptions): Promise<{ index: SliceIndex; indexBytes: number }> {
  if (o.index) return { index: o.index, indexBytes: 0 };
  const { index, bytesRead } = await SliceIndex.read(o.backup);
  return { index, indexBytes: bytesRead };
}

function unique(slices: SliceEntry[]): SliceEntry[] {
  const by = new Map<number, SliceEntry>();
  for (const s of slices) by.set(s.slice, s);
  return [...by.values()].sort((a, b) => a.slice - b.slice);
}

function bytesOut(messages: XferMessage[], index: number): number {
  const s = messages.find((m) => m.type === 'stats' && m.index === index);
  return s && s.type === 'stats' ? s.bytesOut : 0;
}

async function runCollect(specs: ElementSpec[], opts: XferOptions = {}): Promise<{ messages: XferMessage[]; result: XferResult }> {
  const x = new Xfer(specs, opts);
  const messages: XferMessage[] = [];
  x.on('message', (m: XferMessage) => messages.push(m));
  x.start();
  const result = await x.done;
  return { messages, result };
}
