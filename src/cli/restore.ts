/**
 * `xfa restore`: a thin layer over restoreDump (src/restore/dump.ts, where the choices are
 * documented). Selectors and one target are required — no default target, so that nothing is
 * ever extracted over the current directory by accident. Notes (which of several dumps was
 * chosen, a copy standing in) go to stderr; the summary (or --json's object) to stdout, or to
 * stderr when the data itself goes to stdout.
 */
import { existsSync } from 'node:fs';
import { openCatalog, type Catalog } from '../catalog/db.js';
import { dumpName } from '../catalog/verify.js';
import { RestoreError, restoreDump, type DumpSelector, type RestoreDumpResult, type RestoreTarget } from '../restore/dump.js';
import type { ParsedArgs } from './args.js';
import { catalogPath, withCatalog } from './catalog.js';
import { listDump } from '../restore/list.js';
import { Exit, UsageError, type Io } from './io.js';
import { humanBytes } from './format.js';
import { cancellable, signalExit } from './signals.js';

const USAGE = 'restore';

function selector(v: NonNullable<ParsedArgs['values']>): DumpSelector {
  const str = (k: string) => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
  const s: DumpSelector = {};
  const dump = str('dump');
  if (dump !== undefined) {
    if (!/^\d+$/.test(dump) || Number(dump) < 1) throw new UsageError(`--dump wants a dump id (a number, as xfa ls shows it), got "${dump}"`, USAGE);
    s.dump = Number(dump);
  }
  const level = str('level');
  if (level !== undefined) {
    if (!/^\d{1,2}$/.test(level)) throw new UsageError(`--level wants a number 0..99, got "${level}"`, USAGE);
    s.level = Number(level);
  }
  const date = str('date');
  if (date !== undefined) {
    if (!/^\d{4,14}$/.test(date)) throw new UsageError(`--date wants YYYYMMDD[hhmmss] (or a prefix of it, at least the year), got "${date}"`, USAGE);
    s.date = date;
  }
  if (str('host') !== undefined) s.host = str('host');
  if (str('disk') !== undefined) s.disk = str('disk');
  if (Object.keys(s).length === 0) throw new UsageError('restore wants a dump: --dump ID, or --host/--disk/--date/--level', USAGE);
  return s;
}

function target(v: NonNullable<ParsedArgs['values']>): RestoreTarget {
  const to = typeof v.to === 'string' ? v.to : undefined;
  const output = typeof v.output === 'string' ? v.output : undefined;
  const stdout = v.stdout === true || output === '-';
  const given = [to !== undefined, output !== undefined && output !== '-', stdout].filter(Boolean).length;
  if (given !== 1) {
    throw new UsageError(`restore wants exactly one target: --to DIR (extract), --output FILE or --stdout (the native stream)${given ? '' : '; there is no default'}`, USAGE);
  }
  if (to !== undefined) {
    if (to === '') throw new UsageError('--to wants a directory', USAGE);
    return { dir: to };
  }
  if (output !== undefined && output !== '-') {
    if (output === '') throw new UsageError('--output wants a file', USAGE);
    return { file: output };
  }
  return { fd: 1 };
}


function summary(r: RestoreDumpResult, t: RestoreTarget): string {
  const where = 'dir' in t ? `into ${t.dir}` : 'file' in t ? `to ${t.file}` : 'to stdout';
  const what = r.members.length ? `${r.members.length} path${r.members.length === 1 ? '' : 's'}` : 'the whole dump';
  const copy = r.container !== undefined
    ? ` (stream ${r.selected.stream} of #${r.container}${r.dump.id !== r.container ? `, from its copy #${r.dump.id}` : ''})`
    : r.dump.id !== r.selected.id ? ` (from copy #${r.dump.id})` : '';
  const how = r.selective ? 'only the slices needed' : 'all of it';
  const crc = r.crc.status === 'ok' ? `CRC32C ${r.crc.crc} ok` : 'CRC not checked (selective read)';
  return `restored ${what} of #${r.selected.id} ${dumpName(r.selected)}${copy} ${where}: read ${humanBytes(r.bytesRead)} of ${humanBytes(r.dumpSize)} (${how}); ${crc}`;
}

/** `xfa restore --list [PATH]`: the members of the dump from its slice index, nothing read. */
function list(args: ParsedArgs, io: Io, sel: DumpSelector): Promise<number> {
  if (args.positionals.length > 1) throw new UsageError('--list takes at most one PATH (a directory to list under)', USAGE);
  return withCatalog(args, io, (cat) => {
    try {
      const r = listDump(cat, sel, args.positionals[0]);
      if (args.json) io.out(`${JSON.stringify({ dump: r.dump.id, name: dumpName(r.dump), matches: r.matches, members: r.members })}\n`);
      else {
        if (r.matches > 1) io.err(`xfa: ${r.matches} dumps match; listing the newest: #${r.dump.id} ${dumpName(r.dump)}\n`);
        for (const m of r.members) io.out(`${m.objectType.padEnd(8)} ${String(m.size).padStart(12)}  ${m.path}${m.linkTarget ? ` -> ${m.linkTarget}` : ''}\n`);
      }
      return Exit.ok;
    } catch (e) {
      if (!(e instanceof RestoreError)) throw e;
      io.err(`xfa: ${e.message}\n`);
      return Exit.failed;
    }
  }, { mustExist: true });
}

export async function restore(args: ParsedArgs, io: Io): Promise<number> {
  const v = args.values ?? {};
  const sel = selector(v);
  if (v.list === true) return list(args, io, sel);
  const tgt = target(v);
  const paths = args.positionals;
  if (paths.length && !('dir' in tgt)) throw new UsageError('PATHs are extracted: give --to DIR', USAGE);
  const str = (k: string) => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
  const file = catalogPath(args, io);
  if (!existsSync(file)) {
    io.err(`xfa: no catalog at ${file} (give --catalog FILE, or rebuild one from the media with xfa reindex)\n`);
    return Exit.failed;
  }
  let cat: Catalog;
  try {
    cat = openCatalog(file);
  } catch (e) {
    io.err(`xfa: ${(e as Error).message}\n`);
    return Exit.failed;
  }
  const report = (text: string) => ('fd' in tgt ? io.err(text) : io.out(text));
  try {
    const out = await cancellable((signal) => restoreDump(cat, sel, tgt, {
      paths, tmpdir: str('tmpdir'), xfer: { signal },
      keys: { keyFile: str('key-file'), passphraseFile: str('passphrase-file'), privateKeyFile: str('private-key') },
      onNote: (s) => io.err(`xfa: ${s}\n`),
    }));
    if ('error' in out) {
      if (!out.signal) throw out.error;
      io.err(`xfa: ${(out.error as Error).message ?? String(out.error)}\n`);
      return signalExit(out.signal);
    }
    const r = out.value;
    if (args.json) {
      const { dump, selected, ...rest } = r;
      report(`${JSON.stringify({ dump: dump.id, selected: selected.id, name: dumpName(selected), ...rest, target: tgt })}\n`);
    } else {
      if (args.verbose) {
        for (const n of r.notes) io.err(`xfa: ${n}\n`);
        io.err(`xfa: chain: ${r.chain.join(' ! ')}\n`);
      }
      if (!args.quiet) report(`${summary(r, tgt)}\n`);
    }
    return Exit.ok;
  } catch (e) {
    if (!(e instanceof Error) || e instanceof UsageError) throw e;
    io.err(`xfa: ${e.message}\n`);
    if (args.json) report(`${JSON.stringify({ error: e.message, kind: e instanceof RestoreError ? e.kind : 'failed', where: e instanceof RestoreError ? e.where ?? null : null })}\n`);
    return Exit.failed;
  } finally {
    cat.close();
  }
}
