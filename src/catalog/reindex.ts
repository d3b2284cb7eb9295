/**
 * Rebuilding the catalog from media alone (`xfa reindex`): every volume's label and file headers
 * are scanned (scanVolume), parts are grouped into dumps by (host, disk, level, datestamp) and
 * ordered by part number, and every part is read back (source-device) for its size and CRC32C; the
 * dump's CRC is their combination.
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
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { headerFirstLine, type AmandaHeader } from '../media/header.js';
import { scanVolume, volumeStatus } from '../media/volume.js';
import { element, type ElementSpec } from '../registry.js';
import { parseCatenizeMarker, SliceIndex } from '../slice-index.js';
import { Xfer } from '../xfer.js';
import { crc32cOfParts } from './crc.js';
import { CatalogError, type Catalog } from './db.js';
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
  dumps: number;
  parts: number;
  /** Dumps recorded ok / failed. */
  ok: number;
  failed: number;
  /** Good dumps whose slice index was rebuilt from their stream (trailer or scan). */
  indexed: number;
  /** Volumes that could not be read, and dumps not recorded as good, with why. */
  problems: Array<{ where: string; message: string }>;
  /** Blank volumes skipped; good dumps whose completeness the headers cannot prove. */
  warnings: Array<{ where: string; message: string }>;
}

interface Found {
  label: string;
  device: string;
  fileno: number;
  header: AmandaHeader;
}

/** Scans `specs` (devices or chg-disk:DIR) into the catalog, which must have no volumes unless
 * `replace` (then everything in it is dropped first, in the same transaction as nothing else). */
export async function reindex(catalog: Catalog, specs: readonly string[], opts: { replace?: boolean; indexes?: boolean } = {}): Promise<ReindexReport> {
  if (catalog.volumes().length || catalog.dumps().length) {
    if (!opts.replace) throw new CatalogError(`catalog ${catalog.file} is not empty (replace it to rebuild it from the media)`);
    catalog.tx(() => catalog.db.exec('DELETE FROM slice_indexes; DELETE FROM parts; DELETE FROM dumps; DELETE FROM volumes;'));
  }
  const problems: ReindexReport['problems'] = [];
  const warnings: ReindexReport['warnings'] = [];
  const dumps = new Map<string, Found[]>();
  let volumes = 0;
  for (const device of specs.flatMap(devicesOf)) {
    const st = volumeStatus(device);
    if (st.status.includes('VOLUME_UNLABELED')) {
      warnings.push({ where: device, message: 'blank volume, skipped' });
      continue;
    }
    let scan;
    try {
      scan = scanVolume(device);
    } catch (e) {
      problems.push({ where: device, message: `skipped: ${(e as Error).message}` });
      continue;
    }
    volumes++;
    catalog.upsertVolume({ label: scan.label, device, state: scan.files.length ? 'written' : 'labeled', datestamp: scan.datestamp });
    for (const f of scan.files) {
      const h = f.header;
      if (h.type !== 'SPLIT_FILE' && h.type !== 'FILE') continue;
      const key = JSON.stringify([h.name, h.disk ?? '', h.dumplevel ?? 0, h.datestamp]);
      const list = dumps.get(key) ?? [];
      list.push({ label: scan.label, device, fileno: f.file, header: h });
      dumps.set(key, list);
    }
  }
  let parts = 0;
  let ok = 0;
  let failed = 0;
  let indexed = 0;
  for (const found of dumps.values()) {
    found.sort((a, b) => (a.header.partnum ?? 1) - (b.header.partnum ?? 1));
    const h = found[0].header;
    const name = `${h.name}:${h.disk ?? ''} level ${h.dumplevel ?? 0} ${h.datestamp}`;
    const id = catalog.startDump({
      host: h.name, disk: h.disk ?? '', level: h.dumplevel ?? 0, datestamp: h.datestamp, program: h.program,
      compression: h.compressed ? (h.compSuffix ?? 'yes') : undefined, encryption: h.encrypted ? (h.encryptSuffix ?? 'yes') : undefined,
    });
    catalog.db.prepare("UPDATE dumps SET origin = 'reindex' WHERE id = ?").run(id);
    let why: string | undefined;
    const crcs: Array<{ crc: string; size: number }> = [];
    for (const [i, f] of found.entries()) {
      const partnum = f.header.partnum ?? 1;
      if (partnum !== i + 1) {
        why ??= partnum === i ? `part ${partnum} found twice (${f.label}:${f.fileno})` : `part ${i + 1} is missing`;
        continue;
      }
      let got: { crc: string; size: number };
      try {
        got = await readPartCrc(f.device, f.fileno, f.label);
      } catch (e) {
        why ??= `part ${partnum} at ${f.label}:${f.fileno} unreadable: ${(e as Error).message}`;
        continue;
      }
      catalog.addPart(id, { label: f.label, device: f.device, fileno: f.fileno, partnum, size: got.size, crc: got.crc, newSession: false });
      crcs.push(got);
      parts++;
    }
    const total = found.map((f) => f.header.totalparts ?? -1).find((t) => t > 0);
    if (!why && total !== undefined && total !== found.length) why = `${found.length} of ${total} parts`;
    if (why) {
      catalog.failDump(id, `reindex: ${why}`);
      problems.push({ where: name, message: why });
      failed++;
    } else {
      catalog.finishDump(id, crcs.reduce((s, c) => s + c.size, 0), crc32cOfParts(crcs));
      if (opts.indexes !== false) {
        const r = await streamIndex(found.map((f, i) => ({ ...f, size: crcs[i].size })), h);
        if (r.index) {
          catalog.setSliceIndex(id, SLICE_INDEX_FORMAT, deflateRawSync(Buffer.from(JSON.stringify(r.index.toJSON())), { level: 9 }));
          indexed++;
        } else if (r.why) warnings.push({ where: name, message: `no slice index: ${r.why}` });
      }
      if (total === undefined && found.length > 1) {
        warnings.push({ where: name, message: `${found.length} parts, total unknown (totalparts -1): recorded ok, completeness not provable from headers` });
      }
      ok++;
    }
  }
  return { volumes, dumps: dumps.size, parts, ok, failed, indexed, problems, warnings };
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
