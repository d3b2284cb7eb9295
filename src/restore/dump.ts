/**
 * Restoring a dump the catalog knows (`xfa restore`, issue 7): the whole dump, or chosen paths
 * inside it, to a directory (through the real `tar -x`), to a file (the dump's native stream) or
 * to a file descriptor (stdout).
 *
 *     const cat = openCatalog('/var/lib/xfa/catalog.db');
 *     const r = await restoreDump(cat, { host: 'client', disk: '/data' }, { dir: '/tmp/r' },
 *       { paths: ['etc/hosts'], keys: { keyFile: '/etc/xfa/backup.key' } });
 *     r.dump.id, r.bytesRead, r.selective, r.crc
 *
 * Selecting (selectDump). `dump` (the id `xfa ls` shows) or host/disk/level and `date`, a prefix
 * of the datestamp (YYYYMMDD[hhmmss]). Only dumps whose status is 'ok' are restorable, whatever
 * their origin (transfer, reindex, amanda, migrate). A dump and its copies (`copy_of`, written by
 * `xfa migrate`) are one restorable dump: any ok member may serve, the original first (or the one
 * named by `dump`), then the copies in id order. Several matches: the newest datestamp wins
 * (then the highest id), and `matches` says how many there were. No match: RestoreError 'no-dump'
 * saying what the catalog has for that host and disk.
 *
 * Reading. Before anything is read every volume of the chosen copy is checked (its device is
 * there and holds that label); a copy with a missing volume is skipped for the next one, and when
 * none is left the error names each volume and device. The parts are read with source-recovery
 * (parts listed LABEL:FILE:SIZE in part order, volumes found by label in a chg-multi of the parts'
 * devices; every part's header is checked against the dump). A read that fails on the media
 * (a corrupt or unreadable part) falls back to the next copy too, for directory and file targets
 * (a stream already written to a file descriptor cannot be taken back).
 *
 * Selected paths. With a slice index in the catalog (Recorder stores one when the backup chain
 * had filter-tar-index), each path's tar member (and a hard link's target) maps to its slices,
 * and only their stored byte ranges are read: each range, cut across the parts by their sizes, is
 * one source-recovery with offset/size (whole parts before it are skipped, the device seeks to the
 * block); the ranges (the stream header first when the chain wrote one: filter-encrypt's) are
 * staged in a private temporary file as small as what was read, then go through the inverse
 * filters (filter-decrypt told which slices follow) into `tar -x -- MEMBERS`. When the needed
 * ranges would be more than half the dump, or the index's slices are not cut at members
 * (slice-size=N), or there is no index, the whole dump is streamed and tar picks the members
 * (`result.selective` false, `result.why` says why).
 *
 * Decrypting and decompressing. From the slice index's filter steps when there is one; else from
 * the first part's Amanda header (Amanda 3.5: `compressed` with suffix .gz and no custom program:
 * filter-gunzip; a custom (server or client) compress program: filter-process running the
 * header's uncompress command; encrypted: filter-process running the header's srv/clnt encrypt
 * program with its decrypt option, or its decrypt command, as amrestore would); else from the
 * catalog's compression/encryption columns (zstd: filter-unzstd, gzip: filter-gunzip, xfa's
 * AES-256-GCM: filter-decrypt); else (a catalog rebuilt by reindex from xfa's own media records
 * none of that) from the stream's first 8 bytes: xfa's encrypted stream header → filter-decrypt
 * then `zstd -dcf` (which undoes zstd or gzip and passes anything else through: the inner layer
 * cannot be seen before decrypting), a zstd frame → filter-unzstd, gzip → filter-gunzip, else
 * the native stream as it is. Keys: `keyFile`, `passphraseFile` (filter-decrypt's key-file,
 * passphrase-file), or `privateKeyFile` (an RSA private key: the stream header, read first from
 * the media, gives the wrapped data key; src/keys.ts decryptProps). A wrong key is RestoreError
 * 'key'.
 *
 * CRCs. A whole-dump read checks the CRC32C and size of the raw stream read from the media
 * (source-recovery's `crc`) against the dump's, and each part's size (`part-done`); Amanda dumps
 * whose header has NATIVE-CRC also get the decompressed stream checked (filter-crc). On a
 * mismatch, or any failure of the read or of the inverse filters, each part read is read back
 * on its own (source-device) to name the bad one: RestoreError 'corrupt' with LABEL:FILE. A
 * selective restore reads parts of parts and cannot check whole-part CRCs: the filters' own
 * checks still apply (GCM tags per chunk, zstd frame checksums, gzip CRCs), and tar's.
 *
 * Targets. `dir`: created if needed and probed with a scratch file before any media is read (an
 * unwritable directory is RestoreError 'target'); a failed restore may leave files extracted
 * there, and the error says so. `file`: written as FILE.tmp, fsynced and renamed to FILE only
 * when the read, the filters and the CRC check all succeeded; FILE.tmp is removed otherwise and
 * FILE is left as it was. `fd`: the native stream is written to it (dup'ed; the caller closes it).
 * A full disk is RestoreError 'no-space'.
 *
 * Notes: `onNote` hears what an operator must know at once (which of several dumps was taken, a
 * copy standing in for the original); `result.notes` also keeps how the dump was read (why not
 * selectively, what the first bytes said).
 *
 * The catalog is only read: a restore, failed or not, never changes it (media problems are for
 * `xfa verify` to report and for an operator to act on).
 */
import { closeSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readSync, renameSync, rmdirSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import '../../elements/index.js';
import type { Catalog, DumpRow, PartRow } from '../catalog/db.js';
import { readPartCrc } from '../catalog/recorder.js';
import { changerOfParts, recoveryElement } from '../catalog/recovery.js';
import { dumpName } from '../catalog/verify.js';
import { decryptProps, headerLength, HEADER_PREFIX_BYTES } from '../keys.js';
import type { AmandaHeader } from '../media/header.js';
import { scanVolumeAsync, volumeStatusAsync } from '../media/volume.js';
import type { XferMessage } from '../messages.js';
import { element, type ElementSpec } from '../registry.js';
import { SliceIndex, type ByteRange, type ObjectEntry, type SliceEntry } from '../slice-index.js';
import { graph, type GraphMessage } from '../graph.js';
import { Xfer, XferError, type XferOptions } from '../xfer.js';
import { fromColumns, fromHeader, storedIndex, withKeys } from './inverse.js';
import { containerOf, selectDump, type Selection } from './select.js';
import { RestoreError, type DumpSelector, type RestoreDumpOptions, type RestoreDumpResult, type RestoreErrorKind, type RestoreTarget } from './types.js';

export { selectDump, type Selection } from './select.js';
export { RestoreError, type DumpSelector, type RestoreDumpOptions, type RestoreDumpResult, type RestoreErrorKind, type RestoreKeys, type RestoreTarget } from './types.js';

/** A private temporary directory under dir; a bad --tmpdir is a target error naming it. */
function scratchTemp(dir: string, prefix: string): string {
  try {
    return mkdtempSync(join(dir, prefix));
  } catch (e) {
    throw new RestoreError(`--tmpdir ${dir}: cannot make a temporary directory there: ${(e as Error).message}`, 'target');
  }
}

// ----- the parts of one copy -----

interface Source {
  dump: DumpRow;
  parts: PartRow[];
}

/** Checks that every volume of the copy is where the catalog says; returns the problems. */
async function checkSource(cat: Catalog, d: DumpRow): Promise<{ source?: Source; problems: string[] }> {
  const parts = cat.parts(d.id);
  const problems: string[] = [];
  if (parts.length === 0) problems.push(`dump #${d.id} has no parts in the catalog`);
  parts.forEach((p, i) => {
    if (p.partnum !== i + 1) problems.push(`dump #${d.id}: part ${i + 1} is missing from the catalog`);
  });
  if (d.size !== null && parts.reduce((a, p) => a + p.size, 0) !== d.size) problems.push(`dump #${d.id}: its parts do not add up to its size ${d.size}`);
  const seen = new Map<string, string | null>();
  for (const p of parts) if (!seen.has(p.label)) seen.set(p.label, p.device);
  for (const [label, device] of seen) {
    if (!device) {
      problems.push(`volume ${label}: the catalog does not say which device holds it`);
      continue;
    }
    const st = await volumeStatusAsync(device); // s3: volumes too (the sync volumeStatus refuses them)
    if (st.status.includes('VOLUME_MISSING') || st.status.includes('DEVICE_ERROR') || st.status.includes('VOLUME_ERROR')) {
      problems.push(`volume ${label} is missing: ${device}: ${st.error ?? st.status.join(', ')}`);
    } else if (st.label !== label) {
      problems.push(`volume ${label} is not at ${device} (${st.label === undefined ? 'it is unlabeled' : `it holds "${st.label}"`})`);
    }
  }
  if (problems.length) return { problems };
  try {
    changerOfParts(parts);
  } catch (e) {
    return { problems: [(e as Error).message] };
  }
  return { source: { dump: d, parts }, problems };
}

function recovery(src: Source, range?: ByteRange): ElementSpec {
  return recoveryElement(src.dump, src.parts, range);
}

// ----- inverse filters -----

async function firstHeader(src: Source): Promise<AmandaHeader | undefined> {
  const p = src.parts[0];
  try {
    return (await scanVolumeAsync(p.device!)).files.find((f) => f.file === p.fileno)?.header;
  } catch {
    return undefined;
  }
}

/**
 * Nothing recorded (a catalog rebuilt by reindex from xfa's own media): the stream's first bytes
 * say what it is. xfa's encrypted stream header → filter-decrypt, then `zstd -dcf` (zstd, gzip,
 * or nothing: -f passes through what it does not recognise, since the inner layer cannot be seen
 * without decrypting); a zstd frame → filter-unzstd; gzip → filter-gunzip; anything else is
 * taken as the native stream.
 */
async function sniff(src: Source, size: number, scratchDir: string, opts?: XferOptions): Promise<{ steps: ElementSpec[]; bytes: number }> {
  const dir = scratchTemp(scratchDir, 'xfa-sniff-');
  try {
    const fd = openSync(join(dir, 'head'), 'w+');
    let b: Buffer;
    let bytes = 0;
    try {
      bytes = await readRange(src, { offset: 0, length: Math.min(8, size) }, fd, opts);
      b = Buffer.alloc(bytes);
      readSync(fd, b, 0, bytes, 0);
    } catch (e) {
      if (e instanceof XferError) throw await mediaError(src, src.parts.slice(0, 1), e);
      throw e;
    } finally {
      closeSync(fd);
    }
    let encrypted = false;
    try {
      headerLength(b);
      encrypted = true;
    } catch {
      /* not xfa's encrypted stream */
    }
    if (encrypted) return { steps: [element('filter-decrypt', {}), element('filter-process', { argv: ['zstd', '-dcfq'] })], bytes };
    if (b.length >= 4 && b.readUInt32LE(0) === 0xfd2fb528) return { steps: [element('filter-unzstd', {})], bytes };
    if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) return { steps: [element('filter-gunzip', {})], bytes };
    return { steps: [], bytes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ----- running transfers -----

interface Run {
  messages: XferMessage[];
  error?: XferError;
}

async function run(specs: ElementSpec[], opts?: XferOptions): Promise<Run> {
  const x = new Xfer(specs, opts);
  const messages: XferMessage[] = [];
  x.on('message', (m: XferMessage) => messages.push(m));
  x.start();
  try {
    await x.done;
    return { messages };
  } catch (e) {
    if (!(e instanceof XferError)) throw e;
    return { messages, error: e };
  }
}

/**
 * Runs a chain with a demux in it as a graph (the demux's output is its own chain); the messages
 * are the trunk's (the reading side) and the errors of both. A failed output chain is the error.
 */
async function runGraph(specs: ElementSpec[], opts?: XferOptions): Promise<Run> {
  const g = graph(specs, specs.slice(1).map((_, i) => [i, i + 1] as const), opts);
  const messages: XferMessage[] = [];
  g.on('message', (m: GraphMessage) => {
    if (m.type === 'chain-done') return;
    if (m.chain === 0 || (m.type !== 'stats' && m.type !== 'crc' && m.type !== 'part-done')) messages.push(m);
  });
  g.start();
  try {
    const r = await g.done;
    const failed = r.failed[0]?.error;
    return failed ? { messages, error: failed } : { messages };
  } catch (e) {
    if (!(e instanceof XferError)) throw e;
    return { messages, error: e };
  }
}

function bytesOut(messages: XferMessage[], index = 0): number {
  const s = messages.find((m) => m.type === 'stats' && m.index === index);
  return s && s.type === 'stats' ? s.bytesOut : 0;
}

/** What a process element printed (tar's complaints), for error messages. */
function processOutput(messages: XferMessage[], who: string): string {
  const lines = messages.filter((m) => m.type === 'info' && m.elt.startsWith(who)).map((m) => (m as { message: string }).message);
  return lines.slice(-3).join('; ');
}

/** Reads stored bytes [range] of the dump onto fd (appending). */
async function readRange(src: Source, range: ByteRange, fd: number, opts?: XferOptions): Promise<number> {
  const r = await run([recovery(src, range), element('dest-fd', { fd })], opts);
  if (r.error) throw r.error;
  return bytesOut(r.messages);
}

/** Reads each part on its own and compares it with the catalog: the first bad part, named. */
async function diagnose(src: Source, parts: PartRow[]): Promise<RestoreError | undefined> {
  for (const p of parts) {
    const where = `${p.label}:${p.fileno}`;
    let got: { crc: string; size: number };
    try {
      got = await readPartCrc(p.device!, p.fileno, p.label);
    } catch (e) {
      return new RestoreError(`part ${p.partnum} at ${where} cannot be read: ${(e as Error).message}`, 'corrupt', where);
    }
    if (got.size !== p.size) return new RestoreError(`part ${p.partnum} at ${where} is corrupt: ${got.size} bytes, the catalog says ${p.size}`, 'corrupt', where);
    if (p.crc && got.crc !== p.crc) return new RestoreError(`part ${p.partnum} at ${where} is corrupt: CRC32C ${got.crc}, the catalog says ${p.crc}`, 'corrupt', where);
  }
  void src;
  return undefined;
}

/** The parts that hold any byte of the ranges. */
function partsFor(parts: PartRow[], ranges: ByteRange[]): PartRow[] {
  let at = 0;
  return parts.filter((p) => {
    const start = at;
    at += p.size;
    return ranges.some((r) => r.offset < start + p.size && r.offset + r.length > start);
  });
}

const ENOSPC = /ENOSPC|No space left on device/i;

// ----- targets -----

interface Sink {
  spec: ElementSpec;
  commit(): void;
  abort(): void;
  describe: string;
}

/** Makes dir (and its parents) if needed and checks it is writable; returns the first directory it created. */
function probeDir(dir: string): string | undefined {
  try {
    const created = mkdirSync(dir, { recursive: true });
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
    const probe = join(dir, `.xfa-restore-probe-${process.pid}`);
    writeFileSync(probe, '');
    unlinkSync(probe);
    return created;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new RestoreError(`cannot restore into ${dir}: ${err.code ? `${err.code}: ` : ''}${err.message.replace(/^[A-Z]+: /, '')}`, ENOSPC.test(err.message) ? 'no-space' : 'target', dir);
  }
}

function openSink(target: RestoreTarget, members: string[]): Sink {
  if ('dir' in target) {
    const created = probeDir(target.dir);
    const argv = ['tar', '-xf', '-', '-C', target.dir, ...(members.length ? ['--', ...members] : [])];
    // A restore that extracted nothing leaves no directory it made behind (those with files stay).
    const abort = (): void => {
      if (created === undefined) return;
      for (let d = resolve(target.dir); d.length >= created.length; d = dirname(d)) {
        try {
          rmdirSync(d);
        } catch {
          return;
        }
      }
    };
    return { spec: element('dest-process', { argv }), commit() {}, abort, describe: target.dir };
  }
  if ('file' in target) {
    const tmp = `${target.file}.tmp`;
    let fd: number;
    try {
      if (statSync(target.file, { throwIfNoEntry: false })?.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
      fd = openSync(tmp, 'w', 0o600);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new RestoreError(`cannot write ${target.file}: ${err.code ? `${err.code}: ` : ''}${err.message.replace(/^[A-Z]+: /, '')}`, 'target', target.file);
    }
    let open = true;
    const close = () => {
      if (open) closeSync(fd);
      open = false;
    };
    return {
      spec: element('dest-fd', { fd }),
      describe: target.file,
      commit() {
        try {
          fsyncSync(fd);
          close();
          renameSync(tmp, target.file);
          const dfd = openSync(dirname(target.file), 'r');
          try {
            fsyncSync(dfd);
          } finally {
            closeSync(dfd);
          }
        } catch (e) {
          this.abort();
          const err = e as Error;
          throw new RestoreError(`cannot finish ${target.file}: ${err.message}`, ENOSPC.test(err.message) ? 'no-space' : 'target', target.file);
        }
      },
      abort() {
        close();
        rmSync(tmp, { force: true });
      },
    };
  }
  return { spec: element('dest-fd', { fd: target.fd }), commit() {}, abort() {}, describe: `fd ${target.fd}` };
}

// ----- the restore -----

interface Plan {
  selective: boolean;
  why?: string;
  members: string[];
  /** Stored ranges to read (selective), with the stream header first. */
  ranges: ByteRange[];
  slices: SliceEntry[];
}

function merge(ranges: ByteRange[]): ByteRange[] {
  const out: ByteRange[] = [];
  for (const r of [...ranges].sort((a, b) => a.offset - b.offset)) {
    const last = out[out.length - 1];
    if (last && r.offset <= last.offset + last.length) last.length = Math.max(last.length, r.offset + r.length - last.offset);
    else out.push({ ...r });
  }
  return out;
}

/** The paths not under another of them: tar given "sub/" and "sub/f" extracts sub/f with sub/
 * and then fails on "sub/f: Not found in archive". */
function outermost(paths: readonly string[]): string[] {
  const norm = (p: string) => p.replace(/^\.\//, '').replace(/\/+$/, '');
  return paths.filter((p) => !paths.some((q) => q !== p && norm(q) !== norm(p) && norm(p).startsWith(`${norm(q)}/`)));
}

function plan(index: SliceIndex | undefined, paths: readonly string[], dumpSize: number, dumpId: number): Plan {
  if (paths.length === 0) return { selective: false, members: [], ranges: [], slices: [] };
  if (!index) return { selective: false, why: 'the catalog has no slice index for this dump: the whole dump is read and tar picks the paths', members: outermost(paths), ranges: [], slices: [] };
  const find = (p: string) => index.object(p) ?? index.object(p.replace(/^\.\//, '')) ?? index.object(`./${p}`);
  const missing = paths.filter((p) => !find(p));
  if (missing.length) throw new RestoreError(`not in dump #${dumpId} (its index lists ${index.objects.length} members): ${missing.join(', ')}`, 'path');
  // tar is given the members as the index names them, and a hard link's target before it; the
  // slices cover those members and, for a directory, everything under it.
  const named: ObjectEntry[] = [];
  const covered: ObjectEntry[] = [];
  for (const p of paths) {
    const m = find(p)!;
    if (m.objectType === 'hardlink' && m.linkTarget) {
      const t = index.object(m.linkTarget);
      if (t && t.headerOffset < m.headerOffset) named.push(t);
    }
    named.push(m);
    if (m.objectType === 'dir' || m.objectType === 'directory') {
      const prefix = m.path.endsWith('/') ? m.path : `${m.path}/`;
      covered.push(...index.objects.filter((o) => o.path.startsWith(prefix)));
    }
  }
  const members = outermost([...new Set(named.sort((a, b) => a.headerOffset - b.headerOffset).map((m) => m.path))]);
  const bySlice = new Map<number, SliceEntry>();
  for (const m of [...named, ...covered]) for (const s of index.slicesForObject(m)) bySlice.set(s.slice, s);
  const slices = [...bySlice.values()].sort((a, b) => a.slice - b.slice);
  const starts = new Set(index.objects.map((m) => m.headerOffset));
  const ends = new Set(index.objects.map((m) => SliceIndex.span(m)).map((s) => s.offset + s.length));
  const lastEnd = Math.max(0, ...ends);
  const aligned = slices.length > 0 && slices.every((s) => starts.has(s.native.offset) && (ends.has(s.native.offset + s.native.length) || s.native.offset + s.native.length >= lastEnd));
  const whole = { selective: false, members, ranges: [], slices: [] };
  if (!aligned) return { ...whole, why: 'the index\'s slices are not cut at tar members: the whole dump is read and tar picks the paths' };
  const ranges = merge([...(index.data.head ? [index.data.head] : []), ...slices.map((s) => s.stored)]);
  const total = ranges.reduce((a, r) => a + r.length, 0);
  if (total > dumpSize / 2) return { ...whole, why: `the paths' slices hold ${total} of the dump's ${dumpSize} stored bytes: the whole dump is streamed instead` };
  return { selective: true, members, ranges, slices };
}

/**
 * Restores the dump `selector` names to `target`. Throws RestoreError (kind says what went wrong)
 * and never writes to the catalog.
 */
export async function restoreDump(cat: Catalog, selector: DumpSelector, target: RestoreTarget, opts: RestoreDumpOptions = {}): Promise<RestoreDumpResult> {
  const t0 = Date.now();
  const notes: string[] = [];
  const note = (s: string) => {
    notes.push(s);
    opts.onNote?.(s);
  };
  const paths = opts.paths ?? [];
  if (paths.length && !('dir' in target)) throw new RestoreError('paths can only be restored into a directory', 'target');
  const chosen = selectDump(cat, selector);
  openSink(target, []).abort(); // an unwritable target fails before any media is touched
  if (chosen.matches > 1) note(`${chosen.matches} dumps match; restoring the newest: #${chosen.selected.id} ${dumpName(chosen.selected)}`);
  // One stream of a multiplexed file: the file's dump (or a copy of it) is read, demux picks the stream.
  const stream = chosen.selected.container !== null ? chosen.selected : undefined;
  const sel = stream ? containerOf(cat, stream) : chosen;

  // The first copy whose volumes are all there.
  const problems: string[] = [];
  const sources: Source[] = [];
  for (const d of sel.sources) {
    const c = await checkSource(cat, d);
    if (c.source) sources.push(c.source);
    else {
      problems.push(...c.problems);
      if (sel.sources.length > 1) note(`dump #${d.id} cannot be read (${c.problems.join('; ')}); trying ${d === sel.sources[sel.sources.length - 1] ? 'nothing else' : 'a copy'}`);
    }
  }
  if (sources.length === 0) {
    throw new RestoreError(`cannot read dump #${sel.selected.id} (${dumpName(sel.selected)}): ${problems.join('; ')}`, 'volume', problems[0]?.match(/^volume (\S+)/)?.[1]);
  }

  let last: RestoreError | undefined;
  for (const [i, src] of sources.entries()) {
    try {
      const r = await restoreFrom(cat, sel, src, target, paths, opts, note, notes, t0, stream);
      return stream ? { ...r, selected: stream, container: sel.selected.id } : r;
    } catch (e) {
      if (!(e instanceof RestoreError)) throw e;
      last = e;
      const more = i + 1 < sources.length && (e.kind === 'corrupt' || e.kind === 'volume') && !('fd' in target);
      if (!more) throw e;
      note(`dump #${src.dump.id}: ${e.message}; trying copy #${sources[i + 1].dump.id}`);
    }
  }
  throw last!;
}

async function restoreFrom(cat: Catalog, sel: Selection, src: Source, target: RestoreTarget, paths: readonly string[], opts: RestoreDumpOptions,
  note: (s: string) => void, notes: string[], t0: number, stream?: DumpRow): Promise<RestoreDumpResult> {
  const d = src.dump;
  const dumpSize = d.size ?? src.parts.reduce((a, p) => a + p.size, 0);
  // A copy holds the same stream (re-split into other parts): the original's index serves it.
  const same = sel.selected.id !== d.id && sel.selected.crc === d.crc && sel.selected.size === d.size;
  const index = stream ? undefined : storedIndex(cat, d.id) ?? (same ? storedIndex(cat, sel.selected.id) : undefined);
  const p = plan(index, paths, dumpSize, d.id);
  if (p.why) notes.push(p.why); // in the result (xfa restore --verbose), not worth an interruption

  // The inverse filters.
  let amanda: AmandaHeader | undefined;
  let steps: ElementSpec[] | undefined;
  let sniffed = 0;
  if (index) steps = index.inverseFilters();
  else {
    amanda = await firstHeader(src);
    steps = (amanda && fromHeader(amanda)) ?? fromColumns(d);
    if (steps.length === 0 && !amanda?.compressed && !amanda?.encrypted) {
      const s = await sniff(src, dumpSize, opts.tmpdir ?? tmpdir(), opts.xfer);
      sniffed = s.bytes;
      steps = s.steps;
      if (steps.length) notes.push(`no slice index and no filters recorded for dump #${d.id}: its first bytes say ${steps.map((x) => x.name).join(' then ')}`);
    }
  }
  if (stream) steps = [...steps, element('demux', { streams: [String(stream.stream)] }), ...fromColumns(stream)];
  const decrypting = steps.some((s) => s.name === 'filter-decrypt');
  const keys = opts.keys;
  if (!decrypting && (keys?.keyFile || keys?.passphraseFile || keys?.privateKeyFile)) note('the dump is not encrypted by xfa: the key is not used');

  const scratch = scratchTemp(opts.tmpdir ?? tmpdir(), 'xfa-restore-');
  let bytesRead = sniffed;
  try {
    // An RSA-wrapped key: the stream header comes first from the media.
    let key: string | undefined;
    if (decrypting && keys?.privateKeyFile && !keys.keyFile && !keys.passphraseFile) {
      const file = join(scratch, 'head');
      const fd = openSync(file, 'w+');
      try {
        bytesRead += await readRange(src, { offset: 0, length: Math.min(HEADER_PREFIX_BYTES, dumpSize) }, fd, opts.xfer);
        const prefix = Buffer.alloc(HEADER_PREFIX_BYTES);
        readSync(fd, prefix, 0, prefix.length, 0);
        let len: number;
        try {
          len = headerLength(prefix);
        } catch (e) {
          throw new RestoreError(`the dump's stream header cannot be read: ${(e as Error).message}`, 'key');
        }
        bytesRead += await readRange(src, { offset: HEADER_PREFIX_BYTES, length: len - HEADER_PREFIX_BYTES }, fd, opts.xfer);
        const header = Buffer.alloc(len);
        readSync(fd, header, 0, len, 0);
        try {
          key = decryptProps({ privateKeyFile: keys.privateKeyFile, header }).key;
        } catch (e) {
          throw new RestoreError(`--private-key ${keys.privateKeyFile}: ${(e as Error).message}`, 'key');
        }
      } catch (e) {
        if (e instanceof XferError) throw await mediaError(src, src.parts.slice(0, 1), e);
        throw e;
      } finally {
        closeSync(fd);
      }
    }

    const sliceList = p.selective ? p.slices.map((s) => s.slice).join(',') : undefined;
    const inverse = withKeys(steps, keys, key, sliceList);
    const checkNative = !p.selective && amanda?.nativeCrc && amanda.nativeCrc.crc !== '00000000';
    const sink = openSink(target, p.members);
    let source: ElementSpec;
    try {
      if (p.selective) {
        const staged = join(scratch, 'ranges');
        const fd = openSync(staged, 'w');
        try {
          for (const r of p.ranges) bytesRead += await readRange(src, r, fd, opts.xfer);
        } catch (e) {
          if (e instanceof XferError) throw await mediaError(src, partsFor(src.parts, p.ranges), e);
          throw e;
        } finally {
          closeSync(fd);
        }
        source = element('source-file', { path: staged });
      } else {
        source = recovery(src);
      }
      const chain = [source, ...inverse, ...(checkNative ? [element('filter-crc', {})] : []), sink.spec];
      const r = stream ? await runGraph(chain, opts.xfer) : await run(chain, opts.xfer);
      if (!p.selective) bytesRead += bytesOut(r.messages);
      if (r.error) throw await transferError(src, p, r, target, sink.describe);
      let crc: RestoreDumpResult['crc'] = { status: 'skipped' };
      if (!p.selective) {
        crc = await checkCrcs(src, r.messages, target);
        if (checkNative) {
          const got = r.messages.find((m) => m.type === 'crc' && m.elt.startsWith('filter-crc')) as { crc: string; size: number } | undefined;
          if (!got || got.crc !== amanda!.nativeCrc!.crc || got.size !== amanda!.nativeCrc!.size) {
            throw new RestoreError(`the restored stream has CRC32C ${got?.crc}:${got?.size}, the Amanda header's NATIVE-CRC is ${amanda!.nativeCrc!.crc}:${amanda!.nativeCrc!.size}${leftBehind(target)}`, 'corrupt');
          }
          crc.native = 'ok';
        }
      }
      sink.commit();
      return {
        dump: d, selected: sel.selected, matches: sel.matches, selective: p.selective, indexed: index !== undefined, why: p.why,
        members: p.members, bytesRead, dumpSize, ranges: p.ranges, chain: chain.map((s) => s.name), crc, notes, seconds: (Date.now() - t0) / 1000,
      };
    } catch (e) {
      sink.abort();
      throw e;
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

const leftBehind = (target: RestoreTarget): string =>
  'dir' in target ? `; files already extracted into ${target.dir} may be damaged or incomplete` : 'file' in target ? `; ${target.file} was not written` : '';

async function mediaError(src: Source, parts: PartRow[], e: XferError): Promise<RestoreError> {
  const bad = await diagnose(src, parts);
  if (bad) return bad;
  return new RestoreError(`reading dump #${src.dump.id}: ${e.message}`, /find volume|open changer/.test(e.message) ? 'volume' : 'failed');
}

async function transferError(src: Source, p: Plan, r: Run, target: RestoreTarget, where: string): Promise<RestoreError> {
  const e = r.error!;
  const tar = e.element.startsWith('dest-process') ? processOutput(r.messages, 'dest-process') : '';
  const text = `${e.message}${tar && !e.message.includes(tar) ? ` (${tar})` : ''}`;
  if (/wrong (key|passphrase)/i.test(e.message)) return new RestoreError(`dump #${src.dump.id}: ${e.message}`, 'key');
  if (ENOSPC.test(text) || /Cannot write: No space/i.test(tar)) return new RestoreError(`${where}: no space left on device: ${text}${leftBehind(target)}`, 'no-space', where);
  if (e.cancelled) return new RestoreError(`restore of dump #${src.dump.id} cancelled${leftBehind(target)}`, 'failed');
  // The target's own failures (a reader gone, a member tar cannot find or write) say what they
  // are: no need to read the whole dump again.
  const targetFault = e.element.startsWith('dest-fd') || e.element.startsWith('dest-file') || /Not found in archive|Cannot (open|write|mkdir)/.test(tar);
  if (targetFault) {
    const kind: RestoreErrorKind = /Not found in archive/.test(tar) ? 'path' : 'target';
    return new RestoreError(`restore of dump #${src.dump.id} failed: ${text}${leftBehind(target)}`, kind);
  }
  // Anything else may come from the media: name the bad part when there is one.
  const read = p.selective ? partsFor(src.parts, p.ranges) : src.parts;
  const bad = await diagnose(src, read);
  if (bad) return new RestoreError(`${bad.message}${leftBehind(target)}`, 'corrupt', bad.where);
  const kind: RestoreErrorKind = e.element.startsWith('dest-process') ? (/Not found in archive/.test(tar) ? 'path' : 'failed') : e.element.startsWith('source-') ? 'volume' : 'filter';
  return new RestoreError(`restore of dump #${src.dump.id} failed: ${text}${leftBehind(target)}`, kind);
}

async function checkCrcs(src: Source, messages: XferMessage[], target: RestoreTarget): Promise<RestoreDumpResult['crc']> {
  const d = src.dump;
  const got = messages.find((m) => m.type === 'crc' && m.elt.startsWith('source-recovery')) as { crc: string; size: number } | undefined;
  const done = messages.filter((m) => m.type === 'part-done' && m.elt.startsWith('source-recovery')) as Array<{ partnum: number; size: number }>;
  const wrongPart = src.parts.find((p) => {
    const m = done.find((x) => x.partnum === p.partnum);
    return !m || m.size !== p.size;
  });
  const mismatch = !got || (d.crc !== null && got.crc !== d.crc) || (d.size !== null && got.size !== d.size) || wrongPart !== undefined;
  if (!mismatch) return d.crc ? { status: 'ok', crc: got!.crc, size: got!.size } : { status: 'skipped', crc: got!.crc, size: got!.size };
  const bad = await diagnose(src, src.parts);
  if (bad) return Promise.reject(new RestoreError(`${bad.message}${leftBehind(target)}`, 'corrupt', bad.where));
  const why = !got ? 'no CRC from the reader' : `CRC32C ${got.crc}:${got.size}, the catalog says ${d.crc}:${d.size}`;
  return Promise.reject(new RestoreError(`dump #${d.id}: the stream read has ${why}${leftBehind(target)}`, 'corrupt'));
}
