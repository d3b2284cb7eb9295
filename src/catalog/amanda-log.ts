/**
 * Amanda 3.5's log files (logdir/log.DATESTAMP.N) as `xfa catalog import-amanda` needs them: the
 * taper's START, PART/PARTPARTIAL, DONE/PARTIAL and FAIL lines, with their sizes and CRCs (see
 * amanda-import.ts for how they become dumps and parts).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

// ----- log files -----

export interface LogCrc {
  crc: string;
  size: number;
}

export interface LogPart {
  storage?: string;
  label: string;
  fileno: number;
  host: string;
  disk: string;
  datestamp: string;
  partnum: number;
  /** -1 when unknown (Amanda writes "N/-1"). */
  totalparts: number;
  level: number;
  /** Bytes written, when the log says `bytes` (kb × 1024 for older logs: approximate). */
  bytes?: number;
  exactBytes: boolean;
  /** PARTPARTIAL: cut short, never restorable. */
  partial: boolean;
  /** The START taper datestamp the volume was opened with. */
  volumeDatestamp?: string;
}

export interface LogResult {
  program: string;
  status: 'DONE' | 'PARTIAL' | 'FAIL';
  storage?: string;
  host: string;
  disk: string;
  datestamp: string;
  level: number;
  nparts?: number;
  nativeCrc?: LogCrc;
  clientCrc?: LogCrc;
  serverCrc?: LogCrc;
  bytes?: number;
  message?: string;
}

export interface AmandaLog {
  file: string;
  /** START taper lines: each volume opened, with its write datestamp. */
  tapes: Array<{ label: string; datestamp: string; storage?: string }>;
  parts: LogPart[];
  results: LogResult[];
  /** Lines that looked like dump lines but could not be parsed. */
  strange: string[];
}

/** Tokens of a log line: quoted strings unquoted (Amanda's quote_string), bracketed stats kept whole. */
function logTokens(s: string): { toks: string[]; stats?: string; rest: string } {
  const toks: string[] = [];
  let i = 0;
  while (i < s.length) {
    while (s[i] === ' ') i++;
    if (i >= s.length) break;
    if (s[i] === '[') {
      const end = s.indexOf(']', i);
      const stats = s.slice(i + 1, end < 0 ? s.length : end);
      return { toks, stats, rest: end < 0 ? '' : s.slice(end + 1).trim() };
    }
    if (s[i] === '"') {
      let j = i + 1;
      let v = '';
      for (; j < s.length && s[j] !== '"'; j++) {
        if (s[j] === '\\' && j + 1 < s.length) {
          const c = s[++j];
          v += c === 'n' ? '\n' : c === 't' ? '\t' : c === 'r' ? '\r' : c === 'f' ? '\f' : c;
        } else v += s[j];
      }
      toks.push(v);
      i = j + 1;
      continue;
    }
    let j = i;
    while (j < s.length && s[j] !== ' ') j++;
    toks.push(s.slice(i, j));
    i = j;
  }
  return { toks, rest: '' };
}

const CRC_RE = /^([0-9a-f]{8}):(\d+)$/;

function parseStats(stats: string | undefined): { bytes?: number; exact: boolean } {
  if (!stats) return { exact: false };
  const m = /\b(bytes|kb) ([-0-9.]+)/.exec(stats);
  if (!m) return { exact: false };
  return m[1] === 'bytes' ? { bytes: Number(m[2]), exact: true } : { bytes: Math.round(Number(m[2]) * 1024), exact: false };
}

/** Strips the leading [VAULT] "ST:name" "POOL:name" tokens; returns the storage name. */
function storagePrefix(toks: string[]): { storage?: string; toks: string[] } {
  let t = toks;
  if (t[0] === 'VAULT') t = t.slice(1);
  let storage: string | undefined;
  if (t[0]?.startsWith('ST:')) {
    storage = t[0].slice(3);
    t = t.slice(1);
  }
  if (t[0]?.startsWith('POOL:')) t = t.slice(1);
  return { storage, toks: t };
}

/** Parses one Amanda log file (log.DATESTAMP.N). */
export function parseAmandaLog(text: string, file = 'log'): AmandaLog {
  const log: AmandaLog = { file, tapes: [], parts: [], results: [], strange: [] };
  const opened = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith(' ')) continue; // continuation lines (a dumper's messages)
    const sp1 = line.indexOf(' ');
    const sp2 = line.indexOf(' ', sp1 + 1);
    if (sp1 < 0 || sp2 < 0) continue;
    const type = line.slice(0, sp1);
    const prog = line.slice(sp1 + 1, sp2);
    const body = line.slice(sp2 + 1);
    try {
      if (type === 'START' && prog === 'taper') {
        const { toks } = logTokens(body);
        const d = toks[toks.indexOf('datestamp') + 1];
        const li = toks.indexOf('label');
        if (toks.indexOf('datestamp') < 0 || li < 0) throw new Error('no datestamp or label');
        const storage = toks.find((t) => t.startsWith('ST:'))?.slice(3);
        log.tapes.push({ label: toks[li + 1], datestamp: d, storage });
        opened.set(toks[li + 1], d);
      } else if ((type === 'PART' || type === 'PARTPARTIAL' || type === 'CHUNK') && prog === 'taper') {
        const { toks: all, stats } = logTokens(body);
        const { storage, toks } = storagePrefix(all);
        const [label, fileno, host, disk, datestamp, pn, lvl] = toks;
        if (lvl === undefined || !/^\d+$/.test(fileno) || !/^\d+$/.test(lvl)) throw new Error('fields missing');
        const [p, t] = pn.split('/');
        const s = parseStats(stats);
        log.parts.push({
          storage, label, fileno: Number(fileno), host, disk, datestamp, partnum: Number(p), totalparts: t === undefined ? -1 : Number(t),
          level: Number(lvl), bytes: s.bytes, exactBytes: s.exact, partial: type === 'PARTPARTIAL', volumeDatestamp: opened.get(label),
        });
      } else if ((type === 'DONE' || type === 'PARTIAL') && prog === 'taper') {
        const { toks: all, stats, rest } = logTokens(body);
        const { storage, toks } = storagePrefix(all);
        const [host, disk, datestamp, ...more] = toks;
        const crcs: LogCrc[] = [];
        while (more.length && CRC_RE.test(more[more.length - 1])) {
          const m = CRC_RE.exec(more.pop()!)!;
          crcs.unshift({ crc: m[1], size: Number(m[2]) });
        }
        if (datestamp === undefined || more.length < 1 || more.length > 2 || !more.every((x) => /^-?\d+$/.test(x))) throw new Error('fields missing');
        const level = Number(more[more.length - 1]);
        const nparts = more.length === 2 ? Number(more[0]) : undefined;
        const [nativeCrc, clientCrc, serverCrc] = crcs;
        log.results.push({ program: prog, status: type, storage, host, disk, datestamp, level, nparts, nativeCrc, clientCrc, serverCrc,
          bytes: parseStats(stats).bytes, message: rest ? logTokens(rest).toks.join(' ') : undefined });
      } else if (type === 'FAIL') {
        const { toks: all, stats, rest } = logTokens(body);
        const { storage, toks } = prog === 'taper' ? storagePrefix(all) : { storage: undefined, toks: all };
        const [host, disk, datestamp, lvl, ...msg] = toks;
        if (lvl === undefined || !/^\d+$/.test(lvl)) throw new Error('fields missing');
        const words = msg[0] === 'error' || msg[0] === 'config' ? msg.slice(1) : msg;
        const message = [...words, stats ?? '', rest ? logTokens(rest).toks.join(' ') : ''].filter(Boolean).join(' ');
        log.results.push({ program: prog, status: 'FAIL', storage, host, disk, datestamp, level: Number(lvl), message: message || undefined });
      }
    } catch (e) {
      log.strange.push(`${file}: strange line (${(e as Error).message}): ${line}`);
    }
  }
  return log;
}

/** The log files of a logdir, oldest first: log.DATESTAMP.N (and old log.DATESTAMP.amflush). */
export function logFiles(logdir: string): string[] {
  if (!existsSync(logdir)) return [];
  return readdirSync(logdir)
    .filter((n) => /^log\.\d+(\.\d+|\.amflush)?$/.test(n) && statSync(join(logdir, n)).isFile())
    .sort()
    .map((n) => join(logdir, n));
}

