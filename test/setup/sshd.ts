/**
 * A real SSH server for the tests: Debian's OpenSSH sshd (reference/toolchain.md §5) on
 * 127.0.0.1 with a free port, fresh host and client keys in a fresh directory, logging in as the
 * current user with a key from a private AuthorizedKeysFile. Started per test file (beforeAll, well
 * under a second) and stopped by PID (afterAll).
 *
 *     let sshd: Sshd;
 *     beforeAll(async () => { sshd = await startSshd(); });
 *     afterAll(() => sshd?.stop());
 *     element('source-ssh', { ...sshd.props(), command: 'cat /etc/hosts' })
 *
 * A missing package is an error that names the apt-get command, never a skip.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

export const SSH_INSTALL = 'apt-get install -y --no-install-recommends openssh-server openssh-client';
const SSHD = '/usr/sbin/sshd';
const KEYGEN = '/usr/bin/ssh-keygen';

export interface Sshd {
  port: number;
  dir: string;
  user: string;
  pid: number;
  /** Private key the server accepts. */
  clientKey: string;
  /** The server's public host key file (ssh-ed25519). */
  hostPub: string;
  /** A known_hosts file with the right entry. */
  knownHosts: string;
  /** "[127.0.0.1]:PORT ssh-ed25519 AAAA..." */
  knownHostsLine: string;
  /** Connection properties for an element (host, port, user, identity, known-hosts). */
  props(extra?: Record<string, unknown>): Record<string, string | number | boolean>;
  /** PIDs of the per-connection sshd processes (every sshd below the listener). */
  sessionPids(): number[];
  stop(): Promise<void>;
}

export function keygen(file: string, type = 'ed25519'): void {
  execFileSync(KEYGEN, ['-q', '-t', type, '-N', '', '-C', 'xfa-test', '-f', file], { stdio: 'ignore' });
}

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });
}

/** Parent PID of a process, or undefined when it is gone. */
export function ppidOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

export function cmdlineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return '';
  }
}

/** Live (non-zombie) processes whose command line contains `text`. */
export function processesMatching(text: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
    } catch {
      continue;
    }
    if (cmdlineOf(Number(d)).includes(text)) out.push(Number(d));
  }
  return out;
}

function descendants(root: number): number[] {
  const kids = new Map<number, number[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const pp = ppidOf(Number(d));
    if (pp !== undefined) kids.set(pp, [...(kids.get(pp) ?? []), Number(d)]);
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    for (const k of kids.get(p) ?? []) {
      out.push(k);
      walk(k);
    }
  };
  walk(root);
  return out;
}

async function waitBanner(port: number, child: ChildProcess, log: string): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`sshd exited (${child.exitCode}): ${readFileSync(log, 'utf8').slice(-2000)}`);
    const banner = await new Promise<string>((res) => {
      const s = connect(port, '127.0.0.1');
      let got = '';
      s.on('data', (d) => {
        got += d.toString('latin1');
        if (got.includes('\n')) s.destroy();
      });
      s.on('error', () => res(''));
      s.on('close', () => res(got));
      s.setTimeout(2000, () => s.destroy());
    });
    if (banner.startsWith('SSH-2.0-')) return;
    if (Date.now() - t0 > 15_000) throw new Error(`sshd did not answer on port ${port}: ${readFileSync(log, 'utf8').slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startSshd(): Promise<Sshd> {
  for (const bin of [SSHD, KEYGEN]) {
    if (!existsSync(bin)) throw new Error(`${bin} is missing: install it with \`${SSH_INSTALL}\``);
  }
  const dir = mkdtempSync(join(tmpdir(), 'xfa-sshd-'));
  chmodSync(dir, 0o755);
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const hostKey = join(dir, 'host_ed25519');
  const clientKey = join(dir, 'client_ed25519');
  keygen(hostKey);
  keygen(clientKey);
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${clientKey}.pub`), { mode: 0o600 });
  const port = await freePort();
  const config = join(dir, 'sshd_config');
  writeFileSync(config, [
    `Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${hostKey}`, `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`, 'StrictModes no', 'PermitRootLogin prohibit-password',
    'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'UsePAM no', 'Subsystem sftp internal-sftp',
    process.env.SSHD_LOGLEVEL ? `LogLevel ${process.env.SSHD_LOGLEVEL}` : 'LogLevel INFO', 'MaxStartups 50', 'MaxSessions 50', '',
  ].join('\n'));
  execFileSync(SSHD, ['-t', '-f', config], { stdio: 'pipe' });
  const log = join(dir, 'sshd.log');
  const { openSync, closeSync } = await import('node:fs');
  const fd = openSync(log, 'a');
  const child = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  await waitBanner(port, child, log);
  const hostPub = `${hostKey}.pub`;
  const [type, b64] = readFileSync(hostPub, 'utf8').trim().split(/\s+/);
  const knownHostsLine = `[127.0.0.1]:${port} ${type} ${b64}`;
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, `${knownHostsLine}\n`);
  const user = userInfo().username;
  const pid = child.pid!;
  return {
    port, dir, user, pid, clientKey, hostPub, knownHosts, knownHostsLine,
    props: (extra = {}) => ({ host: '127.0.0.1', port, user, identity: clientKey, 'known-hosts': knownHosts, ...extra } as Record<string, string | number | boolean>),
    sessionPids: () => descendants(pid).filter((p) => cmdlineOf(p).startsWith('sshd')),
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        process.kill(pid, 'SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
