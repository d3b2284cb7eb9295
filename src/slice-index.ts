/**
 * SliceIndex: where each slice of a backup's native stream (the tar the source produced) was
 * stored, and which filters it went through — so that a restore reads only the stored bytes of
 * the slices it needs (DESIGN.md §4).
 *
 * Built from a backup transfer's messages: every slice-aware element posts `slice` messages
 * {slice, inOffset, inLength, outOffset, outLength} on its own input and output streams; composing
 * them along the chain gives, per slice number, native range → stored range. `object` messages
 * (filter-tar-index) say which native bytes hold which member.
 *
 *     const index = SliceIndex.fromMessages(specs, messages);
 *     await index.appendTo('/srv/backup.xfa');           // trailer after the data
 *     const again = await SliceIndex.read('/srv/backup.xfa');
 *     again.slicesForObject(again.object('etc/hosts')!)  // → [{slice, stored…}]
 *
 * Trailer, stored right after the data so that it can be found from the end of the file:
 *   head   24 B  u32 LE 0x184D2A5D and u32 LE frame size (= trailer size - 8): a zstd skippable
 *                frame, so `zstd -d` of a seekable backup still decodes it, trailer and all;
 *                magic "\x89XFAIDX\n"; u64 LE payload length
 *   payload      raw DEFLATE of the index as JSON (columnar arrays: compact, diffable when inflated)
 *   foot   32 B  u64 payload length, u64 data length (= offset of the head), u32 CRC32C of the
 *                payload, u32 version (1), magic "\x89XFAIDX\n"
 * The head lets a sequential reader (filter-decatenize) stop at the trailer; the foot lets a
 * restore find it with two small reads from the end.
 *
 * Without the trailer (lost, or never written) the index can be rebuilt from the stored stream
 * alone: `rebuild()` runs the stored bytes once through the inverse filters and filter-tar-index
 * (any chain); `scanCatenize()` recovers the slice map of a catenized stream by hopping from
 * restart marker to restart marker (48 bytes read per slice); `parseZstdSeekTable()` reads the
 * slice map of a seekable zstd stream from its seek table.
 */
import { open, stat } from 'node:fs/promises';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { ObjectMessage, SliceMessage, XferMessage } from './messages.js';
import type { PropValue } from './element-info.js';
import { element, type ElementSpec } from './registry.js';
import { Xfer } from './xfer.js';

export interface ByteRange {
  offset: number;
  length: number;
}

/** One slice: its native bytes (the tar) and where they were stored. */
export interface SliceEntry {
  slice: number;
  native: ByteRange;
  stored: ByteRange;
}

export interface ObjectEntry {
  path: string;
  objectType: string;
  size: number;
  headerOffset: number;
  dataOffset: number;
  linkTarget?: string;
  realSize?: number;
}

/** A forward filter of the backup chain, with the properties that are safe to keep. */
export interface FilterStep {
  name: string;
  props: Record<string, PropValue>;
  /** The element that undoes it on restore, when it is known (null: pass-through). */
  inverse: { name: string; props: Record<string, PropValue> } | null;
}

export interface SliceIndexData {
  version: 1;
  filters: FilterStep[];
  slices: SliceEntry[];
  objects: ObjectEntry[];
  /** Stored bytes before the first slice (a stream header, e.g. a wrapped key): restores read it too. */
  head: ByteRange | null;
  /** Stored data length: where the trailer begins. */
  dataLength: number;
}

export class SliceIndexError extends Error {
  override name = 'SliceIndexError';
}

const MAGIC = Buffer.from([0x89, 0x58, 0x46, 0x41, 0x49, 0x44, 0x58, 0x0a]); // \x89XFAIDX\n
const HEAD = 24;
const SKIPPABLE = 0x184d2a5d;
const FOOT = 32;
const VERSION = 1;

/** Filters that keep every byte where it is (no slice messages needed, nothing to undo). */
const PASS_THROUGH = new Set(['filter-tar-index', 'filter-crc']);
/** Filters that report slices whenever data passes. */
const SLICE_AWARE = new Set(['filter-catenize', 'filter-zstd', 'filter-gzip', 'filter-encrypt']);
/** Property names never written into an index (it travels with the data). */
const SECRET = /pass|secret|private|^key$|^key-hex$/i;

export class SliceIndex {
  readonly data: SliceIndexData;
  private readonly byPath = new Map<string, ObjectEntry>();

  constructor(data: SliceIndexData) {
    this.data = data;
    for (const o of data.objects) if (!this.byPath.has(o.path)) this.byPath.set(o.path, o);
  }

  get slices(): readonly SliceEntry[] {
    return this.data.slices;
  }
  get objects(): readonly ObjectEntry[] {
    return this.data.objects;
  }
  get filters(): readonly FilterStep[] {
    return this.data.filters;
  }

  /**
   * Composes a finished backup transfer: `specs` is its chain (source first, destination last),
   * `messages` everything it posted. Throws SliceIndexError when the slices do not line up (a
   * filter that changes lengths without reporting slices, or reports them inconsistently).
   */
  static fromMessages(specs: readonly ElementSpec[], messages: readonly XferMessage[], opts: { inverse?: Record<number, ElementSpec> } = {}): SliceIndex {
    const maps = sliceMaps(messages, specs.length);
    const steps: FilterStep[] = [];
    const posting: number[] = [];
    specs.forEach((s, i) => {
      if (i === 0 || i === specs.length - 1) return;
      // An empty stream has no slices anywhere; otherwise every length-changing filter must report them.
      if (!maps[i] && !PASS_THROUGH.has(s.name) && s.name !== 'filter-xor' && (!SLICE_AWARE.has(s.name) || maps.some(Boolean))) {
        throw new SliceIndexError(`${s.name}#${i + 1} reports no slices: a restore could not start in the middle of its output`);
      }
      // Pass-through elements report identity slices: nothing to compose, and a re-slicing filter
      // further down (slice-size=N) numbers its own slices.
      if (PASS_THROUGH.has(s.name)) return;
      if (maps[i]) posting.push(i);
      const given = opts.inverse?.[i];
      steps.push({ name: s.name, props: keepable(s.props), inverse: given ? { name: given.name, props: keepable(given.props) } : inverseOf(s) });
    });
    if (maps[specs.length - 1]) posting.push(specs.length - 1);
    const composed = compose(posting.map((i) => ({ map: maps[i]!, who: `${specs[i].name}#${i + 1}` })));
    const objects = messages.filter((m): m is ObjectMessage => m.type === 'object').map(objectEntry);
    const slices = composed.map((c) => {
      if (!c.last) throw new SliceIndexError(`slice ${c.slice} never reaches the destination`);
      return { slice: c.slice, native: c.first ?? { offset: 0, length: 0 }, stored: c.last };
    });
    const total = lastElementOutput(messages, posting.length ? posting[posting.length - 1] : -1, slices);
    return new SliceIndex({ version: VERSION, filters: steps, slices, objects, head: headOf(slices), dataLength: total });
  }

  /** The object named `path` (first occurrence), as tar lists it. */
  object(path: string): ObjectEntry | undefined {
    return this.byPath.get(path) ?? this.byPath.get(path.endsWith('/') ? path.slice(0, -1) : `${path}/`);
  }

  /** Slices whose native bytes overlap [offset, offset+length), in stream order. */
  slicesFor(offset: number, length: number): SliceEntry[] {
    const end = offset + Math.max(length, 1);
    return this.data.slices.filter((s) => s.native.length > 0 && s.native.offset < end && s.native.offset + s.native.length > offset);
  }

  /** The member's bytes in the native stream: its first header to the end of its padded data. */
  static span(o: ObjectEntry): ByteRange {
    return { offset: o.headerOffset, length: o.dataOffset + Math.ceil(o.size / 512) * 512 - o.headerOffset };
  }

  slicesForObject(o: ObjectEntry): SliceEntry[] {
    const s = SliceIndex.span(o);
    return this.slicesFor(s.offset, s.length);
  }

  /** The restore chain's filters, in restore order; `with` adds or replaces properties (keys). */
  inverseFilters(withProps: Record<string, Record<string, unknown>> = {}): ElementSpec[] {
    return [...this.data.filters].reverse().map((f) => {
      if (!f.inverse) throw new SliceIndexError(`no known inverse for ${f.name}: pass one when indexing (opts.inverse)`);
      return element(f.inverse.name, { ...f.inverse.props, ...(withProps[f.inverse.name] ?? {}) });
    });
  }

  // ----- serialisation -----

  toJSON(): unknown {
    const d = this.data;
    const cols = <K extends keyof ObjectEntry>(k: K) => d.objects.map((o) => o[k] ?? null);
    return {
      v: d.version, filters: d.filters, head: d.head, dataLength: d.dataLength,
      slices: d.slices.flatMap((s) => [s.slice, s.native.offset, s.native.length, s.stored.offset, s.stored.length]),
      objects: { path: cols('path'), type: cols('objectType'), size: cols('size'), header: cols('headerOffset'), data: cols('dataOffset'),
        link: cols('linkTarget'), real: cols('realSize') },
    };
  }

  static fromJSON(j: any): SliceIndex {
    if (!j || j.v !== VERSION || !Array.isArray(j.slices) || j.slices.length % 5 !== 0) throw new SliceIndexError('unsupported or damaged index');
    const slices: SliceEntry[] = [];
    for (let i = 0; i < j.slices.length; i += 5) {
      const [slice, no, nl, so, sl] = j.slices.slice(i, i + 5);
      slices.push({ slice, native: { offset: no, length: nl }, stored: { offset: so, length: sl } });
    }
    const o = j.objects;
    const objects: ObjectEntry[] = o.path.map((path: string, i: number) => {
      const e: ObjectEntry = { path, objectType: o.type[i], size: o.size[i], headerOffset: o.header[i], dataOffset: o.data[i] };
      if (o.link[i] !== null) e.linkTarget = o.link[i];
      if (o.real[i] !== null) e.realSize = o.real[i];
      return e;
    });
    return new SliceIndex({ version: VERSION, filters: j.filters, slices, objects, head: j.head, dataLength: j.dataLength });
  }

  /** The trailer bytes (head + payload + foot) for data of `dataLength` stored bytes. */
  toTrailer(): Buffer {
    const payload = deflateRawSync(Buffer.from(JSON.stringify(this.toJSON())), { level: 9 });
    const head = Buffer.alloc(HEAD);
    head.writeUInt32LE(SKIPPABLE, 0);
    head.writeUInt32LE(HEAD + payload.length + FOOT - 8, 4);
    MAGIC.copy(head, 8);
    head.writeBigUInt64LE(BigInt(payload.length), 16);
    const foot = Buffer.alloc(FOOT);
    foot.writeBigUInt64LE(BigInt(payload.length), 0);
    foot.writeBigUInt64LE(BigInt(this.data.dataLength), 8);
    foot.writeUInt32LE(crc32c(payload), 16);
    foot.writeUInt32LE(VERSION, 20);
    MAGIC.copy(foot, 24);
    return Buffer.concat([head, payload, foot]);
  }

  /** Parses a whole trailer (as toTrailer() made it). */
  static fromTrailer(buf: Buffer): SliceIndex {
    if (buf.length < HEAD + FOOT || !isTrailerHead(buf)) throw new SliceIndexError('no index trailer (magic not found)');
    const len = Number(buf.readBigUInt64LE(16));
    if (len !== buf.length - HEAD - FOOT) throw new SliceIndexError(`index trailer damaged: payload length ${len} does not fit ${buf.length} bytes`);
    const foot = buf.subarray(HEAD + len);
    const payload = buf.subarray(HEAD, HEAD + len);
    checkFoot(foot, len);
    if (foot.readUInt32LE(16) !== crc32c(payload)) throw new SliceIndexError('index trailer damaged: CRC32C mismatch');
    return SliceIndex.fromJSON(JSON.parse(inflateRawSync(payload).toString('utf8')));
  }

  /** Appends the trailer to a stored backup file and fsyncs it. Returns the trailer's size. */
  async appendTo(path: string): Promise<number> {
    const fh = await open(path, 'r+');
    try {
      const { size } = await fh.stat();
      if (size !== this.data.dataLength) throw new SliceIndexError(`${path} holds ${size} bytes, the index describes ${this.data.dataLength}`);
      const t = this.toTrailer();
      await fh.write(t, 0, t.length, size);
      await fh.sync();
      return t.length;
    } finally {
      await fh.close();
    }
  }

  /**
   * Reads the trailer from the end of a stored file with two preads; `bytesRead` says how much
   * that cost (a selective restore accounts for it).
   */
  static async read(path: string): Promise<{ index: SliceIndex; bytesRead: number }> {
    const fh = await open(path, 'r');
    try {
      const { size } = await fh.stat();
      if (size < HEAD + FOOT) throw new SliceIndexError(`${path}: no index trailer (file too short)`);
      const foot = Buffer.alloc(FOOT);
      await fh.read(foot, 0, FOOT, size - FOOT);
      if (!foot.subarray(24).equals(MAGIC)) throw new SliceIndexError(`${path}: no index trailer at the end (rebuild it with SliceIndex.rebuild)`);
      const len = Number(foot.readBigUInt64LE(0));
      const dataLength = Number(foot.readBigUInt64LE(8));
      if (dataLength + HEAD + len + FOOT !== size) throw new SliceIndexError(`${path}: index trailer damaged (lengths do not add up to the file size)`);
      const rest = Buffer.alloc(HEAD + len);
      await fh.read(rest, 0, rest.length, dataLength);
      const index = SliceIndex.fromTrailer(Buffer.concat([rest, foot]));
      return { index, bytesRead: FOOT + rest.length };
    } finally {
      await fh.close();
    }
  }

  // ----- rebuilding from the stream alone -----

  /**
   * Rebuilds the whole index (slices and objects) by reading the stored stream once through the
   * inverse filters and filter-tar-index. `filters` are the backup's forward filters (their
   * inverses are derived as in fromMessages) or give `restore` directly; `with` supplies keys.
   */
  static async rebuild(path: string, o: { filters?: ElementSpec[]; restore?: ElementSpec[]; with?: Record<string, Record<string, unknown>>; dataLength?: number;
    /** Reads the stored stream instead of source-ranges over `path` (e.g. source-recovery of a dump's parts); give dataLength. */
    source?: ElementSpec }): Promise<SliceIndex> {
    const forward = o.filters ?? [];
    const steps: FilterStep[] = forward.filter((f) => !PASS_THROUGH.has(f.name)).map((f) => ({ name: f.name, props: keepable(f.props), inverse: inverseOf(f) }));
    const skeleton = new SliceIndex({ version: VERSION, filters: steps, slices: [], objects: [], head: null, dataLength: 0 });
    const restore = o.restore ?? skeleton.inverseFilters(o.with);
    const dataLength = o.dataLength ?? (await storedDataLength(path));
    const chain = [
      o.source ?? element('source-ranges', { path, ranges: dataLength > 0 ? `0:${dataLength}` : '' }),
      ...restore, element('filter-tar-index'), element('dest-null'),
    ];
    const x = new Xfer(chain);
    const messages: XferMessage[] = [];
    x.on('message', (m: XferMessage) => messages.push(m));
    x.start();
    await x.done;
    const maps = sliceMaps(messages, chain.length);
    const inv = restore.map((_, i) => i + 1).filter((i) => maps[i]);
    const composed = compose(inv.map((i) => ({ map: maps[i]!, who: `${chain[i].name}#${i + 1}` })));
    const slices = composed.filter((c) => c.first).map((c) => ({ slice: c.slice, native: c.last ?? { offset: 0, length: 0 }, stored: c.first! }));
    const objects = messages.filter((m): m is ObjectMessage => m.type === 'object').map(objectEntry);
    return new SliceIndex({ version: VERSION, filters: steps, slices, objects, head: headOf(slices), dataLength });
  }

  /**
   * The slice map of a filter-catenize stream from its restart markers alone (one 48-byte read per
   * frame). Native offsets are the running sum of the recorded input lengths; objects stay empty.
   */
  static async scanCatenize(path: string, filters: ElementSpec[] = []): Promise<{ index: SliceIndex; bytesRead: number }> {
    const fh = await open(path, 'r');
    try {
      const { size } = await fh.stat();
      const slices: SliceEntry[] = [];
      const hdr = Buffer.alloc(48);
      let at = 0;
      let native = 0;
      let bytesRead = 0;
      while (at < size) {
        const { bytesRead: n } = await fh.read(hdr, 0, 48, at);
        bytesRead += n;
        if (n >= 16 && isTrailerHead(hdr)) break;
        const f = n === 48 ? parseCatenizeMarker(hdr) : null;
        if (!f) throw new SliceIndexError(`${path}: no valid restart marker at offset ${at}`);
        if (at + 48 + f.outLength > size) throw new SliceIndexError(`${path}: the frame of slice ${f.slice} at offset ${at} is truncated`);
        slices.push({ slice: f.slice, native: { offset: native, length: f.inLength }, stored: { offset: at, length: 48 + f.outLength } });
        native += f.inLength;
        at += 48 + f.outLength;
      }
      const steps = filters.filter((f) => !PASS_THROUGH.has(f.name)).map((f) => ({ name: f.name, props: keepable(f.props), inverse: inverseOf(f) }));
      return { index: new SliceIndex({ version: VERSION, filters: steps, slices, objects: [], head: null, dataLength: at }), bytesRead };
    } finally {
      await fh.close();
    }
  }

  /**
   * The slice map of a filter-zstd seekable stream from its seek table alone (three small reads
   * from the end: the trailer's foot if any, the table's footer, the table). Slice i is frame i.
   */
  static async scanZstdSeekTable(path: string, filters: ElementSpec[] = []): Promise<{ index: SliceIndex; bytesRead: number }> {
    const fh = await open(path, 'r');
    try {
      const { size } = await fh.stat();
      let bytesRead = 0;
      const read = async (n: number, at: number) => {
        const b = Buffer.alloc(n);
        const { bytesRead: got } = await fh.read(b, 0, n, at);
        bytesRead += got;
        if (got !== n) throw new SliceIndexError(`${path}: short read at offset ${at}`);
        return b;
      };
      const foot = size >= FOOT ? await read(FOOT, size - FOOT) : Buffer.alloc(0);
      const dataLength = foot.length && foot.subarray(24).equals(MAGIC) ? Number(foot.readBigUInt64LE(8)) : size;
      if (dataLength < 9) throw new SliceIndexError(`${path}: too short for a zstd seek table`);
      const footer = await read(9, dataLength - 9);
      if (footer.readUInt32LE(5) !== 0x8f92eab1) throw new SliceIndexError(`${path}: no zstd seek table at offset ${dataLength} (footer magic not found)`);
      const entry = footer[4] & 0x80 ? 12 : 8;
      const tableSize = 8 + footer.readUInt32LE(0) * entry + 9;
      if (tableSize > dataLength) throw new SliceIndexError(`${path}: zstd seek table larger than the stream`);
      const table = Buffer.concat([await read(tableSize - 9, dataLength - tableSize), footer]);
      const { frames } = parseZstdSeekTable(table);
      const slices = frames.map((f, i) => ({ slice: i, native: f.decompressed, stored: f.compressed }));
      const steps = filters.filter((f) => !PASS_THROUGH.has(f.name)).map((f) => ({ name: f.name, props: keepable(f.props), inverse: inverseOf(f) }));
      return { index: new SliceIndex({ version: VERSION, filters: steps, slices, objects: [], head: null, dataLength }), bytesRead };
    } finally {
      await fh.close();
    }
  }
}

// ----- helpers -----

type SliceMap = Map<number, { in: ByteRange; out: ByteRange }>;

/** Per chain position, the element's slice map (undefined when it posted none). */
function sliceMaps(messages: readonly XferMessage[], n: number): (SliceMap | undefined)[] {
  const maps: (SliceMap | undefined)[] = new Array(n).fill(undefined);
  for (const m of messages) {
    if (m.type !== 'slice' || m.index < 0 || m.index >= n) continue;
    const s = m as SliceMessage;
    const map = (maps[s.index] ??= new Map());
    if (map.has(s.slice)) throw new SliceIndexError(`${s.elt} reported slice ${s.slice} twice`);
    map.set(s.slice, { in: { offset: s.inOffset, length: s.inLength }, out: { offset: s.outOffset, length: s.outLength } });
  }
  return maps;
}

/**
 * Follows each slice number through the posting elements: one element's output range must be the
 * next one's input range. Returns, per slice, the first element's input and the last one's output;
 * null where the slice was born further down (a seek table, an end frame: it has no bytes
 * upstream) or consumed before the end (it has none downstream).
 */
function compose(chain: { map: SliceMap; who: string }[]): { slice: number; first: ByteRange | null; last: ByteRange | null }[] {
  const out: { slice: number; first: ByteRange | null; last: ByteRange | null }[] = [];
  const numbers = new Set<number>();
  for (const c of chain) for (const k of c.map.keys()) numbers.add(k);
  for (const k of [...numbers].sort((x, y) => x - y)) {
    const at = chain.map((c, i) => (c.map.has(k) ? i : -1)).filter((i) => i >= 0);
    const a = at[0];
    const b = at[at.length - 1];
    for (let i = a; i <= b; i++) if (!chain[i].map.has(k)) throw new SliceIndexError(`slice ${k} passes ${chain[i - 1].who} but ${chain[i].who} never reports it`);
    for (let i = a; i < b; i++) {
      const o = chain[i].map.get(k)!.out;
      const n = chain[i + 1].map.get(k)!.in;
      if (o.offset !== n.offset || o.length !== n.length) throw new SliceIndexError(`slice ${k}: ${chain[i].who} wrote ${fmt(o)} but ${chain[i + 1].who} read ${fmt(n)}`);
    }
    out.push({ slice: k, first: a === 0 ? chain[a].map.get(k)!.in : null, last: b === chain.length - 1 ? chain[b].map.get(k)!.out : null });
  }
  return out;
}

const fmt = (r: ByteRange) => `[${r.offset}, +${r.length})`;

function headOf(slices: SliceEntry[]): ByteRange | null {
  const first = slices.reduce((m, s) => Math.min(m, s.stored.offset), Number.POSITIVE_INFINITY);
  return Number.isFinite(first) && first > 0 ? { offset: 0, length: first } : null;
}

function lastElementOutput(messages: readonly XferMessage[], idx: number, slices: SliceEntry[]): number {
  const stats = messages.filter((m) => m.type === 'stats');
  const end = slices.reduce((m, s) => Math.max(m, s.stored.offset + s.stored.length), 0);
  // The last filter's bytesOut is the stored length (a trailing seek table lies past the last slice).
  const s = idx >= 0 ? stats.find((m) => m.index === idx) : undefined;
  return s && s.type === 'stats' ? Math.max(s.bytesOut, end) : end;
}

function objectEntry(m: ObjectMessage): ObjectEntry {
  const e: ObjectEntry = { path: m.path, objectType: m.objectType, size: m.size, headerOffset: m.headerOffset, dataOffset: m.dataOffset };
  if (m.linkTarget !== undefined) e.linkTarget = m.linkTarget;
  if (m.realSize !== undefined) e.realSize = m.realSize;
  return e;
}

function keepable(props: Readonly<Record<string, PropValue>>): Record<string, PropValue> {
  return Object.fromEntries(Object.entries(props).filter(([k]) => !SECRET.test(k)));
}

/** The restore element for a forward filter, when xfa knows it. */
export function inverseOf(s: ElementSpec): FilterStep['inverse'] {
  switch (s.name) {
    case 'filter-zstd':
      return { name: 'filter-unzstd', props: {} };
    case 'filter-gzip':
      return { name: 'filter-gunzip', props: {} };
    case 'filter-encrypt':
      return { name: 'filter-decrypt', props: {} };
    case 'filter-xor':
      return { name: 'filter-xor', props: keepable(s.props) };
    case 'filter-catenize': {
      const cmd = inverseCommand(s.props);
      return cmd ? { name: 'filter-decatenize', props: { argv: cmd } } : null;
    }
    default:
      return null;
  }
}

/** gzip -c → gzip -dc (and zstd, xz, bzip2, lz4, pigz); openssl enc -e → -d. */
export function inverseCommand(props: Readonly<Record<string, PropValue>>): string[] | null {
  const argv = Array.isArray(props.argv) && props.argv.length ? [...props.argv] : splitWords(String(props.cmd ?? ''));
  if (argv.length === 0) return null;
  const prog = argv[0].split('/').pop()!;
  if (['gzip', 'pigz', 'zstd', 'xz', 'bzip2', 'lz4'].includes(prog)) {
    const rest = argv.slice(1).filter((a) => a !== '-c' && !/^-\d+$/.test(a) && !/^-T\d+$/.test(a) && a !== '--fast' && a !== '--best');
    return [argv[0], '-dc', ...rest];
  }
  if (prog === 'openssl' && argv[1] === 'enc') {
    const rest = argv.slice(2).filter((a) => a !== '-e' && a !== '-d');
    return [argv[0], 'enc', '-d', ...rest];
  }
  return null;
}

function splitWords(cmd: string): string[] {
  const out: string[] = [];
  const re = /'([^']*)'|"((?:\\.|[^"\\])*)"|(\S+)/g;
  for (let m; (m = re.exec(cmd));) out.push(m[1] ?? (m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]));
  return out;
}

function isTrailerHead(b: Buffer): boolean {
  return b.length >= 16 && b.readUInt32LE(0) === SKIPPABLE && b.subarray(8, 16).equals(MAGIC);
}

function checkFoot(foot: Buffer, len: number): void {
  if (!foot.subarray(24).equals(MAGIC)) throw new SliceIndexError('index trailer damaged: foot magic');
  if (Number(foot.readBigUInt64LE(0)) !== len) throw new SliceIndexError('index trailer damaged: head and foot disagree');
  if (foot.readUInt32LE(20) !== VERSION) throw new SliceIndexError(`index trailer version ${foot.readUInt32LE(20)} is not supported`);
}

/** Stored data length of a file: up to its trailer if it has one. */
async function storedDataLength(path: string): Promise<number> {
  const { size } = await stat(path);
  if (size < FOOT) return size;
  const fh = await open(path, 'r');
  try {
    const foot = Buffer.alloc(FOOT);
    await fh.read(foot, 0, FOOT, size - FOOT);
    return foot.subarray(24).equals(MAGIC) ? Number(foot.readBigUInt64LE(8)) : size;
  } finally {
    await fh.close();
  }
}

// ----- catenize markers and zstd seek tables (formats: elements/catenize.h, zstd seekable format) -----

export interface CatenizeMarker {
  slice: number;
  inLength: number;
  outLength: number;
  crc: number;
}

const CAT_MAGIC = Buffer.from([0x89, 0x58, 0x46, 0x41, 0x43, 0x41, 0x54, 0x0a]); // \x89XFACAT\n

/** A 48-byte restart marker, or null when it is not one (bad magic, version or header CRC). */
export function parseCatenizeMarker(h: Buffer): CatenizeMarker | null {
  if (h.length < 48 || !h.subarray(0, 8).equals(CAT_MAGIC)) return null;
  if (h.readUInt32LE(44) !== crc32c(h.subarray(0, 44)) || h.readUInt16LE(8) !== 1 || h.readUInt16LE(10) !== 48) return null;
  return { slice: Number(h.readBigUInt64LE(16)), inLength: Number(h.readBigUInt64LE(24)), outLength: Number(h.readBigUInt64LE(32)), crc: h.readUInt32LE(40) };
}

export interface SeekTableFrame {
  compressed: ByteRange;
  decompressed: ByteRange;
}

/**
 * Frames of a zstd seekable-format stream from its seek table (the skippable frame at the end,
 * footer magic 0x8F92EAB1). `tail` is the end of the stream, long enough to hold the table.
 */
export function parseZstdSeekTable(tail: Buffer): { frames: SeekTableFrame[]; tableSize: number } {
  if (tail.length < 9 || tail.readUInt32LE(tail.length - 4) !== 0x8f92eab1) throw new SliceIndexError('no zstd seek table (footer magic not found)');
  const count = tail.readUInt32LE(tail.length - 9);
  const desc = tail[tail.length - 5];
  if (desc & 0x7c) throw new SliceIndexError('zstd seek table: reserved descriptor bits set');
  const entry = desc & 0x80 ? 12 : 8;
  const tableSize = 8 + count * entry + 9;
  if (tableSize > tail.length) throw new SliceIndexError(`zstd seek table needs ${tableSize} bytes, have ${tail.length}`);
  const start = tail.length - tableSize;
  if (tail.readUInt32LE(start) !== 0x184d2a5e || tail.readUInt32LE(start + 4) !== tableSize - 8) throw new SliceIndexError('zstd seek table: bad skippable frame header');
  const frames: SeekTableFrame[] = [];
  let c = 0;
  let d = 0;
  for (let i = 0; i < count; i++) {
    const at = start + 8 + i * entry;
    const cs = tail.readUInt32LE(at);
    const ds = tail.readUInt32LE(at + 4);
    frames.push({ compressed: { offset: c, length: cs }, decompressed: { offset: d, length: ds } });
    c += cs;
    d += ds;
  }
  return { frames, tableSize };
}

// CRC32C (Castagnoli), the checksum of the catenize markers and the trailer.
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

export function crc32c(buf: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
