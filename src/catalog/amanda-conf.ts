/**
 * Reading an Amanda configuration as Amanda 3.5 does (server-src/conffile.c, tapefile.c), for
 * `xfa catalog import-amanda` (amanda-import.ts): amanda.conf with its includefiles — tapelist,
 * logdir, the changer (tpchanger/tapedev, `define changer`, each `define storage`'s) — and the
 * tapelist, one volume a line.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';

export class AmandaImportError extends Error {
  override name = 'AmandaImportError';
}

// ----- amanda.conf -----

export interface AmandaConfig {
  /** The configuration directory and its name (its last path component). */
  dir: string;
  name: string;
  tapelist: string;
  logdir: string;
  /** The default storage's changer as xfa names it ("chg-disk:DIR", "chg-multi:..", a device), if any. */
  changer?: string;
  /** Changer of each `define storage NAME` (and of the configuration's own name). */
  storages: Record<string, string>;
  /** What could not be understood (an unsupported changer, ...). */
  warnings: string[];
}

interface ConfBlock {
  values: Record<string, string[]>;
  defines: Array<{ kind: string; name: string; block: ConfBlock }>;
}

/** Splits a configuration text into lines of tokens (quotes removed, comments dropped). */
function confTokens(text: string): string[][] {
  const lines: string[][] = [];
  for (const raw of text.split('\n')) {
    const toks: string[] = [];
    const re = /"((?:\\.|[^"\\])*)"|([{}])|([^\s"{}#]+)|(#.*)/g;
    for (let m; (m = re.exec(raw));) {
      if (m[4] !== undefined) break;
      toks.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? m[3]));
    }
    if (toks.length) lines.push(toks);
  }
  return lines;
}

const keyOf = (k: string): string => k.toLowerCase().replace(/_/g, '-');

function parseConf(file: string, depth = 0): ConfBlock {
  if (depth > 10) throw new AmandaImportError(`${file}: includefile nested too deep`);
  const top: ConfBlock = { values: {}, defines: [] };
  const stack: ConfBlock[] = [top];
  const text = readFileSync(file, 'utf8');
  for (const toks of confTokens(text)) {
    const cur = stack[stack.length - 1];
    if (toks[0] === '}') {
      if (stack.length > 1) stack.pop();
      continue;
    }
    const key = keyOf(toks[0]);
    if (key === 'includefile' && toks[1] && stack.length === 1) {
      const inc = isAbsolute(toks[1]) ? toks[1] : join(resolve(file, '..'), toks[1]);
      if (existsSync(inc)) {
        const sub = parseConf(inc, depth + 1);
        Object.assign(top.values, sub.values);
        top.defines.push(...sub.defines);
      }
      continue;
    }
    if (key === 'define' && toks.length >= 3) {
      const block: ConfBlock = { values: {}, defines: [] };
      cur.defines.push({ kind: keyOf(toks[1]), name: toks[2], block });
      if (toks[3] === '{') stack.push(block);
      continue;
    }
    if (toks[toks.length - 1] === '{') {
      // an unnamed-kind block such as `holdingdisk hd1 {`: skip its contents
      const block: ConfBlock = { values: {}, defines: [] };
      cur.defines.push({ kind: key, name: toks[1] ?? '', block });
      stack.push(block);
      continue;
    }
    cur.values[key] = toks.slice(1);
  }
  return top;
}


/** The changer a storage (or the configuration) uses, as xfa names it; undefined when unsupported. */
function changerOf(tpchanger: string | undefined, tapedev: string | undefined, conf: ConfBlock, warnings: string[]): string | undefined {
  const named = (n: string) => conf.defines.find((d) => d.kind === 'changer' && d.name === n);
  let spec = tpchanger ?? '';
  if (spec && named(spec)) {
    const d = named(spec)!;
    spec = d.block.values.tapedev?.[0] ?? d.block.values.tpchanger?.[0] ?? '';
  }
  if (!spec || spec === 'chg-disk' || spec === 'chg-single') {
    // legacy: tpchanger "chg-disk" with tapedev "file:DIR" holding slotN; or no changer, one device
    const dev = tapedev ?? '';
    if (spec === 'chg-disk' && dev.startsWith('file:')) return `chg-disk:${dev.slice(5)}`;
    spec = dev;
  }
  if (/^chg-disk:/.test(spec)) return spec.replace(/^chg-disk:\/\//, 'chg-disk:/');
  if (/^chg-multi:/.test(spec)) return spec;
  if (/^chg-single:/.test(spec)) return spec.slice('chg-single:'.length);
  if (/^(file|diskflat):/.test(spec)) return spec;
  if (spec) warnings.push(`changer "${spec}" is not supported (chg-disk:DIR, chg-multi:LIST, file:DIR or diskflat:FILE)`);
  return undefined;
}

/** Reads CONFIGDIR/amanda.conf (what the import needs). Throws AmandaImportError without it. */
export function readAmandaConfig(configDir: string): AmandaConfig {
  const dir = resolve(configDir);
  const file = join(dir, 'amanda.conf');
  if (!existsSync(file)) throw new AmandaImportError(`${dir}: no amanda.conf (not an Amanda configuration directory)`);
  const conf = parseConf(file);
  const rel = (p: string) => (isAbsolute(p) ? p : join(dir, p));
  const v = (k: string) => conf.values[k]?.[0];
  const warnings: string[] = [];
  const name = dir.split('/').filter(Boolean).pop() ?? dir;
  const changer = changerOf(v('tpchanger'), v('tapedev'), conf, warnings);
  const storages: Record<string, string> = {};
  if (changer) storages[name] = changer;
  for (const d of conf.defines.filter((x) => x.kind === 'storage')) {
    const c = changerOf(d.block.values.tpchanger?.[0] ?? v('tpchanger'), d.block.values.tapedev?.[0] ?? v('tapedev'), conf, warnings);
    if (c) storages[d.name] = c;
  }
  return { dir, name, tapelist: rel(v('tapelist') ?? 'tapelist'), logdir: rel(v('logdir') ?? '/usr/adm/amanda'), changer, storages, warnings };
}

// ----- tapelist -----

export interface TapelistEntry {
  /** When the volume was last written; "0" for labeled and never written. */
  datestamp: string;
  label: string;
  reuse: boolean;
  barcode?: string;
  meta?: string;
  /** KiB. */
  blocksize?: number;
  pool?: string;
  storage?: string;
  config?: string;
  comment?: string;
}

/** Parses a tapelist (Amanda 3.5's fields, in its order; older lines lack the later ones). */
export function parseTapelist(text: string): TapelistEntry[] {
  const out: TapelistEntry[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    const t = line.trim();
    if (!t) continue;
    const hash = t.indexOf('#');
    const body = hash >= 0 ? t.slice(0, hash) : t;
    const w = body.split(/\s+/).filter(Boolean);
    if (w.length < 2) throw new AmandaImportError(`tapelist line ${i + 1}: "${line}" has no label`);
    const e: TapelistEntry = { datestamp: w[0], label: w[1], reuse: true };
    for (const f of w.slice(2)) {
      if (f === 'reuse') e.reuse = true;
      else if (f === 'no-reuse') e.reuse = false;
      else if (f.startsWith('BARCODE:')) e.barcode = f.slice(8);
      else if (f.startsWith('META:')) e.meta = f.slice(5);
      else if (f.startsWith('BLOCKSIZE:')) e.blocksize = Number(f.slice(10));
      else if (f.startsWith('POOL:')) e.pool = f.slice(5);
      else if (f.startsWith('STORAGE:')) e.storage = f.slice(8);
      else if (f.startsWith('CONFIG:')) e.config = f.slice(7);
      else throw new AmandaImportError(`tapelist line ${i + 1}: "${line}": unknown field "${f}"`);
    }
    if (hash >= 0) e.comment = t.slice(hash + 1);
    out.push(e);
  }
  return out;
}

