/**
 * `xfa migrate` (Amanda's amvault; D2D2T): copies dumps from one storage to another, re-split to
 * the destination's part size, verified by CRC, and records each copy as a new dump of the
 * catalog (origin 'migrate', copy_of = the dump it was read from, storage = the destination).
 *
 *     const plan = planMigration(catalog, { to: 'chg-disk:/vault', fullsOnly: true });
 *     const report = await migrate(catalog, { to: 'chg-disk:/vault', partSize: 1 << 30, labelTemplate: 'VAULT-%%' });
 *
 * Storages (strings, as in dumps.storage):
 *  - `chg-disk:DIR` (vtape slots), `chg-multi:LIST`, or one device (`file:DIR`, `tape:/dev/nst0`,
 *    `tape:emu:IMAGE`): written with dest-taper (mode append, `partSize`, `labelTemplate`,
 *    `labelstr`, `deviceProperties` such as MAX_VOLUME_USAGE, `partCache` for PEOM on tapes) and
 *    recorded by a Recorder, which reads every part back (source-device) before the copy is ok.
 *    Tapes (tape: devices; only the st emulator was tested) zero-pad a file's last block, so
 *    their parts are read back here instead, with source-recovery at each part's exact size.
 *    Each dump continues on the slot where the previous copy to that storage ended.
 *  - `s3:BUCKET[/PREFIX]`: volumes of the s3 device (src/devices/s3.ts, driven by the C++
 *    elements through the device bridge) at `s3:BUCKET/PREFIX/slot-NN/`, written like any other
 *    changer's: dest-taper on `chg-multi:s3:BUCKET/PREFIX/slot-{01..M}/` starting at slot N, the
 *    slot where the last copy to the storage ended (changer slot N is slot-NN, so a label
 *    template's `%%`/`$s` is N), moving to the next slot at LEOM (MAX_VOLUME_USAGE). The list ends
 *    S3_SLOTS_AHEAD (100) slots after N: one copy can use, or pass over (another configuration's
 *    volume, an unreadable one), at most that many slots, else it fails ("no usable volume
 *    left"); the next copy starts again where this one ended, so the bound is per copy, not per
 *    storage. Recorded by a Recorder (parts "s3:BUCKET/PREFIX/slot-NN/", read back with
 *    source-recovery) like the vtape copies. Connection: `s3` (S3 device properties: ENDPOINT or
 *    S3_HOST/S3_SSL, S3_ACCESS_KEY/S3_SECRET_KEY, REGION, ...) and `deviceProperties` (BLOCK_SIZE,
 *    MAX_VOLUME_USAGE, ...; these win), given to dest-taper and the read-back as device
 *    properties; what both leave out comes from the environment (S3_ENDPOINT, S3_ACCESS_KEY, ...:
 *    s3PropsWithEnv). Credentials are never stored in the catalog.
 *  - `holding:DIR` (source only): DIR is scanned (recursively) for first chunks of Amanda holding
 *    files (FILE headers; `.tmp` files skipped), read with source-holding. A holding dump that is
 *    not in the catalog is recorded when it is copied (origin 'reindex', storage holding:DIR, ok
 *    with the CRC source-holding reports once it was read whole, no parts), so the copy has a
 *    copy_of.
 *
 * Sources. Without `from`, every ok dump in the catalog (a dump and its copies form a family —
 * copy_of chains to the original — and one member is read: the original if it is ok, else the
 * oldest ok copy; holding members are read only with `from: 'holding:DIR'`). With `from`, only
 * members on that storage (a dump's storage is dumps.storage, or for dumps written before
 * copies existed, the chg-disk:DIR / device its parts' volumes are on). Catalog dumps are read
 * with source-recovery over their parts (LABEL:FILE:SIZE, volumes found by label in the
 * storage's changer; S3 parts with recoveryElement, the `s3` connection as device properties).
 *
 * Filters: `host`, `disk` (exact or glob: * ? [...]), `since` (YYYYMMDD[hhmmss], datestamps
 * from then on), `fullsOnly` (level 0), `latestFulls` (the newest level-0 dump of each
 * host:disk, after the other filters).
 *
 * Verified: the bytes read must have the source dump's CRC and size (the catalog's; for a holding
 * file not yet in the catalog, source-holding's), the writer's CRC must be the same, and the
 * parts read back from the destination must combine to it. Only then is the copy 'ok'; any error
 * or mismatch records it 'failed' with the reason, never 'ok'.
 *
 * Resumable: a family that already has an ok member on the destination is skipped ("already
 * copied"); copies to the destination left 'running' (a migrate killed mid-copy) are marked
 * failed when the next migrate to that storage starts, and their dumps are copied again. (Two
 * migrates to the same storage at once are not supported: the second would fail the first's
 * running copy.) Parts of a failed copy stay on the media, recorded under the failed dump.
 *
 * Bytes are copied verbatim (still compressed/encrypted), as amvault does; so a copy gets the
 * source's slice index (selective restores work from it).
 */
import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { S3Device, s3PropsWithEnv, type S3DeviceProperties } from '../devices/s3.js';
import { expandBraces } from '../media/braces.js';
import { classifyHeader, headerText, HEADER_SIZE, parseHeader, type AmandaHeader } from '../media/header.js';
import { propertyStrings, scanVolume, volumeStatusAsync } from '../media/volume.js';
import type { XferMessage } from '../messages.js';
import { element, type ElementSpec } from '../registry.js';
import { Xfer } from '../xfer.js';
import type { Catalog, DumpInfo, DumpRow, PartRow } from './db.js';
import { Recorder } from './recorder.js';
import { recoveryElement } from './recovery.js';

export interface MigrateOptions {
  /** Destination storage: chg-disk:DIR, chg-multi:LIST, a device (file:DIR, tape:...), s3:BUCKET[/PREFIX]. */
  to: string;
  /** Source storage (chg-disk:DIR, a device, s3:..., holding:DIR); default every ok dump in the catalog. */
  from?: string;
  host?: string;
  disk?: string;
  /** YYYYMMDD[hhmmss]: dumps with this datestamp or later. */
  since?: string;
  fullsOnly?: boolean;
  latestFulls?: boolean;
  /** Bytes per part on the destination (0 = one part per dump, split only at the end of a volume). */
  partSize?: number;
  /** Labels for blank volumes ("VAULT-%%": %% / %%% = zero-padded slot number, $s = slot number). */
  labelTemplate?: string;
  /** Volumes whose labels match (POSIX ERE: dest-taper's labelstr) are appended to. Default .* */
  labelstr?: string;
  /** Destination device properties, "NAME=VALUE" (MAX_VOLUME_USAGE, BLOCK_SIZE, LEOM, ...). */
  deviceProperties?: readonly string[];
  /** dest-taper's part-cache (memory or disk) for devices without LEOM. */
  partCache?: string;
  /** S3 connection properties (S3 device property names), for s3: storages. */
  s3?: S3DeviceProperties;
  /** Progress and results as they happen. */
  onEvent?: (e: MigrateEvent) => void;
  signal?: AbortSignal;
}

export interface PlanItem {
  /** The dump read (catalog id), or null for a holding file not yet in the catalog. */
  id: number | null;
  /** The first dump of its family (what copy_of chains lead to), when in the catalog. */
  original: number | null;
  host: string;
  disk: string;
  level: number;
  datestamp: string;
  /** Bytes (the catalog's size, or the holding file's data). */
  size: number | null;
  from: string;
  to: string;
  action: 'copy' | 'skip';
  /** Why skipped ("already copied as #7"). */
  reason?: string;
  /** Holding sources: the first chunk. */
  holding?: string;
}

export interface CopyResult {
  item: PlanItem;
  status: 'ok' | 'failed' | 'skipped';
  /** The copy's dump id (also for a failed copy). */
  copyId?: number;
  /** The source's id (a holding file recorded by this run gets one). */
  sourceId?: number;
  parts?: number;
  labels?: string[];
  bytes?: number;
  seconds?: number;
  error?: string;
}

export type MigrateEvent =
  | { type: 'interrupted'; ids: number[] }
  | { type: 'start'; item: PlanItem; n: number; total: number }
  | { type: 'progress'; item: PlanItem; bytes: number }
  | { type: 'result'; result: CopyResult };

export interface MigrateReport {
  to: string;
  planned: number;
  copied: number;
  skipped: number;
  failed: number;
  bytes: number;
  seconds: number;
  /** Copies left running by an interrupted migrate, marked failed at the start. */
  interrupted: number[];
  results: CopyResult[];
}

export class MigrateError extends Error {
  override name = 'MigrateError';
}

// ----- storages -----

/** A storage spec in the form dumps.storage keeps: absolute directories, no trailing slashes. */
export function normalizeStorage(spec: string): string {
  const m = /^(chg-disk|holding|file|diskflat):(.+)$/.exec(spec);
  if (m) return `${m[1]}:${resolve(m[2])}`;
  const s = /^s3:([^/]+)\/*(.*?)\/*$/.exec(spec);
  if (s) return s[2] ? `s3:${s[1]}/${s[2]}` : `s3:${s[1]}`;
  if (/^(chg-multi|tape|rait|null):/.test(spec)) return spec;
  throw new MigrateError(`"${spec}" is not a storage (chg-disk:DIR, chg-multi:LIST, file:DIR, tape:DEV, s3:BUCKET[/PREFIX], holding:DIR)`);
}

const kindOf = (storage: string): 's3' | 'holding' | 'taper' => (storage.startsWith('s3:') ? 's3' : storage.startsWith('holding:') ? 'holding' : 'taper');


/** The devices of a changer storage, in slot order (slot N = index N-1). */
export function changerDevices(storage: string): string[] {
  const d = /^chg-disk:(.+)$/.exec(storage);
  if (d) {
    let names: string[];
    try {
      names = readdirSync(d[1]);
    } catch {
      return [];
    }
    return names.filter((n) => /^slot\d+$/.test(n)).sort((a, b) => Number(a.slice(4)) - Number(b.slice(4))).map((n) => `file:${join(d[1], n)}`);
  }
  if (storage.startsWith('chg-multi:')) return expandBraces(storage.slice('chg-multi:'.length));
  return [storage];
}

/** Where a dump's parts live: dumps.storage, else derived from its parts' devices. */
export function storageOf(catalog: Catalog, d: DumpRow, parts: readonly PartRow[] = catalog.parts(d.id)): string {
  if (d.storage) return d.storage;
  const devices = [...new Set(parts.map((p) => p.device ?? ''))];
  if (devices.length === 0 || devices.includes('')) return 'unknown';
  const dirs = new Set(devices.map((dev) => /^file:(.+)\/slot\d+\/?$/.exec(dev)?.[1] ?? ''));
  if (dirs.size === 1 && !dirs.has('')) return `chg-disk:${resolve([...dirs][0])}`;
  if (devices.length === 1) return normalizeStorage(devices[0]);
  return `chg-multi:${devices.join(',')}`;
}

// ----- filters -----

function globRe(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        const body = glob.slice(i + 1, end).replace(/\\/g, '\\\\');
        re += `[${body[0] === '!' ? `^${body.slice(1)}` : body}]`;
        i = end;
      }
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

type Info = Pick<DumpRow, 'host' | 'disk' | 'level' | 'datestamp'>;

function matcher(opts: MigrateOptions): (d: Info) => boolean {
  const host = opts.host ? globRe(opts.host) : undefined;
  const disk = opts.disk ? globRe(opts.disk) : undefined;
  if (opts.since !== undefined && !/^\d{8}(\d{6})?$/.test(opts.since)) throw new MigrateError(`since "${opts.since}": want YYYYMMDD or YYYYMMDDhhmmss`);
  const since = opts.since;
  return (d) => (!host || host.test(d.host)) && (!disk || disk.test(d.disk)) && (!since || d.datestamp.slice(0, since.length) >= since)
    && (!opts.fullsOnly && !opts.latestFulls ? true : d.level === 0);
}

/** latestFulls: keeps, per host:disk, the items of the newest datestamp. */
function latestOnly<T extends Info>(items: T[]): T[] {
  const newest = new Map<string, string>();
  for (const i of items) {
    const k = JSON.stringify([i.host, i.disk]);
    if ((newest.get(k) ?? '') < i.datestamp) newest.set(k, i.datestamp);
  }
  return items.filter((i) => newest.get(JSON.stringify([i.host, i.disk])) === i.datestamp);
}

// ----- holding disks -----

export interface HoldingFile {
  /** The first chunk. */
  path: string;
  header: AmandaHeader;
  /** Data bytes over every chunk (headers excluded). */
  size: number;
}

function readHeaderBlock(path: string): Buffer | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const b = Buffer.alloc(HEADER_SIZE);
    const n = readSync(fd, b, 0, HEADER_SIZE, 0);
    return b.subarray(0, n);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The holding files under DIR (recursively): first chunks (FILE headers), in path order. */
export function scanHolding(dir: string): HoldingFile[] {
  const out: HoldingFile[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && !e.name.endsWith('.tmp')) {
        const b = readHeaderBlock(p);
        if (!b || classifyHeader(b) !== 'amanda') continue;
        let h: AmandaHeader;
        try {
          h = parseHeader(b);
        } catch {
          continue;
        }
        if (h.type !== 'FILE') continue;
        let size = 0;
        for (let chunk: string | undefined = p, n = 0; chunk && n < 100000; n++) {
          let st;
          try {
            st = statSync(chunk);
          } catch {
            const moved = join(d, chunk.split('/').pop()!);
            if (moved === chunk) break;
            chunk = moved;
            continue;
          }
          size += Math.max(0, st.size - HEADER_SIZE);
          const hb: Buffer | undefined = n === 0 ? b : readHeaderBlock(chunk);
          let next: string | undefined;
          try {
            next = hb ? parseHeader(hb).contFilename : undefined;
          } catch {
            next = undefined;
          }
          chunk = next || undefined;
        }
        out.push({ path: p, header: h, size });
      }
    }
  };
  walk(dir);
  return out;
}

const infoOfHeader = (h: AmandaHeader): DumpInfo => ({
  host: h.name, disk: h.disk ?? '', level: h.dumplevel ?? 0, datestamp: h.datestamp, program: h.program,
  compression: h.compressed ? (h.compSuffix ?? 'yes') : undefined, encryption: h.encrypted ? (h.encryptSuffix ?? 'yes') : undefined,
});

// ----- the plan -----

interface Family {
  root: DumpRow;
  ok: DumpRow[];
}

function families(catalog: Catalog): { byId: Map<number, DumpRow>; fams: Map<number, Family>; rootOf: (d: DumpRow) => DumpRow } {
  const all = catalog.dumps();
  const byId = new Map(all.map((d) => [d.id, d]));
  const rootOf = (d: DumpRow): DumpRow => {
    let r = d;
    for (let n = 0; r.copy_of !== null && byId.has(r.copy_of) && n < 1000; n++) r = byId.get(r.copy_of)!;
    return r;
  };
  const fams = new Map<number, Family>();
  for (const d of all) {
    const root = rootOf(d);
    const f = fams.get(root.id) ?? { root, ok: [] };
    if (d.status === 'ok') f.ok.push(d);
    fams.set(root.id, f);
  }
  for (const f of fams.values()) f.ok.sort((a, b) => (a.id === f.root.id ? -1 : b.id === f.root.id ? 1 : a.id - b.id));
  return { byId, fams, rootOf };
}

/**
 * What a migration would do, in datestamp order: one item per dump family (or holding file), to
 * copy or skipped with the reason. Changes nothing.
 */
export function planMigration(catalog: Catalog, opts: MigrateOptions): PlanItem[] {
  const to = normalizeStorage(opts.to);
  if (kindOf(to) === 'holding') throw new MigrateError('holding disks are a source only: migrate --to a changer, a device or s3:');
  const from = opts.from ? normalizeStorage(opts.from) : undefined;
  if (from === to) throw new MigrateError(`the source and the destination are the same storage (${to})`);
  const match = matcher(opts);
  const { fams, rootOf } = families(catalog);
  const storage = new Map<number, string>();
  const st = (d: DumpRow): string => {
    let s = storage.get(d.id);
    if (s === undefined) storage.set(d.id, (s = storageOf(catalog, d)));
    return s;
  };
  const onDest = (f: Family): DumpRow | undefined => f.ok.find((m) => st(m) === to);
  const skipOrCopy = (item: Omit<PlanItem, 'action'>, f: Family | undefined): PlanItem => {
    const there = f ? onDest(f) : undefined;
    if (!there) return { ...item, action: 'copy' };
    return { ...item, action: 'skip', reason: there.id === f!.root.id ? `already on ${to} (#${there.id})` : `already copied as #${there.id}` };
  };

  let items: PlanItem[] = [];
  if (from && kindOf(from) === 'holding') {
    const dir = from.slice('holding:'.length);
    let files: HoldingFile[];
    try {
      files = scanHolding(dir);
    } catch (e) {
      throw new MigrateError(`cannot scan holding directory ${dir}: ${(e as Error).message}`);
    }
    const rows = catalog.db.prepare('SELECT * FROM dumps WHERE host = ? AND disk = ? AND level = ? AND datestamp = ? AND storage = ? ORDER BY id DESC');
    for (const hf of files) {
      const info = infoOfHeader(hf.header);
      if (!match(info)) continue;
      const known = rows.all(info.host, info.disk, info.level, info.datestamp, from) as DumpRow[];
      const row = known.find((d) => d.status === 'ok') ?? known[0];
      const f = row ? fams.get(rootOf(row).id) : undefined;
      items.push(skipOrCopy({
        id: row?.id ?? null, original: f?.root.id ?? null, host: info.host, disk: info.disk, level: info.level, datestamp: info.datestamp,
        size: row?.status === 'ok' ? row.size : hf.size, from, to, holding: hf.path,
      }, f));
    }
  } else {
    for (const f of fams.values()) {
      // A stream of a multiplexed file has no parts: it moves with its container (a dump of its own).
      if (f.root.container !== null) continue;
      if (!f.ok.length || !match(f.root)) continue;
      const readable = f.ok.filter((m) => st(m) !== to && kindOf(st(m)) !== 'holding' && st(m) !== 'unknown');
      const src = from ? readable.find((m) => st(m) === from) : readable[0];
      if (from && !src && !(onDest(f) && f.ok.some((m) => st(m) === from))) continue;
      const base = { original: f.root.id, host: f.root.host, disk: f.root.disk, level: f.root.level, datestamp: f.root.datestamp, to };
      if (!src) {
        const there = onDest(f);
        const shown = f.ok.find((m) => m !== there) ?? there;
        items.push(there ? skipOrCopy({ ...base, id: shown!.id, size: shown!.size, from: st(shown!) }, f)
          : { ...base, id: f.ok[0].id, size: f.ok[0].size, from: st(f.ok[0]), action: 'skip', reason: 'no readable copy (holding only, or parts without devices)' });
        continue;
      }
      items.push(skipOrCopy({ ...base, id: src.id, size: src.size, from: st(src) }, f));
    }
  }
  if (opts.latestFulls) items = latestOnly(items);
  return items.sort((a, b) => a.datestamp.localeCompare(b.datestamp) || a.host.localeCompare(b.host) || a.disk.localeCompare(b.disk)
    || a.level - b.level || (a.id ?? 0) - (b.id ?? 0));
}

// ----- S3 volumes -----

const propsList = (list: readonly string[] | undefined): S3DeviceProperties => {
  const out: S3DeviceProperties = {};
  for (const kv of list ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new MigrateError(`device property "${kv}": want NAME=VALUE`);
    out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
};

/** The device of slot N of an S3 storage: s3:BUCKET/PREFIX/slot-NN/. */
export function s3SlotDevice(storage: string, slot: number): string {
  return `${storage}/slot-${String(slot).padStart(2, '0')}/`;
}

const slotOfS3Device = (storage: string, device: string | null): number | undefined => {
  const m = device?.startsWith(`${storage}/`) ? /\/slot-(\d+)\/$/.exec(device) : null;
  return m ? Number(m[1]) : undefined;
};

/** How many slots of an S3 storage one copy may walk, from the slot it starts on. */
export const S3_SLOTS_AHEAD = 100;

/**
 * dest-taper's changer for a copy to an S3 storage starting at slot `from`: slot-01 up to
 * S3_SLOTS_AHEAD slots after `from` (listed from slot-01 so that changer slot N is slot-NN, as the
 * label template and the catalog's devices want), and its devices in slot order.
 */
export function s3Changer(storage: string, from: number): { changer: string; devices: string[] } {
  if (/[,{}]/.test(storage)) throw new MigrateError(`${storage}: a bucket or prefix with ',' '{' or '}' cannot be listed in a changer`);
  const last = from + S3_SLOTS_AHEAD - 1;
  return { changer: `chg-multi:${storage}/slot-{01..${String(last).padStart(2, '0')}}/`, devices: Array.from({ length: last }, (_, i) => s3SlotDevice(storage, i + 1)) };
}

/** The header of a catalog dump's first part (from its volume), for the copy's parts. */
async function sourceHeader(catalog: Catalog, d: DumpRow, parts: readonly PartRow[], s3: S3DeviceProperties): Promise<AmandaHeader> {
  const fallback: AmandaHeader = {
    type: 'SPLIT_FILE', datestamp: d.datestamp, name: d.host, disk: d.disk, dumplevel: d.level, program: d.program ?? undefined, partnum: 1, totalparts: -1,
  };
  const p = parts[0];
  if (!p?.device) return fallback;
  try {
    if (p.device.startsWith('s3:')) {
      // Only the header (one request): the C++ scanVolume cannot read s3: on this thread, scanVolumeAsync reads every file's.
      const dev = S3Device.open(p.device, s3PropsWithEnv(s3));
      try {
        await dev.start('read');
        return await dev.seekFile(p.fileno);
      } finally {
        await dev.finish().catch(() => undefined);
      }
    }
    const f = scanVolume(p.device).files.find((x) => x.file === p.fileno);
    return f ? parseHeader(f.text) : fallback;
  } catch {
    return fallback;
  }
}

const splitHeader = (h: AmandaHeader, partnum: number): AmandaHeader => {
  const { contFilename: _c, blocksize: _b, ...rest } = h;
  return { ...rest, type: 'SPLIT_FILE', partnum, totalparts: -1 };
};

// ----- one copy -----

interface Source {
  spec: ElementSpec;
  header: AmandaHeader;
  /** The CRC and size the bytes read must have, when known before reading. */
  expect?: { crc: string; size: number };
}

async function sourceOf(catalog: Catalog, item: PlanItem, s3: S3DeviceProperties): Promise<Source> {
  if (item.holding) {
    const h = parseHeader(readHeaderBlock(item.holding)!);
    const row = item.id === null ? undefined : catalog.dump(item.id);
    return { spec: element('source-holding', { path: item.holding }), header: h,
      expect: row?.status === 'ok' && row.crc && row.size !== null ? { crc: row.crc, size: row.size } : undefined };
  }
  const d = catalog.dump(item.id!)!;
  const parts = catalog.parts(d.id);
  if (!parts.length) throw new MigrateError('the dump has no parts in the catalog');
  const header = await sourceHeader(catalog, d, parts, s3);
  const expect = d.crc && d.size !== null ? { crc: d.crc, size: d.size } : undefined;
  if (parts.some((p) => p.device?.startsWith('s3:'))) {
    if (!parts.every((p) => p.device?.startsWith('s3:'))) throw new MigrateError('parts on S3 and elsewhere: not supported');
    return { spec: recoveryElement(d, parts, undefined, propertyStrings(s3)), header, expect };
  }
  const storage = item.from;
  const changer = storage.startsWith('chg-disk:') ? storage : `chg-multi:${[...new Set(parts.map((p) => p.device!))].join(',')}`;
  return {
    spec: element('source-recovery', { changer, header: headerText({ ...splitHeader(header, 1) }).split('\n')[0], parts: parts.map((p) => `${p.label}:${p.fileno}:${p.size}`) }),
    header, expect,
  };
}

/** The slot the next copy to a storage starts at: where the last copy's last part went. */
function startSlot(catalog: Catalog, to: string): number {
  const last = catalog.db.prepare(`SELECT v.device FROM parts p JOIN dumps d ON d.id = p.dump_id JOIN volumes v ON v.id = p.volume_id
                                   WHERE d.storage = ? ORDER BY p.id DESC LIMIT 1`).get(to) as { device: string | null } | undefined;
  if (!last?.device) return 1;
  if (kindOf(to) === 's3') return slotOfS3Device(to, last.device) ?? 1;
  const i = changerDevices(to).indexOf(last.device);
  return i >= 0 ? i + 1 : 1;
}

async function copyOne(catalog: Catalog, item: PlanItem, opts: MigrateOptions, slots: Map<string, number>): Promise<CopyResult> {
  const t0 = Date.now();
  const to = item.to;
  const s3 = opts.s3 ?? {};
  let src: Source;
  try {
    src = await sourceOf(catalog, item, s3);
  } catch (e) {
    return { item, status: 'failed', sourceId: item.id ?? undefined, error: `cannot read the source: ${(e as Error).message}` };
  }
  // A holding file not yet in the catalog is recorded now (ok once read whole).
  let sourceId = item.id;
  let recordOriginal = false;
  if (sourceId === null) {
    sourceId = catalog.startDump({ ...infoOfHeader(src.header), origin: 'reindex', storage: item.from });
    recordOriginal = true;
  } else if (item.holding && catalog.dump(sourceId)!.status !== 'ok') recordOriginal = true;
  const d = catalog.dump(sourceId)!;
  const info: DumpInfo = { host: d.host, disk: d.disk, level: d.level, datestamp: d.datestamp, program: d.program ?? undefined,
    compression: d.compression ?? undefined, encryption: d.encryption ?? undefined };
  const copyInfo = { ...info, origin: 'migrate' as const, copyOf: sourceId, storage: to };
  const slot = slots.get(to) ?? startSlot(catalog, to);

  let srcCrc: { crc: string; size: number } | undefined;
  let srcError: string | undefined;
  const onSource = (m: XferMessage): void => {
    if (m.index !== 0) return;
    if (m.type === 'crc') srcCrc = { crc: m.crc, size: m.size };
    if (m.type === 'error') srcError ??= m.message;
  };
  const progress = (m: XferMessage): void => {
    if (m.type === 'progress' && m.index === 1) opts.onEvent?.({ type: 'progress', item, bytes: m.bytesIn });
  };
  /** Why the bytes read are not the source dump's, if they are not. */
  const sourceMismatch = (): string | undefined => {
    if (!srcCrc) return 'the source reported no CRC';
    if (src.expect && (srcCrc.crc !== src.expect.crc || srcCrc.size !== src.expect.size)) {
      return `the source read back has CRC ${srcCrc.crc} (${srcCrc.size} bytes), the catalog says ${src.expect.crc} (${src.expect.size} bytes)`;
    }
    return undefined;
  };
  const finishOriginal = (): void => {
    if (!recordOriginal) return;
    if (srcCrc && !srcError) catalog.finishDump(sourceId!, srcCrc.size, srcCrc.crc);
    else catalog.failDump(sourceId!, `reading the holding file failed: ${srcError ?? 'incomplete'}`);
  };

  try {
    // A changer, a device or S3 slots: dest-taper, recorded (and read back) by a Recorder.
    let changer = to;
    let devices: string[] | undefined;
    let props = opts.deviceProperties ? [...opts.deviceProperties] : [];
    if (kindOf(to) === 's3') {
      ({ changer, devices } = s3Changer(to, slot));
      props = propertyStrings({ ...s3, ...propsList(opts.deviceProperties) });
      // The first slot, asked first: dest-taper would pass over a slot it cannot read or label and
      // try the next ones (up to S3_SLOTS_AHEAD, each with the device's retries); a wrong endpoint
      // or credentials, or no label template for a blank slot, fail the copy here at once.
      const first = s3SlotDevice(to, slot);
      const st = await volumeStatusAsync(first, props);
      const why = st.status.includes('VOLUME_UNLABELED') ? (opts.labelTemplate ? undefined : `slot ${slot} is blank: a label template (--label-template) is needed to label it`)
        : st.status.length ? `${first}: ${st.error ?? st.status.join(', ')}` : undefined;
      if (why) {
        const copyId = catalog.startDump(copyInfo);
        catalog.failDump(copyId, why);
        finishOriginal();
        return { item, status: 'failed', copyId, sourceId: sourceId!, parts: 0, labels: [], bytes: 0, seconds: (Date.now() - t0) / 1000, error: why };
      }
    } else if (!to.startsWith('chg-disk:')) devices = changerDevices(to);
    const taperProps: Record<string, unknown> = {
      header: headerText(splitHeader(src.header, 1)), changer, slot, mode: 'append', 'part-size': opts.partSize ?? 0,
      ...(opts.labelTemplate ? { 'label-template': opts.labelTemplate } : {}), ...(opts.labelstr ? { labelstr: opts.labelstr } : {}),
      ...(props.length ? { 'device-properties': props } : {}),
      ...(opts.partCache ? { 'part-cache': opts.partCache } : {}),
    };
    const xfer = new Xfer([src.spec, element('dest-taper', taperProps)], { signal: opts.signal, progressMs: 500 });
    const slotDevices = devices;
    const rec = new Recorder(catalog, copyInfo, slotDevices
      ? { deviceOf: (m) => (m.slot !== undefined ? slotDevices[m.slot - 1] : undefined), writer: 'dest-taper#2',
        ...(kindOf(to) === 's3' && props.length ? { deviceProperties: props } : {}) }
      : { changer: to, writer: 'dest-taper#2' });
    let lastSlot = slot;
    let writerCrc: { crc: string; size: number } | undefined;
    const verifyError = (message: string): XferMessage => ({ type: 'error', elt: 'migrate', index: -1, version: 1, message, op: 'verify', errno: 0 });
    xfer.on('message', (m: XferMessage) => {
      onSource(m);
      progress(m);
      if (m.index === 0 && (m.type === 'part-done' || m.type === 'info' || m.type === 'crc')) return; // the source's, not the copy's
      if (m.type === 'part-done') {
        const s = (m as { slot?: number }).slot;
        if (s !== undefined) lastSlot = s;
      }
      if (m.type === 'crc') writerCrc = { crc: m.crc, size: m.size };
      if (m.type === 'done') {
        // The copy is good only if what was read is the source dump and what was written is what was read.
        const bad = srcError ? undefined : sourceMismatch()
          ?? (writerCrc && (writerCrc.crc !== srcCrc!.crc || writerCrc.size !== srcCrc!.size) ? `wrote CRC ${writerCrc.crc}, read ${srcCrc!.crc}` : undefined);
        if (bad) rec.message(verifyError(bad));
      }
      rec.message(m);
    });
    xfer.start();
    await xfer.done.catch(() => undefined);
    const status = await rec.finished;
    if (status === 'ok') copySliceIndex(catalog, sourceId!, rec.dumpId);
    slots.set(to, lastSlot);
    finishOriginal();
    const copy = catalog.dump(rec.dumpId)!;
    const parts = catalog.parts(rec.dumpId);
    return {
      item, status: status === 'ok' ? 'ok' : 'failed', copyId: rec.dumpId, sourceId: sourceId!, parts: parts.length,
      labels: [...new Set(parts.map((p) => p.label))], bytes: parts.reduce((s, p) => s + p.size, 0), seconds: (Date.now() - t0) / 1000,
      ...(status === 'ok' ? {} : { error: copy.error ?? 'failed' }),
    };
  } catch (e) {
    return { item, status: 'failed', sourceId: sourceId ?? undefined, error: (e as Error).message };
  }
}

/** The copy holds the same stored bytes: the source's slice index (if any) is the copy's too. */
function copySliceIndex(catalog: Catalog, from: number, to: number): void {
  catalog.db.prepare('INSERT OR IGNORE INTO slice_indexes (dump_id, format, data) SELECT ?, format, data FROM slice_indexes WHERE dump_id = ?').run(to, from);
}

/** Marks copies to `to` left 'running' (an interrupted migrate) as failed; returns their ids. */
export function failInterrupted(catalog: Catalog, to: string): number[] {
  const storage = normalizeStorage(to);
  const ids = (catalog.db.prepare("SELECT id FROM dumps WHERE origin = 'migrate' AND status = 'running' AND storage = ? ORDER BY id").all(storage) as Array<{ id: number }>).map((r) => r.id);
  catalog.tx(() => {
    for (const id of ids) catalog.failDump(id, 'interrupted: a migrate stopped during this copy');
  });
  return ids;
}

/** Runs the plan: copies every 'copy' item, one at a time; a failed copy does not stop the others. */
export async function migrate(catalog: Catalog, opts: MigrateOptions): Promise<MigrateReport> {
  const t0 = Date.now();
  const to = normalizeStorage(opts.to);
  const interrupted = failInterrupted(catalog, to);
  if (interrupted.length) opts.onEvent?.({ type: 'interrupted', ids: interrupted });
  const plan = planMigration(catalog, opts);
  const results: CopyResult[] = [];
  const slots = new Map<string, number>();
  const todo = plan.filter((i) => i.action === 'copy').length;
  let n = 0;
  for (const item of plan) {
    if (item.action === 'skip') {
      const r: CopyResult = { item, status: 'skipped', error: item.reason };
      results.push(r);
      opts.onEvent?.({ type: 'result', result: r });
      continue;
    }
    if (opts.signal?.aborted) break;
    opts.onEvent?.({ type: 'start', item, n: ++n, total: todo });
    const r = await copyOne(catalog, item, opts, slots);
    results.push(r);
    opts.onEvent?.({ type: 'result', result: r });
  }
  const count = (s: CopyResult['status']) => results.filter((r) => r.status === s).length;
  return {
    to, planned: plan.length, copied: count('ok'), skipped: count('skipped'), failed: count('failed'),
    bytes: results.reduce((s, r) => s + (r.status === 'ok' ? r.bytes ?? 0 : 0), 0), seconds: (Date.now() - t0) / 1000, interrupted, results,
  };
}
