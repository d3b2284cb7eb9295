/** The catalog commands: `xfa ls`, `xfa label`, `xfa verify` (src/catalog/ does the work). */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { openCatalog, type Catalog, type CatalogError, type DumpRow } from '../catalog/db.js';
import { reindex as reindexCatalog } from '../catalog/reindex.js';
import { dumpName, verify as verifyCatalog } from '../catalog/verify.js';
import { labelVolume, volumeStatus } from '../media/volume.js';
import type { ParsedArgs } from './args.js';
import { humanBytes } from './format.js';
import { Exit, UsageError, type Io } from './io.js';

const count = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;

/** --catalog, else $XFA_CATALOG, else ~/.local/share/xfa/catalog.db. */
export function catalogPath(args: ParsedArgs, io: Io): string {
  const c = args.values?.catalog;
  if (typeof c === 'string' && c !== '') return c;
  return io.env.XFA_CATALOG || join(io.env.HOME || homedir(), '.local', 'share', 'xfa', 'catalog.db');
}

/** Opens the catalog, runs f, closes it; a catalog that cannot be opened is exit 1 with why. */
export function withCatalog<R>(args: ParsedArgs, io: Io, f: (c: Catalog) => R | Promise<R>, opts: { mustExist?: boolean } = {}): Promise<R | number> {
  const file = catalogPath(args, io);
  // Commands that only read refuse a catalog that is not there (a mistyped path would otherwise
  // become an empty catalog and "0 problems").
  if (opts.mustExist && !existsSync(file)) {
    io.err(`xfa: no catalog at ${file} (give --catalog FILE or set XFA_CATALOG; xfa reindex rebuilds one from the media)\n`);
    return Promise.resolve(Exit.failed);
  }
  let cat: Catalog;
  try {
    cat = openCatalog(file);
  } catch (e) {
    io.err(`xfa: ${(e as CatalogError).message}\n`);
    return Promise.resolve(Exit.failed);
  }
  return Promise.resolve(f(cat)).finally(() => cat.close());
}

/** The dumps `xfa ls` filters select: --host, --disk (exact, or a glob with * and ?), --since, --status. */
function dumpFilter(args: ParsedArgs): (d: DumpRow) => boolean {
  const v = args.values ?? {};
  const str = (k: string): string | undefined => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
  const glob = (pat: string | undefined): ((s: string) => boolean) => {
    if (pat === undefined) return () => true;
    const re = new RegExp(`^${pat.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
    return (s) => re.test(s);
  };
  const since = str('since');
  if (since !== undefined && !/^\d{8}(\d{6})?$/.test(since)) throw new UsageError(`--since ${since}: want YYYYMMDD or YYYYMMDDhhmmss`, 'ls');
  const status = str('status');
  if (status !== undefined && !['ok', 'failed', 'running'].includes(status)) throw new UsageError(`--status ${status}: ok, failed or running`, 'ls');
  const host = glob(str('host'));
  const disk = glob(str('disk'));
  return (d) => host(d.host) && disk(d.disk) && (since === undefined || d.datestamp >= since) && (status === undefined || d.status === status);
}

export function ls(args: ParsedArgs, io: Io): Promise<number> {
  if (args.positionals.length) throw new UsageError('ls takes no arguments', 'ls');
  const keep = dumpFilter(args);
  const filtered = ['host', 'disk', 'since', 'status'].some((k) => args.values?.[k] !== undefined);
  return withCatalog(args, io, (cat) => {
    const dumps = cat.dumps().filter(keep).map((d) => ({ ...d, indexed: cat.sliceIndex(d.id) !== undefined, parts: cat.parts(d.id).map(({ label, fileno, partnum, size, crc }) => ({ label, fileno, partnum, size, crc })) }));
    // filtered: only the volumes that hold a part of a dump listed
    const used = new Set(dumps.flatMap((d) => d.parts.map((p) => p.label)));
    const volumes = cat.volumes().filter((v) => !filtered || used.has(v.label));
    if (args.json) {
      io.out(`${JSON.stringify({ volumes, dumps }, null, 2)}\n`);
      return Exit.ok;
    }
    const lines: string[] = [`Volumes (${volumes.length}):`];
    for (const v of volumes) {
      lines.push(`  ${v.label.padEnd(12)} ${v.state.padEnd(8)} ${humanBytes(v.bytes).padStart(9)}  written ${v.written} reused ${v.reused}  ${v.device ?? '-'}`);
    }
    lines.push(`Dumps (${dumps.length}):`);
    for (const d of dumps) {
      const size = d.size === null ? '-' : humanBytes(d.size);
      const where = d.container !== null ? `  stream ${d.stream} of #${d.container}` : d.copy_of !== null ? `  copy of #${d.copy_of}` : '';
      lines.push(`  #${d.id} ${dumpName(d)}  ${d.status}  ${size}  crc ${d.crc ?? '-'}${where}${d.indexed ? '  indexed' : ''}${d.error ? `  (${d.error})` : ''}`);
      for (const p of d.parts) lines.push(`      part ${p.partnum}  ${p.label}:${p.fileno}  ${humanBytes(p.size)}  crc ${p.crc ?? '-'}`);
    }
    io.out(`${lines.join('\n')}\n`);
    return Exit.ok;
  }, { mustExist: true });
}

export function label(args: ParsedArgs, io: Io): Promise<number> {
  const [device, name, extra] = args.positionals;
  if (device === undefined || name === undefined || extra !== undefined) throw new UsageError('label wants DEVICE and LABEL', 'label');
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new UsageError(`label "${name}": use letters, digits, '_', '-' and '.'`, 'label');
  const force = args.values?.force === true;
  const st = volumeStatus(device);
  if (st.status.includes('VOLUME_MISSING') || st.status.includes('DEVICE_ERROR')) {
    io.err(`xfa: ${device}: cannot label: ${st.error ?? st.status.join(', ')}\n`);
    return Promise.resolve(Exit.failed);
  }
  if (st.label !== undefined && !force) {
    io.err(`xfa: ${device} is already labeled "${st.label}"; --force relabels it, erasing what it holds\n`);
    return Promise.resolve(Exit.failed);
  }
  return withCatalog(args, io, (cat) => {
    // Labels name volumes in the catalog: one label on two devices would mix up their parts.
    const known = cat.volume(name);
    if (known?.device && known.device !== device && !force) {
      const dumps = (cat.db.prepare('SELECT COUNT(DISTINCT dump_id) AS n FROM parts WHERE volume_id = ?').get(known.id) as { n: number }).n;
      io.err(`xfa: the catalog already has a volume "${name}" at ${known.device}${dumps ? ` holding parts of ${dumps} dump${dumps === 1 ? '' : 's'}` : ''}; labels must be unique (--force moves the label to ${device}, and those dumps lose it)\n`);
      return Exit.failed;
    }
    try {
      labelVolume(device, name);
    } catch (e) {
      io.err(`xfa: ${device}: cannot label: ${(e as Error).message}\n`);
      return Exit.failed;
    }
    cat.tx(() => {
      if (st.label !== undefined && st.label !== name) cat.forgetVolume(st.label);
      if (cat.volume(name)) cat.relabeled(name, device); // counts a reuse, drops its old parts
      else {
        const id = cat.upsertVolume({ label: name, device, state: 'labeled' });
        if (st.label !== undefined) cat.db.prepare('UPDATE volumes SET reused = reused + 1 WHERE id = ?').run(id);
      }
    });
    const was = st.label !== undefined ? ` (was "${st.label}")` : '';
    if (args.json) io.out(`${JSON.stringify({ device, label: name, previous: st.label ?? null })}\n`);
    else io.out(`labeled ${device} "${name}"${was}\n`);
    return Exit.ok;
  });
}

export function verify(args: ParsedArgs, io: Io): Promise<number> {
  return withCatalog(args, io, async (cat) => {
    const r = await verifyCatalog(cat, { labels: args.positionals.length ? args.positionals : undefined, headersOnly: args.values?.['headers-only'] === true });
    if (args.json) io.out(`${JSON.stringify(r, null, 2)}\n`);
    else {
      for (const p of r.problems) io.out(`${p.where}: ${p.message}\n`);
      const ix = r.indexes ? `, ${r.indexes} slice index${r.indexes === 1 ? '' : 'es'} (${r.slicesProbed} slice starts read)` : '';
      for (const k of r.skipped) io.out(`dump ${k.dump}: not checked: ${k.why}\n`);
      io.out(`${count(r.volumes, 'volume')}, ${count(r.dumps, 'dump')}, ${count(r.parts, 'part')}${ix}, ${humanBytes(r.bytes)} read: ${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}\n`);
    }
    return r.problems.length ? Exit.failed : Exit.ok;
  }, { mustExist: true });
}

export function reindex(args: ParsedArgs, io: Io): Promise<number> {
  if (args.positionals.length === 0) throw new UsageError('reindex wants the volumes: DEVICE or chg-disk:DIR ...', 'reindex');
  return withCatalog(args, io, async (cat) => {
    let r;
    try {
      r = await reindexCatalog(cat, args.positionals, { replace: args.values?.force === true, indexes: args.values?.['no-indexes'] !== true });
    } catch (e) {
      io.err(`xfa: ${(e as Error).message}${/not empty/.test((e as Error).message) ? '; --force replaces it' : ''}\n`);
      return Exit.failed;
    }
    if (args.json) io.out(`${JSON.stringify(r, null, 2)}\n`);
    else {
      for (const p of r.problems) io.out(`${p.where}: ${p.message}\n`);
      for (const w of r.warnings) io.out(`${w.where}: warning: ${w.message}\n`);
      io.out(`${r.volumes} volumes, ${r.dumps} dumps (${r.ok} ok, ${r.failed} failed${r.copies ? `, ${r.copies} of them copies` : ''}), ${r.parts} parts\n`);
    }
    return r.problems.length ? Exit.failed : Exit.ok;
  });
}
