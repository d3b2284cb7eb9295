/**
 * Rebuilding the catalog from media alone: every volume's label and file headers are scanned
 * (scanVolume), parts are grouped into dumps by (host, disk, level, datestamp) and ordered by part
 * number, and every part is read back (source-device) for its size and CRC32C; the dump's CRC is
 * their combination.
 *
 * A dump is recorded 'ok' (origin 'reindex') when its parts are 1..N with none missing or
 * unreadable and, when a header gives the total (totalparts > 0), N is that total. Otherwise it is
 * 'failed' with the reason. Headers of dest-taper's parts say "totalparts -1" (as Amanda's do), so
 * a dump cut short after its last complete part cannot be told from a whole one: those are 'ok'
 * with origin 'reindex', and `problems` says so.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AmandaHeader } from '../media/header.js';
import { scanVolume, volumeStatus } from '../media/volume.js';
import { crc32cOfParts } from './crc.js';
import { CatalogError, type Catalog } from './db.js';
import { readPartCrc } from './recorder.js';

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
export async function reindex(catalog: Catalog, specs: readonly string[], opts: { replace?: boolean } = {}): Promise<ReindexReport> {
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
      if (total === undefined && found.length > 1) {
        warnings.push({ where: name, message: `${found.length} parts, total unknown (totalparts -1): recorded ok, completeness not provable from headers` });
      }
      ok++;
    }
  }
  return { volumes, dumps: dumps.size, parts, ok, failed, problems, warnings };
}
