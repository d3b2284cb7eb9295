/**
 * Rebuilding the catalog from media alone (`xfa reindex`): every volume's label and file headers
 * are scanned (scanVolume), parts are grouped into dumps by (host, disk, level, datestamp) and
 * ordered by part number, and every part is read back (source-device) for its size and CRC32C; the
 * dump's CRC is their combination. Nothing is written to the catalog until all of that is done;
 * then one transaction writes every row (after dropping the old ones, when replacing): a bad spec
 * or a failure midway leaves the catalog as it was.
 *
 * Each spec given is a storage (a chg-disk:DIR, a device): the parts a storage holds of a dump are
 * one dump row (dumps.storage = the spec, in the form `xfa migrate` records: chg-disk:/ABS/DIR).
 * The same dump on several storages (the original and its `xfa migrate` copies) with the same size
 * and CRC is one family: the first good one in the order the specs were given is the original, the
 * others are recorded as its copies (copy_of), as migrate records them, and a restore may read any
 * of them. The same (host, disk, level, datestamp) with another CRC is recorded as a separate dump
 * and `warnings` says so. A dump not good on a storage (parts missing, unreadable) is a failed row
 * of its own, copy of nothing (its CRC cannot be compared).
 *
 * Labels are unique in a catalog: a label read again at another device (two changers or two single
 * devices written with the same label template) is a problem, that volume skipped; the first one
 * read (in the order the specs are given) keeps the label, its device and its parts. A device
 * named twice (a slot and its changer, two spellings of one path) is read once.
 *
 * A dump is recorded 'ok' (origin 'reindex') when its parts are 1..N with none missing or
 * unreadable and, when a header gives the total (totalparts > 0), N is that total. Otherwise it is
 * 'failed' with the reason. Headers of dest-taper's parts say "totalparts -1" (as Amanda's do), so
 * a dump cut short after its last complete part cannot be told from a whole one: those are 'ok'
 * with origin 'reindex', and `problems` says so.
 *
 * Slice indexes (what a selective restore needs: tar member → slices → stored byte ranges) are
 * rebuilt from the stream of each good dump, read with source-recovery across its parts:
 *   - an index trailer at the end of the stream (SliceIndex's zstd skippable frame, e.g. a
 *     dest-file backup with its trailer later written to volumes) is read as it is: two small
 *     reads from the end of the dump;
 *   - else, when the stream is cut into independent slices — seekable zstd or any zstd frames
 *     (filter-zstd), gzip members (filter-gzip), filter-catenize frames around gzip, zstd, xz,
 *     bzip2 or lz4 — the stream is read once through the inverse filter and filter-tar-index
 *     (SliceIndex.rebuild): the same slices (native ↔ stored ranges) and tar members as the index
 *     the backup recorded; only the filters' properties that the stream does not show (zstd level,
 *     workers, the exact catenize command line) are not recovered.
 * Not rebuilt: plain tar streams and streams of a single slice (one gzip member or zstd frame,
 * as Amanda's own compression writes: no slices to seek to, a restore reads them whole anyway),
 * encrypted streams (filter-encrypt: the key is not on the media), streams of other programs
 * (dump, star, an application) — their dumps are still recorded, without an index. Neither can
 * reindex know what a transfer's messages said and the media do not: the dump's start and end
 * times, the volumes' write and reuse counts, the compression and encryption of streams whose
 * Amanda header does not say (xfa's filters write none there), and dumps whose parts were all lost.
 */
import { readdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { headerFirstLine, type AmandaHeader } from '../media/header.js';
import { scanVolume, volumeStatus } from '../media/volume.js';
import { element, type ElementSpec } from '../registry.js';
import { parseCatenizeMarker, SliceIndex } from '../slice-index.js';
import { Xfer } from '../xfer.js';
import { crc32cOfParts } from './crc.js';
import { CatalogError, type Catalog } from './db.js';
import { normalizeStorage } from './migrate.js';
import { readPartCrc, SLICE_INDEX_FORMAT } from './recorder.js';

/** Devices of a chg-disk:DIR (its slotN directories in slot order), or the spec itself. */
export function devicesOf(spec: string): string[] {
  const m = /^chg-disk:(.+)$/.exec(spec);
  if (!m) return [spec];
  return readdirSync(m[1]).filter((n) => /^slot\d+$/.test(n)).sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)))
    .map((n) => `file:${join(m[1], n)}`);
}

export interface ReindexReport {
  volumes: number;
  /** Dump rows recorded: one per storage holding a dump (a copy on another storage is a row of its own). */
  dumps: number;
  parts: number;
  /** Dumps recorded ok / failed. */
  ok: number;
  failed: number;
  /** Rows recorded as copies (copy_of) of the same dump on a storage named earlier. */
  copies: number;
  /** Good dumps given a slice index rebuilt from their stream (trailer or scan; a copy gets the one
   * of the dump it copies, without reading its stream again). */
  indexed: number;
  /** Volumes that could not be read, and dumps not recorded as good, with why. */
  problems: Array<{ where: string; message: string }>;
  /** Blank volumes skipped; good dumps whose completeness the headers cannot prove; the same
   * dump with different contents on two storages. */
  warnings: Array<{ where: string; message: string }>;
}

interface Found {
  label: string;
  device: string;
  fileno: number;
  header: AmandaHeader;
}

/** One storage's parts of one dump, read back: what becomes one dump row. */
interface Group {
  storage: string;
  found: Found[];
  name: string;
  /** Parts read back (in part order), when they are 1..N. */
  crcs: Array<{ crc: string; size: number }>;
  why?: string;
  /** The whole dump, when it is good. */
  size?: number;
  crc?: string;
  index?: Buffer;
  /** The group this one is a copy of (same dump, same size and CRC, on a storage named earlier). */
  copyOf?: Group;
  id?: number;
}

/** What tells two names of one device apart from two devices: a file: device's real path. */
function sameDevice(device: string): string {
  const m = /^file:(.+)$/.exec(device);
  if (!m) return device;
  try {
    return `file:${realpathSync(m[1])}`;
  } catch {
    return device;
  }
}

/** The storage a spec names, as dumps.storage keeps it (migrate's form). Single devices given one
 * by one (file:/vt/slot1 file:/vt/slot2 ...) are one storage together — a dump spans them — kept
 * as '' (no storage recorded: the parts' devices say where it is). */
function storageOfSpec(spec: string): string {
  if (!spec.startsWith('chg-') && !spec.startsWith('s3:')) return '';
  try {
    return normalizeStorage(spec);
  } catch {
    return spec;
  }
}

/**
 * Scans `specs` (devices or chg-disk:DIR) into the catalog, which must have no volumes unless
 * `replace` (then everything in it is dropped and the rebuilt rows written in one transaction, after
 * every volume was read: a spec that cannot be listed, or of which no labeled volume can be read,
 * is a CatalogError before the catalog is touched, and a failure midway leaves the catalog as it
 * was). Each spec is a storage: its parts of a dump are one dump row (storage = the spec); the same
 * dump (host, disk, level, datestamp) on several storages with the same size and CRC is recorded
 * once per storage, the later rows copies (copy_of) of the first good one, so restores take any of
 * them; different CRCs are separate dumps, with a warning.
 */
export async function reindex(catalog: Catalog, specs: readonly string[], opts: { replace?: boolean; indexes?: boolean } = {}): Promise<ReindexReport> {
  const isEmpty = (): boolean => !catalog.volumes().length && !catalog.dumps().length;
  if (!isEmpty() && !opts.replace) throw new CatalogError(`catalog ${catalog.file} is not empty (replace it to rebuild it from the media)`);
  const problems: ReindexReport['problems'] = [];
  const warnings: ReindexReport['warnings'] = [];

  // 1. Every spec listed and every volume scanned (headers only); nothing written yet.
  const volumes = new Map<string, { label: string; device: string; state: 'written' | 'labeled'; datestamp?: string }>();
  const seen = new Set<string>();
  /** Per dump (host, disk, level, datestamp): per storage, in spec order, its parts. */
  const dumps = new Map<string, Map<string, Found[]>>();
  for (const spec of specs) {
    const storage = storageOfSpec(spec);
    let devices: string[];
    try {
      devices = devicesOf(spec);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'no such directory' : code === 'ENOTDIR' ? 'not a directory' : `cannot list: ${(e as Error).message}`;
      throw new CatalogError(`reindex: ${spec}: ${why}`);
    }
    if (!devices.length) throw new CatalogError(`reindex: ${spec}: no slot directories (slotN) in it`);
    let labeled = 0;
    let blank = 0;
    let clashes = 0;
    let again = 0;
    const unreadable: string[] = [];
    for (const device of devices) {
      const same = sameDevice(device);
      if (seen.has(same)) {
        again++; // named twice (e.g. a slot and its changer)
        continue;
      }
      seen.add(same);
      let scan;
      try {
        const st = volumeStatus(device);
        if (st.status.includes('VOLUME_UNLABELED')) {
          warnings.push({ where: device, message: 'blank volume, skipped' });
          blank++;
          continue;
        }
        scan = scanVolume(device);
      } catch (e) {
        problems.push({ where: device, message: `skipped: ${(e as Error).message}` });
        unreadable.push((e as Error).message);
        continue;
      }
      // A label already read at another device (two changers, or two single devices, with the same
      // label template): the first volume keeps the label and its parts, this one is refused.
      const other = volumes.get(scan.label);
      if (other) {
        problems.push({ where: device, message: `skipped: label ${scan.label} is also on ${other.device} (labels must be unique in a catalog)` });
        clashes++;
        continue;
      }
      labeled++;
      volumes.set(scan.label, { label: scan.label, device, state: scan.files.length ? 'written' : 'labeled', datestamp: scan.datestamp });
      for (const f of scan.files) {
        const h = f.header;
        if (h.type !== 'SPLIT_FILE' && h.type !== 'FILE') continue;
        const key = JSON.stringify([h.name, h.disk ?? '', h.dumplevel ?? 0, h.datestamp]);
        const byStorage = dumps.get(key) ?? new Map<string, Found[]>();
        const list = byStorage.get(storage) ?? [];
        list.push({ label: scan.label, device, fileno: f.file, header: h });
        byStorage.set(storage, list);
        dumps.set(key, byStorage);
      }
    }
    if (!labeled && !clashes && !again) {
      const what = [blank && `${blank} blank`, unreadable.length && `${unreadable.length} unreadable: ${unreadable[0]}`].filter(Boolean).join(', ');
      throw new CatalogError(`reindex: ${spec}: no readable volume${what ? ` (${what})` : ''}`);
    }
  }

  // 2. Every part read back (the slow part), copies matched by size and CRC, slice indexes rebuilt.
  const groups: Group[] = [];
  const several = specs.length > 1;
  for (const byStorage of dumps.values()) {
    const goodHere: Group[] = [];
    for (const [storage, found] of byStorage) {
      found.sort((a, b) => (a.header.partnum ?? 1) - (b.header.partnum ?? 1));
      const h = found[0].header;
      const name = `${h.name}:${h.disk ?? ''} level ${h.dumplevel ?? 0} ${h.datestamp}${several ? ` on ${storage || 'the devices given'}` : ''}`;
      const g: Group = { storage, found, name, crcs: [] };
      groups.push(g);
      for (const [i, f] of found.entries()) {
        const partnum = f.header.partnum ?? 1;
        if (partnum !== i + 1) {
          g.why ??= partnum === i ? `part ${partnum} found twice (${f.label}:${f.fileno})` : `part ${i + 1} is missing`;
          g.crcs.push({ crc: '', size: -1 }); // keeps crcs[i] found[i]'s; never recorded
          continue;
        }
        try {
          g.crcs.push(await readPartCrc(f.device, f.fileno, f.label));
        } catch (e) {
          g.why ??= `part ${partnum} at ${f.label}:${f.fileno} unreadable: ${(e as Error).message}`;
          g.crcs.push({ crc: '', size: -1 }); // never recorded
        }
      }
      const total = found.map((f) => f.header.totalparts ?? -1).find((t) => t > 0);
      if (!g.why && total !== undefined && total !== found.length) g.why = `${found.length} of ${total} parts`;
      if (g.why) continue;
      g.size = g.crcs.reduce((s, c) => s + c.size, 0);
      g.crc = crc32cOfParts(g.crcs);
      if (total === undefined && found.length > 1) {
        warnings.push({ where: name, message: `${found.length} parts, total unknown (totalparts -1): recorded ok, completeness not provable from headers` });
      }
      const same = goodHere.find((o) => o.size === g.size && o.crc === g.crc);
      if (same) {
        g.copyOf = same.copyOf ?? same;
        g.index = same.index;
        continue;
      }
      if (goodHere.length) {
        warnings.push({ where: name, message: `not the same dump as on ${goodHere.map((o) => o.storage).join(', ')} (size ${g.size}, CRC ${g.crc}; there ${goodHere.map((o) => `${o.size}, ${o.crc}`).join('; ')}): recorded as a separate dump` });
      }
      goodHere.push(g);
      if (opts.indexes !== false) {
        const r = await streamIndex(found.map((f, i) => ({ ...f, size: g.crcs[i].size })), h);
        if (r.index) g.index = deflateRawSync(Buffer.from(JSON.stringify(r.index.toJSON())), { level: 9 });
        else if (r.why) warnings.push({ where: name, message: `no slice index: ${r.why}` });
      }
    }
  }

  // 3. The catalog replaced in one transaction: all of it or none.
  let parts = 0;
  let ok = 0;
  let failed = 0;
  let copies = 0;
  let indexed = 0;
  catalog.tx(() => {
    if (!isEmpty()) {
      if (!opts.replace) throw new CatalogError(`catalog ${catalog.file} is not empty (replace it to rebuild it from the media)`);
      catalog.db.exec('DELETE FROM slice_indexes; DELETE FROM parts; DELETE FROM dumps; DELETE FROM volumes;');
    }
    for (const v of volumes.values()) catalog.upsertVolume(v);
    for (const g of groups) {
      const h = g.found[0].header;
      const id = g.id = catalog.startDump({
        host: h.name, disk: h.disk ?? '', level: h.dumplevel ?? 0, datestamp: h.datestamp, program: h.program,
        compression: h.compressed ? (h.compSuffix ?? 'yes') : undefined, encryption: h.encrypted ? (h.encryptSuffix ?? 'yes') : undefined,
        origin: 'reindex', storage: g.storage || undefined, copyOf: g.copyOf?.id,
      });
      for (const [i, f] of g.found.entries()) {
        const c = g.crcs[i];
        if (!c || c.size < 0 || (f.header.partnum ?? 1) !== i + 1) continue;
        catalog.addPart(id, { label: f.label, device: f.device, fileno: f.fileno, partnum: i + 1, size: c.size, crc: c.crc, newSession: false });
        parts++;
      }
      if (g.why) {
        catalog.failDump(id, `reindex: ${g.why}`);
        problems.push({ where: g.name, message: g.why });
        failed++;
        continue;
      }
      catalog.finishDump(id, g.size!, g.crc!);
      if (g.index) {
        catalog.setSliceIndex(id, SLICE_INDEX_FORMAT, g.index);
        indexed++;
      }
      if (g.copyOf) copies++;
      ok++;
    }
  });
  return { volumes: volumes.size, dumps: groups.length, parts, ok, failed, copies, indexed, problems, warnings };
}

// ----- slice indexes from the stream -----

const TRAILER_MAGIC = Buffer.from([0x89, 0x58, 0x46, 0x41, 0x49, 0x44, 0x58, 0x0a]); // \x89XFAIDX\n
const TRAILER_HEAD = 24;
const TRAILER_FOOT = 32;

/** What a catenized frame's payload was made by, from its first bytes. */
function catenizedProgram(b: Buffer): string | undefined {
  if (b[0] === 0x1f && b[1] === 0x8b) return 'gzip -c';
  if (b.readUInt32LE(0) === 0xfd2fb528) return 'zstd -c';
  if (b.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz -c';
  if (b.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2 -c';
  if (b.readUInt32LE(0) === 0x184d2204) return 'lz4 -c';
  return undefined;
}

/**
 * The slice index of a dump from its stream alone: its trailer when it has one, else rebuilt by
 * scanning a sliced stream (see the file's comment). `why` when there is none.
 */
export async function streamIndex(parts: ReadonlyArray<{ label: string; device: string; fileno: number; size: number }>, header: AmandaHeader):
Promise<{ index?: SliceIndex; from?: 'trailer' | 'scan'; why?: string }> {
  const total = parts.reduce((s, p) => s + p.size, 0);
  if (total < 64) return {};
  const devices = [...new Set(parts.map((p) => p.device))];
  const recovery = {
    changer: devices.length === 1 ? devices[0] : `chg-multi:${devices.join(',')}`,
    header: headerFirstLine({ ...header, type: 'SPLIT_FILE' }),
    parts: parts.map((p) => `${p.label}:${p.fileno}:${p.size}`),
  };
  const read = async (offset: number, size: number): Promise<Buffer> => {
    const x = new Xfer([element('source-recovery', { ...recovery, offset, size }), element('dest-buffer', { 'max-size': size })]);
    x.start();
    await x.done;
    return x.result(1) ?? Buffer.alloc(0);
  };
  let dataLength = total;
  try {
    const foot = await read(total - TRAILER_FOOT, TRAILER_FOOT);
    if (foot.subarray(24).equals(TRAILER_MAGIC)) {
      const len = Number(foot.readBigUInt64LE(0));
      const at = Number(foot.readBigUInt64LE(8));
      if (at + TRAILER_HEAD + len + TRAILER_FOOT === total) {
        dataLength = at;
        try {
          return { index: SliceIndex.fromTrailer(await read(at, total - at)), from: 'trailer' };
        } catch {
          // a damaged trailer: scan the data before it instead
        }
      }
    }
    const head = await read(0, Math.min(64, dataLength));
    let filters: ElementSpec[];
    if (head.readUInt32LE(0) === 0xfd2fb528) {
      const tail = await read(dataLength - 9, 9);
      filters = [element('filter-zstd', tail.readUInt32LE(5) === 0x8f92eab1 ? { seekable: true } : {})];
    } else if (head[0] === 0x1f && head[1] === 0x8b) {
      filters = [element('filter-gzip', {})];
    } else if (parseCatenizeMarker(head)) {
      const cmd = catenizedProgram(head.subarray(48));
      if (!cmd) return { why: 'filter-catenize frames of an unknown program' };
      filters = [element('filter-catenize', { cmd })];
    } else {
      return {}; // plain, encrypted or another program's stream: nothing to rebuild
    }
    const index = await SliceIndex.rebuild('', { filters, dataLength, source: element('source-recovery', { ...recovery, size: dataLength }) });
    if (!index.objects.length) return { why: `${filters[0].name} stream without tar members` };
    // One slice (a single gzip member or zstd frame, as Amanda's compression writes): nothing to
    // seek to, a restore reads it whole anyway.
    if (index.slices.filter((x) => x.native.length > 0).length < 2) return {};
    return { index, from: 'scan' };
  } catch (e) {
    return { why: (e as Error).message };
  }
}
