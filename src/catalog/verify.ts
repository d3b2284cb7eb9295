/**
 * Verifying media against the catalog: every volume the catalog knows is scanned (label and
 * headers), every good dump's parts are checked in sequence (part numbers 1..N, each header naming
 * the dump and the part) and read back with source-device: sizes, part CRCs and the dump's CRC.
 * A dump's slice index is checked against the dump (verify-index.ts): its structure, and the
 * stored bytes at slice starts. Every problem is reported with where it is (LABEL:FILE, the
 * volume's device, or "dump N index").
 */
import { parseHeader, type AmandaHeader } from '../media/header.js';
import { scanVolumeAsync, type VolumeContents } from '../media/volume.js';
import { crc32cOfParts } from './crc.js';
import type { Catalog, DumpRow, VolumeRow } from './db.js';
import { readPartCrc } from './recorder.js';
import { checkSliceIndex } from './verify-index.js';

export interface Problem {
  /** "LABEL:FILE", "LABEL (DEVICE)" or "dump N". */
  where: string;
  /** The dump concerned, when there is one. */
  dump?: number;
  message: string;
}

export interface VerifyReport {
  volumes: number;
  dumps: number;
  parts: number;
  bytes: number;
  /** Slice indexes checked, and slice starts read back and found right (verify-index.ts). */
  indexes: number;
  slicesProbed: number;
  /** Good dumps not checked, and why (those on a holding disk). */
  skipped: Array<{ dump: number; why: string }>;
  problems: Problem[];
}

export interface VerifyOptions {
  /** Only these volumes (labels); default all. Dumps with a part elsewhere are checked only on these. */
  labels?: readonly string[];
  /** Headers and sequences only, no data read. */
  headersOnly?: boolean;
}

export const dumpName = (d: Pick<DumpRow, 'host' | 'disk' | 'level' | 'datestamp'>): string => `${d.host}:${d.disk} level ${d.level} ${d.datestamp}`;

function headerMismatch(h: AmandaHeader, d: DumpRow, partnum: number): string | undefined {
  const want: Array<[string, unknown, unknown]> = [
    ['host', h.name, d.host], ['disk', h.disk, d.disk], ['level', h.dumplevel, d.level], ['datestamp', h.datestamp, d.datestamp],
    ['partnum', h.partnum ?? 1, partnum],
  ];
  const bad = want.filter(([, got, exp]) => got !== exp).map(([f, got, exp]) => `${f} "${String(got)}" (catalog: "${String(exp)}")`);
  if (h.type !== 'SPLIT_FILE' && h.type !== 'FILE') bad.unshift(`type ${h.type}`);
  return bad.length ? `header does not match the dump: ${bad.join(', ')}` : undefined;
}

export async function verify(catalog: Catalog, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const problems: Problem[] = [];
  const scans = new Map<string, VolumeContents>();
  const only = opts.labels ? new Set(opts.labels) : undefined;
  let volumes = 0;
  const known = new Map(catalog.volumes().map((v) => [v.label, v]));
  if (only) for (const l of only) if (!known.has(l)) problems.push({ where: l, message: 'volume not in the catalog' });

  for (const v of known.values()) {
    if (only && !only.has(v.label)) continue;
    volumes++;
    const where = `${v.label} (${v.device ?? 'no device'})`;
    if (!v.device) {
      problems.push({ where, message: 'the catalog does not say which device holds this volume' });
      continue;
    }
    let scan: VolumeContents;
    try {
      scan = await scanVolumeAsync(v.device); // s3: volumes too (the sync scanVolume refuses them)
    } catch (e) {
      problems.push({ where, message: `cannot read the volume: ${(e as Error).message}` });
      continue;
    }
    if (scan.label !== v.label) {
      problems.push({ where, message: `the volume is labeled "${scan.label}", the catalog says "${v.label}"` });
      continue;
    }
    scans.set(v.label, scan);
  }

  let dumps = 0;
  let indexes = 0;
  let slicesProbed = 0;
  let parts = 0;
  let bytes = 0;
  const skipped: VerifyReport['skipped'] = [];
  for (const d of catalog.dumps({ status: 'ok' })) {
    if (d.container !== null) {
      // a stream of a multiplexed file: its container's parts hold it, and are checked with it
      const c = catalog.dump(d.container);
      if (!only && c?.status !== 'ok') {
        problems.push({ where: `dump ${d.id}`, dump: d.id, message: `${dumpName(d)}: stream ${d.stream} of dump #${d.container}, which is ${c ? c.status : 'not in the catalog'}` });
      }
      continue;
    }
    const ps = catalog.parts(d.id);
    if (ps.length === 0 && d.storage?.startsWith('holding:')) {
      // an original still on a holding disk (recorded by xfa migrate): no volume holds it
      if (!only) skipped.push({ dump: d.id, why: `on the holding disk ${d.storage.slice('holding:'.length)}, not on a volume` });
      continue;
    }
    if (only && !ps.some((p) => only.has(p.label))) continue;
    dumps++;
    const name = dumpName(d);
    const at = (where: string, message: string): void => void problems.push({ where, dump: d.id, message: `${name}: ${message}` });
    ps.forEach((p, i) => {
      if (p.partnum !== i + 1) at(`dump ${d.id}`, `part ${i + 1} is missing from the catalog (next is part ${p.partnum})`);
    });
    if (ps.length === 0) at(`dump ${d.id}`, 'no parts');
    const crcs: Array<{ crc: string; size: number }> = [];
    let readable = true;
    for (const p of ps) {
      const where = `${p.label}:${p.fileno}`;
      if (only && !only.has(p.label)) {
        readable = false;
        continue;
      }
      parts++;
      const scan = scans.get(p.label);
      if (!scan) {
        at(where, `part ${p.partnum}: its volume could not be read`);
        readable = false;
        continue;
      }
      const f = scan.files.find((x) => x.file === p.fileno);
      if (!f) {
        at(where, `part ${p.partnum}: no such file on the volume`);
        readable = false;
        continue;
      }
      let h: AmandaHeader = f.header;
      try {
        h = parseHeader(f.text);
      } catch {
        /* the scan's parsed header stands */
      }
      const bad = headerMismatch(h, d, p.partnum);
      if (bad) at(where, `part ${p.partnum}: ${bad}`);
      if (opts.headersOnly) continue;
      let got: { crc: string; size: number };
      try {
        got = await readPartCrc(p.device!, p.fileno, p.label);
      } catch (e) {
        at(where, `part ${p.partnum}: cannot read: ${(e as Error).message}`);
        readable = false;
        continue;
      }
      bytes += got.size;
      crcs.push(got);
      if (got.size !== p.size) at(where, `part ${p.partnum}: ${got.size} bytes, the catalog says ${p.size}`);
      else if (p.crc && got.crc !== p.crc) at(where, `part ${p.partnum}: CRC32C ${got.crc}, the catalog says ${p.crc}`);
    }
    if (!opts.headersOnly && readable && d.crc && ps.length > 0) {
      const all = crc32cOfParts(crcs);
      if (all !== d.crc) at(`dump ${d.id}`, `dump CRC32C ${all}, the catalog says ${d.crc}`);
    }
    if (readable) {
      const ix = await checkSliceIndex(catalog, d, { headersOnly: opts.headersOnly });
      if (ix) {
        indexes++;
        slicesProbed += ix.probed;
        for (const m of ix.problems) at(`dump ${d.id} index`, m);
      }
    }
  }
  return { volumes, dumps, parts, bytes, indexes, slicesProbed, skipped, problems };
}

export type { VolumeRow };
