/**
 * Debian's Amanda 3.5.1 for the media tests: make sure it is installed, run its header code as
 * an oracle (amanda-header.pl), write reference media with it (fixtures/amanda/make-media.sh),
 * and run its programs as user `backup`.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AmandaHeader } from '../../src/media/header.js';

const here = dirname(fileURLToPath(import.meta.url));
export const FIXTURES = join(here, '..', 'fixtures', 'amanda');
const INSTALL = 'apt-get install -y amanda-server amanda-client amanda-common';

function run(cmd: string, args: string[], opts: { input?: string; cwd?: string } = {}): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 << 20, ...opts, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

let checked = false;
/** Installs Debian's Amanda when missing and we are root (as .ci/run does); else throws how to. */
export function requireAmanda(): void {
  if (checked) return;
  const have = () => existsSync('/usr/sbin/amrestore') && existsSync('/usr/lib/x86_64-linux-gnu/amanda/perl/Amanda/Header.pm');
  if (!have() && process.getuid?.() === 0) {
    const apt = ['-y', '-qq', '-o', 'DPkg::Lock::Timeout=300', 'install', 'amanda-server', 'amanda-client', 'amanda-common'];
    if (run('apt-get', apt).status !== 0) {
      run('apt-get', ['-qq', '-o', 'DPkg::Lock::Timeout=300', 'update']);
      run('apt-get', apt);
    }
  }
  if (!have()) throw new Error(`these tests need Debian's Amanda 3.5: ${INSTALL}`);
  if (process.getuid?.() !== 0) throw new Error('these tests run Amanda as user backup: run them as root (CI does)');
  checked = true;
}

/** A temporary directory the `backup` user can use too. */
export function sharedTmp(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(d, 0o755);
  return d;
}

/** A directory owned by backup (for amrestore's output). */
export function backupDir(path: string): string {
  mkdirSync(path, { recursive: true });
  const uid = Number(run('id', ['-u', 'backup']).stdout.trim());
  const gid = Number(run('id', ['-g', 'backup']).stdout.trim());
  chownSync(path, uid, gid);
  return path;
}

/** Runs a shell command as user backup (Amanda's programs refuse root). */
export function asBackup(command: string, cwd = '/tmp'): SpawnSyncReturns<string> {
  return run('su', ['backup', '-s', '/bin/bash', '-c', `cd '${cwd}' && ${command}`]);
}

/** Writes reference media with amdump/amflush (about 20 s); see fixtures/amanda/make-media.sh. */
export function makeAmandaMedia(root: string, config: string): void {
  const r = run('bash', [join(FIXTURES, 'make-media.sh'), root, config]);
  if (r.status !== 0) throw new Error(`make-media.sh failed (${r.status}): ${r.stderr}${r.stdout}`);
}

export function removeAmandaConfig(config: string): void {
  run('rm', ['-rf', `/etc/amanda/${config}`]);
}

// ----- the header oracle -----

const TYPES: Record<string, number> = { TAPESTART: 1, TAPEEND: 2, FILE: 3, CONT_FILE: 4, SPLIT_FILE: 5, NOOP: 6 };
const NAMES = Object.fromEntries(Object.entries(TYPES).map(([k, v]) => [v, k]));

const toPerl: Record<string, string> = {
  compSuffix: 'comp_suffix', encryptSuffix: 'encrypt_suffix', srvEncrypt: 'srv_encrypt', clntEncrypt: 'clnt_encrypt',
  srvDecryptOpt: 'srv_decrypt_opt', clntDecryptOpt: 'clnt_decrypt_opt', recoverCmd: 'recover_cmd',
  uncompressCmd: 'uncompress_cmd', decryptCmd: 'decrypt_cmd', contFilename: 'cont_filename', dleStr: 'dle_str',
  isPartial: 'is_partial', origSize: 'orig_size', nativeCrc: 'native_crc', clientCrc: 'client_crc', serverCrc: 'server_crc',
};

function perlHeader(h: AmandaHeader): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined) continue;
    const key = toPerl[k] ?? k;
    if (k === 'type') out.type = TYPES[v as string];
    else if (typeof v === 'boolean') out[key] = v ? 1 : 0;
    else if (typeof v === 'object') out[key] = `${(v as { crc: string }).crc}:${(v as { size: number }).size}`;
    else out[key] = v;
  }
  return out;
}

function oracle(requests: object[]): Record<string, unknown>[] {
  const r = run('perl', [join(here, 'amanda-header.pl')], { input: requests.map((q) => JSON.stringify(q)).join('\n') + '\n' });
  if (r.status !== 0) throw new Error(`amanda-header.pl failed: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  if (lines.length !== requests.length) throw new Error(`amanda-header.pl answered ${lines.length} of ${requests.length}: ${r.stderr}`);
  return lines.map((l) => JSON.parse(l));
}

/** Amanda's Amanda::Header->to_string(32768, 32768) for each header. */
export function amandaBuild(headers: AmandaHeader[]): Buffer[] {
  return oracle(headers.map((h) => ({ op: 'build', header: perlHeader(h) }))).map((o) => Buffer.from(o.hex as string, 'hex'));
}

/** Amanda's Amanda::Header->from_string for each block: its fields, snake_case, as strings. */
export function amandaParse(blocks: Buffer[]): Record<string, string | null>[] {
  return oracle(blocks.map((b) => ({ op: 'parse', hex: b.toString('hex') }))).map((o) => {
    const h = o.header as Record<string, string | null>;
    h.type = NAMES[Number(h.type)] ?? String(h.type);
    return h;
  });
}

export function amandaQuote(strings: string[]): string[] {
  return oracle(strings.map((s) => ({ op: 'quote', s }))).map((o) => o.s as string);
}

export function amandaSanitise(strings: string[]): string[] {
  return oracle(strings.map((s) => ({ op: 'sanitise', s }))).map((o) => o.s as string);
}
