/**
 * Selective restore from S3: the restore of src/restore/selective.ts with the stored backup in an
 * S3 object instead of a file. The slice index says which stored byte ranges hold a path; those
 * ranges are read with `source-s3 ranges=...` (ranged GETs, several in flight, in order) instead of
 * `source-ranges path=...`, and the same inverse filters and `tar -x` follow.
 *
 *     // backup: as for a file (backupWithIndex writes data + index trailer), then store the file:
 *     //   source-file path=/srv/b.xfa ! dest-s3 bucket=backups key=host/disk/0
 *     // or straight to S3 (… ! filter-zstd seekable=true ! dest-s3 …) keeping the index aside:
 *     //   const index = SliceIndex.fromMessages(specs, messages)   → a catalog; pass it as `index`
 *     const s3 = { endpoint: 'http://127.0.0.1:8080', bucket: 'backups', key: 'host/disk/0' };
 *     const r = await restorePathS3({ s3, path: 'etc/hosts', dest: '/tmp/r', with: { 'filter-decrypt': { 'key-file': k } } });
 *     r.bytesRead   // index trailer (two ranged GETs) + the stored bytes of one or two slices
 *
 * In a pipeline the same thing is just the source: the ranges come from `SliceIndex`
 * (`index.slicesForObject(index.object(path))`, plus `index.data.head` first when the chain wrote a
 * stream header) and are written OFFSET:LENGTH:
 *
 *     source-s3 bucket=backups key=host/disk/0 ranges="0:64,1048640:1310720" ! filter-decrypt key-file=k slices=3 ! filter-unzstd ! dest-process argv=tar,-xf,-
 *
 * readS3Index() reads the trailer SliceIndex.appendTo wrote (its last 32 bytes, then the rest) with
 * two ranged GETs; `index` from a catalog costs nothing.
 */
import '../../elements/source-s3.js';
import type { XferMessage } from '../messages.js';
import { element, type ElementSpec } from '../registry.js';
import { SliceIndex, SliceIndexError, type ByteRange, type ObjectEntry, type SliceEntry } from '../slice-index.js';
import { Xfer, type XferOptions } from '../xfer.js';
import { makeClient, url, type S3Options } from './client.js';
import { S3ObjectReader } from './download.js';

/** Where the backup object is, as source-s3's properties (bucket, key, endpoint, credentials...). */
export type S3Location = Omit<S3Options, 'partSize' | 'concurrency' | 'maxRetries' | 'retryDelay' | 'timeout'> & Partial<S3Options>;

export interface S3RestoreOptions {
  s3: S3Location;
  /** Directory tar extracts into. */
  dest: string;
  with?: Record<string, Record<string, unknown>>;
  /** The index, when the caller has it (a catalog); otherwise it is read from the object's trailer. */
  index?: SliceIndex;
  xfer?: XferOptions;
}

export interface S3RestoreResult {
  members: ObjectEntry[];
  slices: SliceEntry[];
  ranges: ByteRange[];
  /** Bytes fetched from S3: the ranges plus the index trailer when it was read here. */
  bytesRead: number;
  indexBytes: number;
  messages: XferMessage[];
}

const FOOT = 32;
const HEAD = 24;
const MAGIC = Buffer.from([0x89, 0x58, 0x46, 0x41, 0x49, 0x44, 0x58, 0x0a]);

/** source-s3's properties for a location (and optionally ranges). */
export function sourceS3Props(loc: S3Location, ranges?: readonly ByteRange[]): Record<string, unknown> {
  const p: Record<string, unknown> = { bucket: loc.bucket, key: loc.key };
  const set = (k: string, v: unknown) => v !== undefined && (p[k] = v);
  set('endpoint', loc.endpoint);
  set('region', loc.region);
  set('path-style', loc.pathStyle);
  set('access-key', loc.accessKey);
  set('secret-key', loc.secretKey);
  set('profile', loc.profile);
  set('part-size', loc.partSize);
  set('concurrency', loc.concurrency);
  set('max-retries', loc.maxRetries);
  set('retry-delay', loc.retryDelay);
  set('timeout', loc.timeout);
  if (ranges) p.ranges = ranges.map((r) => `${r.offset}:${r.length}`).join(',');
  return p;
}

/** The index trailer at the end of an S3 object, with two ranged GETs. */
export async function readS3Index(loc: S3Location): Promise<{ index: SliceIndex; bytesRead: number; size: number }> {
  const client = makeClient(loc);
  try {
    const r = new S3ObjectReader(client, loc);
    const { size } = await r.open(null);
    if (size < HEAD + FOOT) throw new SliceIndexError(`${url(loc)}: no index trailer (object too short)`);
    const foot = await r.read({ offset: size - FOOT, length: FOOT });
    if (!foot.subarray(24).equals(MAGIC)) throw new SliceIndexError(`${url(loc)}: no index trailer at the end`);
    const len = Number(foot.readBigUInt64LE(0));
    const dataLength = Number(foot.readBigUInt64LE(8));
    if (dataLength + HEAD + len + FOOT !== size) throw new SliceIndexError(`${url(loc)}: index trailer damaged (lengths do not add up to the object size)`);
    const rest = await r.read({ offset: dataLength, length: HEAD + len });
    return { index: SliceIndex.fromTrailer(Buffer.concat([rest, foot])), bytesRead: FOOT + rest.length, size };
  } finally {
    client.destroy();
  }
}

/** Restores one path (file, link or directory entry) from a backup stored in S3. */
export async function restorePathS3(o: S3RestoreOptions & { path: string }): Promise<S3RestoreResult> {
  const { index, indexBytes } = await indexOf(o);
  const member = index.object(o.path);
  if (!member) throw new SliceIndexError(`${o.path}: not in the backup's index (${index.objects.length} members)`);
  const members = [member];
  if (member.objectType === 'hardlink' && member.linkTarget) {
    const target = index.object(member.linkTarget);
    if (target && target.headerOffset < member.headerOffset) members.unshift(target);
  }
  const byNumber = new Map<number, SliceEntry>();
  for (const s of members.flatMap((m) => index.slicesForObject(m))) byNumber.set(s.slice, s);
  const slices = [...byNumber.values()].sort((a, b) => a.slice - b.slice);
  if (slices.length === 0) throw new SliceIndexError(`${o.path}: no slice holds its bytes (index damaged?)`);
  const ranges = [...(index.data.head ? [index.data.head] : []), ...slices.map((s) => s.stored)];
  const chain = [
    element('source-s3', sourceS3Props(o.s3, ranges)),
    ...inverse(index, o.with, slices),
    ...trim(index, members, slices),
    element('dest-process', { argv: ['tar', '-xf', '-', '-C', o.dest, '--', ...members.map((m) => m.path)] }),
  ];
  const messages = await runCollect(chain, o.xfer);
  return { members, slices, ranges, bytesRead: bytesOut(messages) + indexBytes, indexBytes, messages };
}

/** Restores the whole backup from S3 (every stored data byte; the trailer is not fed to tar). */
export async function restoreAllS3(o: S3RestoreOptions): Promise<S3RestoreResult> {
  const { index, indexBytes } = await indexOf(o);
  const ranges = index.data.dataLength > 0 ? [{ offset: 0, length: index.data.dataLength }] : [];
  const chain = [
    element('source-s3', sourceS3Props(o.s3, ranges)),
    ...inverse(index, o.with, null),
    element('dest-process', { argv: ['tar', '-xf', '-', '-C', o.dest] }),
  ];
  const messages = await runCollect(chain, o.xfer);
  return { members: [...index.objects], slices: [...index.slices], ranges, bytesRead: bytesOut(messages) + indexBytes, indexBytes, messages };
}

async function indexOf(o: S3RestoreOptions): Promise<{ index: SliceIndex; indexBytes: number }> {
  if (o.index) return { index: o.index, indexBytes: 0 };
  const { index, bytesRead } = await readS3Index(o.s3);
  return { index, indexBytes: bytesRead };
}

function inverse(index: SliceIndex, withProps: S3RestoreOptions['with'], slices: SliceEntry[] | null): ElementSpec[] {
  const extra = { ...(withProps ?? {}) };
  if (slices) extra['filter-decrypt'] = { ...(extra['filter-decrypt'] ?? {}), slices: slices.map((s) => s.slice).join(',') };
  return index.inverseFilters(extra);
}

/** As selective.ts: nothing when the slices are cut at members, else dd trims the member out. */
function trim(index: SliceIndex, members: ObjectEntry[], slices: SliceEntry[]): ElementSpec[] {
  const end = (r: ByteRange) => r.offset + r.length;
  const starts = new Set(index.objects.map((m) => m.headerOffset));
  const ends = new Set(index.objects.map((m) => end(SliceIndex.span(m))));
  const last = Math.max(0, ...ends);
  if (slices.every((s) => starts.has(s.native.offset) && (ends.has(end(s.native)) || end(s.native) >= last))) return [];
  if (members.length > 1) throw new SliceIndexError('cannot restore a hard link from slices that are not cut at members');
  const span = SliceIndex.span(members[0]);
  const skip = span.offset - slices[0].native.offset;
  return [element('filter-process', {
    argv: ['dd', 'iflag=skip_bytes,count_bytes,fullblock', `skip=${skip}`, `count=${span.length}`, 'bs=64K', 'status=none'],
  })];
}

async function runCollect(specs: ElementSpec[], opts: XferOptions = {}): Promise<XferMessage[]> {
  const x = new Xfer(specs, opts);
  const messages: XferMessage[] = [];
  x.on('message', (m: XferMessage) => messages.push(m));
  x.start();
  await x.done;
  return messages;
}

function bytesOut(messages: XferMessage[]): number {
  const s = messages.find((m) => m.type === 'stats' && m.index === 0);
  return s && s.type === 'stats' ? s.bytesOut : 0;
}
