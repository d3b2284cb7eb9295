/**
 * Importing an Amanda configuration into the catalog, so that media Amanda wrote become
 * restorable by xfa (`xfa catalog import-amanda CONFIGDIR`).
 *
 *     const r = await importAmanda(catalog, '/etc/amanda/daily');
 *     r.ok, r.failed, r.problems   // every dump of the logs, checked against the media
 *
 * What is read, as Amanda 3.5 reads it (server-src/tapefile.c, server-src/find.c,
 * perl/Amanda/DB/Catalog.pm):
 *
 *   - CONFIGDIR/amanda.conf (and its includefiles): `tapelist` and `logdir` (relative to CONFIGDIR;
 *     defaults "tapelist" and /usr/adm/amanda), `tpchanger` / `tapedev` ("chg-disk:DIR",
 *     "chg-multi:LIST", a named `define changer`, a single "file:DIR" device; legacy
 *     `tpchanger "chg-disk"` with `tapedev "file:DIR"`), and each `define storage`'s changer.
 *   - the tapelist: `DATESTAMP LABEL [reuse|no-reuse] [BARCODE:x] [META:x] [BLOCKSIZE:n] [POOL:x]
 *     [STORAGE:x] [CONFIG:x] [#comment]`, one volume a line; datestamp 0 = labeled, never written.
 *   - every logdir/log.DATESTAMP.N (not oldlog/, where Amanda moves the logs of runs that left
 *     nothing on a volume of the tapelist): `START taper datestamp D ... label L` opens a volume;
 *     `PART`/`PARTPARTIAL taper [ST:s] [POOL:p] LABEL FILE HOST DISK DATESTAMP N/T LEVEL [sec ..
 *     bytes B ..]` are the parts (PARTPARTIAL: a part cut short by the end of the volume, retried
 *     on the next one, never restorable); `DONE`/`PARTIAL taper ... HOST DISK DATESTAMP NPARTS LEVEL
 *     NATIVE-CRC CLIENT-CRC SERVER-CRC [stats]` and `FAIL taper ... LEVEL error "why"` end a dump.
 *     FAIL lines of other programs (planner, dumper) are dumps that never reached a volume: warnings.
 *     A part counts only when its volume's tapelist datestamp is the one of the START line it was
 *     written under: a volume Amanda reused since holds other data.
 *
 * Each label of the tapelist is looked for in the slots (their volume labels) of its storage's
 * changer (the tapelist's STORAGE:, else the "ST:" of the log lines that wrote it), then of the
 * configuration's other changers; a label not found is recorded as a 'missing' volume (the problem
 * names the changer it was looked for in) and every dump with a part on it fails.
 *
 * A dump Amanda wrote on several storages (a vault storage: the same dump copied to another
 * changer, its lines "ST:vault") is one dump row per storage whose log says DONE for it, each
 * checked against its own volumes: the row of the storage the logs name first is the dump, the
 * others are its copies (copy_of), so a restore reads any good one. A storage where the dump did
 * not end DONE while another did is a warning, not a row; when none did, the last attempt is the
 * dump's only row.
 *
 * A dump is recorded 'ok' (origin 'amanda', storage = its storage's changer) only when the log says DONE,
 * its parts 1..N are all there on volumes found, each part's header on the volume names the dump
 * (host, disk, datestamp, level, part number), each part reads back (source-device) with the size
 * the log gives, and — Amanda's CRCs are CRC32C, as xfa's — the parts' combined CRC32C equals the
 * CRC Amanda logged for the stream it wrote: SERVER-CRC when the server changed the stream
 * (holding disk, server compression or encryption), else CLIENT-CRC. When the log has no CRC of
 * the stored stream's size (Amanda before 3.4 logged none) it is recorded ok and a warning says the
 * CRC could not be compared. Anything else fails the dump, with why, and is a problem.
 *
 * Importing again is idempotent: a dump already imported from the same changer (same host, disk,
 * level, datestamp) keeps its row id (and is made the copy of the first storage's row again), its parts are recorded again and its status re-checked;
 * Amanda-origin dumps no longer in the logs (their volumes were reused) are marked failed. The
 * earlier import's parts are dropped in one transaction that marks those dumps 'running'; each
 * dump's parts are then recorded with its status in one transaction: an import killed half-way
 * leaves some dumps 'running' (not restorable until imported again), none 'ok' without its parts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { AmandaImportError, parseTapelist, readAmandaConfig, type TapelistEntry } from './amanda-conf.js';
import { logFiles, parseAmandaLog, type LogCrc, type LogPart, type LogResult } from './amanda-log.js';
import { expandBraces } from '../media/braces.js';
import type { AmandaHeader } from '../media/header.js';
import { scanVolume, volumeStatus } from '../media/volume.js';
import { crc32cOfParts } from './crc.js';
import type { Catalog, DumpRow } from './db.js';
import { readPartCrc } from './recorder.js';
import { devicesOf } from './reindex.js';

// ----- the import -----

export interface ImportProblem {
  where: string;
  message: string;
}

export interface ImportReport {
  config: string;
  changer: string | null;
  /** Volumes of the tapelist: found in the changer, missing. */
  volumes: number;
  missing: string[];
  /** Dumps recorded (ok + failed), parts recorded. */
  dumps: number;
  ok: number;
  failed: number;
  parts: number;
  /** Dumps whose parts' CRC32C matched the CRC Amanda logged. */
  crcMatched: number;
  logs: number;
  problems: ImportProblem[];
  warnings: ImportProblem[];
}

interface Attempt {
  log: string;
  result?: LogResult;
  parts: LogPart[];
}

interface Volume {
  label: string;
  device?: string;
  entry: TapelistEntry;
  /** Headers by file number, scanned once when a part on the volume is checked. */
  files?: Map<number, AmandaHeader>;
  scanError?: string;
}

const name = (d: { host: string; disk: string; level: number; datestamp: string }) => `${d.host}:${d.disk} level ${d.level} ${d.datestamp}`;

/** The CRC Amanda logged for the stream it wrote to the volumes: SERVER-CRC when the server made the stream, else CLIENT-CRC. */
export function storedStreamCrc(r: Pick<LogResult, 'clientCrc' | 'serverCrc'>): LogCrc | undefined {
  if (r.serverCrc && r.serverCrc.size > 0) return r.serverCrc;
  if (r.clientCrc && r.clientCrc.size > 0) return r.clientCrc;
  return undefined;
}

/**
 * Imports the Amanda configuration in `configDir` into the catalog (see the file's comment).
 * `changer` overrides the changer amanda.conf names (e.g. the vtapes were moved).
 */
export async function importAmanda(catalog: Catalog, configDir: string, opts: { changer?: string } = {}): Promise<ImportReport> {
  const conf = readAmandaConfig(configDir);
  const problems: ImportProblem[] = [];
  const warnings: ImportProblem[] = conf.warnings.map((message) => ({ where: conf.dir, message }));
  const changer = opts.changer ?? conf.changer;
  if (!existsSync(conf.tapelist)) throw new AmandaImportError(`${conf.tapelist}: no tapelist (amanda.conf's "tapelist")`);
  const tapelist = parseTapelist(readFileSync(conf.tapelist, 'utf8'));
  const entries = new Map(tapelist.map((e) => [e.label, e]));

  // Each Amanda storage's changer: the default one (or the one given instead of it), each
  // `define storage`'s (a log line's "ST:name"); a storage xfa cannot read is the default's.
  const changerOf = (st: string | undefined): string | undefined => {
    const c = st === undefined ? undefined : conf.storages[st];
    if (c === undefined) return changer;
    return opts.changer && c === conf.changer ? opts.changer : c;
  };
  /** dumps.storage of the rows of a storage: its changer. */
  const storageOf = (st: string | undefined): string => changerOf(st) ?? `amanda:${conf.name}`;
  const changers = [...new Set([changer, ...Object.keys(conf.storages).map(changerOf)].filter((c): c is string => c !== undefined))];
  const allStorages = [...new Set([storageOf(undefined), ...Object.keys(conf.storages).map(storageOf)])];

  // The logs: parts written on current volumes, and each dump's results, per storage.
  const files = logFiles(conf.logdir);
  if (!files.length) warnings.push({ where: conf.logdir, message: 'no log files (log.DATESTAMP.N)' });
  /** Per dump, per storage (in the order the logs first name them), its attempts. */
  const attempts = new Map<string, Map<string, Attempt[]>>();
  /** The storage the logs say each volume was written by. */
  const storageOfLabel = new Map<string, string>();
  const keyOfDump = (d: { host: string; disk: string; level: number; datestamp: string }) => JSON.stringify([d.host, d.disk, d.level, d.datestamp]);
  let stale = 0;
  for (const file of files) {
    const log = parseAmandaLog(readFileSync(file, 'latin1'), file);
    for (const s of log.strange) warnings.push({ where: file, message: s });
    for (const t of log.tapes) if (t.storage !== undefined) storageOfLabel.set(t.label, t.storage);
    const here = new Map<string, Attempt>();
    const attempt = (k: string, st: string | undefined): Attempt => {
      const storage = storageOf(st);
      const hk = JSON.stringify([k, storage]);
      let a = here.get(hk);
      if (!a) {
        a = { log: file, parts: [] };
        here.set(hk, a);
        const byStorage = attempts.get(k) ?? new Map<string, Attempt[]>();
        byStorage.set(storage, [...(byStorage.get(storage) ?? []), a]);
        attempts.set(k, byStorage);
      }
      return a;
    };
    for (const p of log.parts) {
      const e = entries.get(p.label);
      if (!e || (p.volumeDatestamp !== undefined && e.datestamp !== p.volumeDatestamp)) {
        stale++;
        continue;
      }
      if (p.storage !== undefined && !storageOfLabel.has(p.label)) storageOfLabel.set(p.label, p.storage);
      attempt(keyOfDump(p), p.storage).parts.push(p);
    }
    for (const r of log.results) {
      if (r.program !== 'taper') {
        if (r.status === 'FAIL') warnings.push({ where: name(r), message: `${r.program} FAIL, never written to a volume: ${r.message ?? ''}`.trim() });
        continue;
      }
      attempt(keyOfDump(r), r.storage).result = r;
    }
  }
  if (stale) warnings.push({ where: conf.logdir, message: `${stale} parts on volumes reused or no longer in the tapelist were skipped` });

  // Each changer's volumes by label.
  const found = new Map<string, Map<string, string>>();
  for (const spec of changers) {
    let devices: string[];
    try {
      devices = spec.startsWith('chg-multi:') ? expandBraces(spec.slice('chg-multi:'.length)) : devicesOf(spec);
    } catch (e) {
      problems.push({ where: spec, message: `cannot list the changer's volumes: ${(e as Error).message}` });
      continue;
    }
    const labels = new Map<string, string>();
    for (const device of devices) {
      const st = volumeStatus(device);
      if (st.label !== undefined && !labels.has(st.label)) labels.set(st.label, device);
    }
    found.set(spec, labels);
  }
  if (!changers.length) problems.push({ where: conf.dir, message: 'amanda.conf names no changer xfa can read: every volume is missing' });

  // A volume is looked for in the changer of its storage (the tapelist's STORAGE:, else the
  // logs'), then in the others.
  const volumes = new Map<string, Volume>();
  const missing: string[] = [];
  for (const entry of tapelist) {
    const st = entry.storage ?? storageOfLabel.get(entry.label);
    const own = st !== undefined ? changerOf(st) : undefined;
    const device = (own ? found.get(own)?.get(entry.label) : undefined) ?? changers.map((c) => found.get(c)?.get(entry.label)).find((d) => d !== undefined);
    volumes.set(entry.label, { label: entry.label, device, entry });
    if (!device) {
      missing.push(entry.label);
      const where = own ?? (changers.length ? changers.join(' or ') : 'any changer');
      problems.push({ where: entry.label, message: `volume in the tapelist (written ${entry.datestamp}) not found in ${where}: missing` });
    }
  }

  const existing = new Map<string, DumpRow>();
  const rowKey = (storage: string, key: string) => JSON.stringify([storage, key]);
  const inStorages = `storage IN (${allStorages.map(() => '?').join(', ')})`;
  for (const d of catalog.db.prepare(`SELECT * FROM dumps WHERE origin = 'amanda' AND ${inStorages}`).all(...allStorages) as DumpRow[]) {
    existing.set(rowKey(d.storage!, keyOfDump(d)), d);
  }

  // Record the volumes; drop the parts of earlier imports (recorded again below, each dump's
  // with its status in one transaction). In the same transaction those dumps become 'running':
  // an import killed half-way leaves none of them 'ok' without its parts.
  catalog.tx(() => {
    for (const v of volumes.values()) {
      const state = !v.device ? 'missing' : v.entry.datestamp === '0' ? 'labeled' : 'written';
      const id = catalog.upsertVolume({ label: v.label, device: v.device, state, datestamp: v.entry.datestamp === '0' ? undefined : v.entry.datestamp });
      catalog.db.prepare('UPDATE volumes SET state = ? WHERE id = ?').run(state, id);
    }
    catalog.db.prepare(`DELETE FROM parts WHERE dump_id IN (SELECT id FROM dumps WHERE origin = 'amanda' AND ${inStorages})`).run(...allStorages);
    catalog.db.prepare(`UPDATE dumps SET status = 'running', error = 'amanda: being imported again (an interrupted import: import again)'
                        WHERE origin = 'amanda' AND ${inStorages}`).run(...allStorages);
  });

  let ok = 0;
  let failed = 0;
  let parts = 0;
  let crcMatched = 0;
  const seen = new Set<string>();
  for (const [key, byStorage] of attempts) {
    // The attempts that count: on each storage where the log says DONE, the last DONE one (a
    // dump row each: the first storage's is the dump, the others its copies); when no storage
    // has one, the last attempt.
    const chosen: Array<{ storage: string; a: Attempt }> = [];
    const undone: Array<{ storage: string; a: Attempt }> = [];
    for (const [storage, list] of byStorage) {
      const withResult = list.filter((a) => a.result || a.parts.length);
      if (!withResult.length) continue;
      const done = [...withResult].reverse().find((a) => a.result?.status === 'DONE');
      if (done) chosen.push({ storage, a: done });
      else undone.push({ storage, a: withResult[withResult.length - 1] });
    }
    if (!chosen.length) {
      const last = undone.sort((x, y) => files.indexOf(x.a.log) - files.indexOf(y.a.log)).pop();
      if (!last) continue;
      chosen.push(last);
    }
    for (const u of undone) {
      if (chosen.includes(u)) continue;
      const d = u.a.result ?? u.a.parts[0];
      const what = u.a.result ? `Amanda: ${u.a.result.status}${u.a.result.message ? ` ${u.a.result.message}` : ''}` : 'no DONE line (the run was interrupted)';
      warnings.push({ where: name(d), message: `on ${u.storage}: ${what}; not recorded (the dump is on ${chosen.map((c) => c.storage).join(', ')})` });
    }
    let first: number | undefined;
    for (const { storage, a: att } of chosen) {
      const r = att.result;
      const d = r ?? att.parts[0]!;
      const where = chosen.length > 1 ? `${name(d)} on ${storage}` : name(d);
      seen.add(rowKey(storage, key));
      const old = existing.get(rowKey(storage, key));
      const id = old?.id ?? catalog.startDump({ host: d.host, disk: d.disk, level: d.level, datestamp: d.datestamp, origin: 'amanda', storage, copyOf: first });
      const result = await checkDump(att, volumes);
      for (const w of result.warnings) warnings.push({ where, message: w });
      // The dump's parts, its status and header fields: one transaction.
      const why = catalog.tx(() => {
        let why = result.why;
        for (const p of result.parts) {
          try {
            catalog.addPart(id, p);
            parts++;
          } catch (e) {
            why ??= `part ${p.partnum} at ${p.label}:${p.fileno}: cannot record it: ${(e as Error).message}`;
          }
        }
        if (why) catalog.failDump(id, `amanda: ${why}`);
        else catalog.finishDump(id, result.size, result.crc);
        catalog.db.prepare('UPDATE dumps SET copy_of = ? WHERE id = ?').run(first ?? null, id);
        const h = result.header;
        if (h) {
          catalog.db.prepare('UPDATE dumps SET program = ?, compression = ?, encryption = ? WHERE id = ?').run(
            h.program ?? null, h.compressed ? (h.compSuffix ?? 'yes') : null, h.encrypted ? (h.encryptSuffix ?? 'yes') : null, id);
        }
        return why;
      });
      first ??= id;
      if (why) {
        problems.push({ where, message: why });
        failed++;
      } else {
        if (result.crcMatched) crcMatched++;
        ok++;
      }
    }
  }
  for (const [key, d] of existing) {
    if (seen.has(key)) continue;
    catalog.failDump(d.id, 'amanda: no longer in the Amanda logs (its volumes were reused?)');
    warnings.push({ where: name(d), message: 'imported before, no longer in the Amanda logs: marked failed' });
  }
  // Volume byte counts from the parts now recorded.
  catalog.tx(() => {
    for (const v of volumes.values()) {
      catalog.db.prepare(`UPDATE volumes SET bytes = (SELECT COALESCE(SUM(size), 0) FROM parts WHERE volume_id = volumes.id),
                                  written = MAX(written, CASE WHEN EXISTS (SELECT 1 FROM parts WHERE volume_id = volumes.id) THEN 1 ELSE 0 END)
                          WHERE label = ?`).run(v.label);
    }
  });
  return {
    config: conf.dir, changer: changer ?? null, volumes: volumes.size, missing, dumps: ok + failed, ok, failed, parts, crcMatched,
    logs: files.length, problems, warnings,
  };
}

interface Checked {
  why?: string;
  size: number;
  crc: string;
  crcMatched: boolean;
  /** The parts to record (those that read back). */
  parts: Array<{ label: string; device: string; fileno: number; partnum: number; size: number; crc: string }>;
  warnings: string[];
  header?: AmandaHeader;
}

/** Reads a dump's parts back and decides whether it is good (see the file's comment); the caller
 * records the parts and the status together. */
async function checkDump(a: Attempt, volumes: Map<string, Volume>): Promise<Checked> {
  const out: Checked = { size: 0, crc: '00000000', crcMatched: false, parts: [], warnings: [] };
  const r = a.result;
  let why: string | undefined;
  if (!r) why = 'the log has parts but no DONE, PARTIAL or FAIL line (the run was interrupted)';
  else if (r.status === 'FAIL') why = `Amanda: FAIL${r.message ? ` ${r.message}` : ''}`;
  else if (r.status === 'PARTIAL') why = `Amanda: PARTIAL${r.message ? ` ${r.message}` : ''}`;
  const good = a.parts.filter((p) => !p.partial);
  good.sort((x, y) => x.partnum - y.partnum);
  const total = r?.nparts !== undefined && r.nparts > 0 ? r.nparts : Math.max(0, ...good.map((p) => p.totalparts), good.length);
  const crcs: Array<{ crc: string; size: number }> = [];
  const recorded = new Set<number>();
  for (const p of good) {
    if (recorded.has(p.partnum)) {
      why ??= `part ${p.partnum} logged twice`;
      continue;
    }
    recorded.add(p.partnum);
    const v = volumes.get(p.label)!;
    if (!v.device) {
      why ??= `part ${p.partnum} is on ${p.label}, which is missing`;
      continue;
    }
    const at = `${p.label}:${p.fileno}`;
    if (!v.files && !v.scanError) {
      try {
        v.files = new Map(scanVolume(v.device).files.map((f) => [f.file, f.header]));
      } catch (e) {
        v.scanError = (e as Error).message;
      }
    }
    if (v.scanError) {
      why ??= `part ${p.partnum} at ${at}: volume unreadable: ${v.scanError}`;
      continue;
    }
    const h = v.files!.get(p.fileno);
    const mismatch = !h ? 'no such file on the volume'
      : h.type !== 'SPLIT_FILE' && h.type !== 'FILE' ? `a ${h.type} header`
        : h.name !== p.host || (h.disk ?? '') !== p.disk || h.datestamp !== p.datestamp || (h.dumplevel ?? 0) !== p.level || (h.partnum ?? 1) !== p.partnum
          ? `its header is ${h.name}:${h.disk ?? ''} level ${h.dumplevel ?? 0} ${h.datestamp} part ${h.partnum ?? 1}` : undefined;
    if (mismatch) {
      why ??= `part ${p.partnum} at ${at}: ${mismatch}`;
      continue;
    }
    if (p.partnum === 1 || !out.header) out.header = h;
    let got: { crc: string; size: number };
    try {
      got = await readPartCrc(v.device, p.fileno, p.label);
    } catch (e) {
      why ??= `part ${p.partnum} at ${at} unreadable: ${(e as Error).message}`;
      continue;
    }
    out.parts.push({ label: p.label, device: v.device, fileno: p.fileno, partnum: p.partnum, size: got.size, crc: got.crc });
    if (p.bytes !== undefined && (p.exactBytes ? got.size !== p.bytes : Math.abs(got.size - p.bytes) >= 1024)) {
      why ??= `part ${p.partnum} at ${at}: read back ${got.size} bytes, the log says ${p.bytes}`;
    }
    crcs.push(got);
  }
  for (let n = 1; n <= total; n++) if (!recorded.has(n)) why ??= `part ${n} of ${total} is not in the log`;
  if (!why && good.length === 0) why = 'no parts';
  if (!why && r?.nparts && good.length !== r.nparts) why = `${good.length} parts logged, DONE says ${r.nparts}`;
  out.size = crcs.reduce((s, c) => s + c.size, 0);
  out.crc = crc32cOfParts(crcs);
  if (!why && r) {
    if (r.bytes !== undefined && r.bytes > 0 && r.bytes !== out.size) why = `the parts hold ${out.size} bytes, DONE says ${r.bytes}`;
    const logged = storedStreamCrc(r);
    if (!why && logged && logged.size === out.size) {
      if (logged.crc !== out.crc) why = `the parts read back have CRC32C ${out.crc}, Amanda logged ${logged.crc}:${logged.size}`;
      else out.crcMatched = true;
    } else if (!why) {
      out.warnings.push(logged ? `Amanda's CRC ${logged.crc}:${logged.size} is not of the ${out.size} bytes stored: not compared`
        : 'the log has no CRC of the stored stream: parts read back, CRC not compared');
    }
  }
  out.why = why;
  return out;
}
