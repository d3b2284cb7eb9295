/**
 * SSH for the remote-host elements (source-ssh, dest-ssh, source-sftp, dest-sftp): connection
 * properties, host-key verification against an OpenSSH known_hosts file, authentication, and a
 * remote command whose exit status, signal and stderr become messages.
 *
 * Host keys: the server's key must be in `known-hosts` (OpenSSH format; plain, wildcard, negated,
 * `[host]:port` and hashed `|1|` entries; `@revoked` honoured, `@cert-authority` ignored). An
 * unknown host is refused with its SHA256 fingerprint unless `accept-new-host-key=true`, which
 * records the key on first use. A key that differs from the recorded one is always refused.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { Client, type ClientChannel, type ConnectConfig, type SFTPWrapper } from 'ssh2';
import type { PropSpec, PropValue } from './element-info.js';

/** An error with the operation that failed ("connect", "remote command", "write"...). */
export class SshError extends Error {
  constructor(public readonly op: string, message: string) {
    super(message);
    this.name = 'SshError';
  }
}

/** The properties every SSH element has. */
export const sshConnectionProps: PropSpec[] = [
  { name: 'host', type: 'string', required: true, help: 'remote host name or address' },
  { name: 'port', type: 'int', default: '22', min: 1, max: 65535, required: false, help: 'SSH port' },
  { name: 'user', type: 'string', required: false, help: 'remote user (default: the local user name)' },
  { name: 'identity', type: 'string', required: false, help: 'private key file (unencrypted; use an agent for encrypted keys)' },
  { name: 'agent', type: 'string', required: false, help: 'ssh-agent socket (default: $SSH_AUTH_SOCK when no identity is given)' },
  { name: 'known-hosts', type: 'string', default: '~/.ssh/known_hosts', required: false, help: 'OpenSSH known_hosts file the host key is checked against' },
  { name: 'accept-new-host-key', type: 'bool', default: 'false', required: false, help: 'accept an UNKNOWN host key and record it in known-hosts (a changed key is always refused)' },
  { name: 'keepalive', type: 'duration', default: '15s', min: 0, max: 3_600_000, required: false, help: 'interval of SSH keepalive requests; 0 disables them' },
  { name: 'keepalive-count-max', type: 'int', default: '3', min: 1, max: 1000, required: false, help: 'unanswered keepalives before the connection is declared dead' },
  { name: 'connect-timeout', type: 'duration', default: '20s', min: 100, max: 3_600_000, required: false, help: 'time allowed to connect, verify the host and authenticate' },
  { name: 'ciphers', type: 'strings', required: false, help: 'cipher preference, e.g. chacha20-poly1305@openssh.com,aes128-gcm@openssh.com' },
];

export interface SshOptions {
  host: string;
  port: number;
  user: string;
  identity?: string;
  agent?: string;
  knownHosts: string;
  acceptNew: boolean;
  keepaliveMs: number;
  keepaliveCountMax: number;
  connectTimeoutMs: number;
  ciphers?: string[];
}

function expandHome(p: string): string {
  return p === '~' ? homedir() : p.startsWith('~/') ? join(homedir(), p.slice(2)) : p;
}

export function sshOptions(props: Readonly<Record<string, PropValue>>): SshOptions {
  const str = (k: string): string | undefined => (props[k] === undefined ? undefined : String(props[k]));
  return {
    host: String(props.host),
    port: props.port === undefined ? 22 : Number(props.port),
    user: str('user') ?? userInfo().username,
    identity: str('identity') === undefined ? undefined : expandHome(str('identity')!),
    agent: str('agent'),
    knownHosts: expandHome(str('known-hosts') ?? '~/.ssh/known_hosts'),
    acceptNew: props['accept-new-host-key'] === true,
    keepaliveMs: props.keepalive === undefined ? 15_000 : Number(props.keepalive),
    keepaliveCountMax: props['keepalive-count-max'] === undefined ? 3 : Number(props['keepalive-count-max']),
    connectTimeoutMs: props['connect-timeout'] === undefined ? 20_000 : Number(props['connect-timeout']),
    ciphers: Array.isArray(props.ciphers) ? props.ciphers.map(String) : undefined,
  };
}

/** "host" for port 22, "[host]:port" otherwise — the name known_hosts uses. */
export function knownHostName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

export function where(o: Pick<SshOptions, 'user' | 'host' | 'port'>): string {
  return `${o.user}@${knownHostName(o.host, o.port)}`;
}

// ---------------------------------------------------------------------------------------------
// Host keys

/** The key type inside an SSH public-key blob ("ssh-ed25519", "ssh-rsa", ...). */
export function blobType(blob: Buffer): string {
  if (blob.length < 4) return '?';
  const n = blob.readUInt32BE(0);
  return n > 0 && n < 64 && blob.length >= 4 + n ? blob.subarray(4, 4 + n).toString('latin1') : '?';
}

/** OpenSSH's fingerprint: "SHA256:" and unpadded base64 of the blob's SHA-256. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** "ED25519", "RSA", "ECDSA" — as OpenSSH names key types in its messages. */
export function keyKind(type: string): string {
  if (type === 'ssh-ed25519') return 'ED25519';
  if (type === 'ssh-rsa') return 'RSA';
  if (type === 'ssh-dss') return 'DSA';
  if (type.startsWith('ecdsa-')) return 'ECDSA';
  return type;
}

/** Host-key algorithms that verify a key of this blob type. */
function algorithmsFor(type: string): string[] {
  return type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [type];
}

interface KnownLine {
  line: number;
  marker?: '@revoked' | '@cert-authority';
  hosts: string;
  blob: Buffer;
}

function globToRegExp(pattern: string): RegExp {
  const esc = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${esc}$`, 'i');
}

/** Does a known_hosts host field match `name` ("host" or "[host]:port")? */
export function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith('|1|')) {
    const [, , salt, hash] = field.split('|');
    if (!salt || !hash) return false;
    const want = Buffer.from(hash, 'base64');
    const got = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest();
    return want.length === got.length && timingSafeEqual(want, got);
  }
  let positive = false;
  for (const raw of field.split(',')) {
    const negated = raw.startsWith('!');
    const pat = negated ? raw.slice(1) : raw;
    if (!pat || !globToRegExp(pat).test(name)) continue;
    if (negated) return false;
    positive = true;
  }
  return positive;
}

export type HostKeyVerdict =
  | { status: 'ok'; line: number }
  | { status: 'unknown'; otherTypes: string[] }
  | { status: 'changed'; line: number; recorded: Buffer }
  | { status: 'revoked'; line: number };

/** One OpenSSH known_hosts file. */
export class KnownHosts {
  private constructor(readonly file: string, private readonly entries: KnownLine[]) {}

  static load(file: string): KnownHosts {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new SshError('known-hosts', `cannot read ${file}: ${(e as Error).message}`);
    }
    const entries: KnownLine[] = [];
    text.split('\n').forEach((raw, i) => {
      const s = raw.trim();
      if (!s || s.startsWith('#')) return;
      const f = s.split(/\s+/);
      let marker: KnownLine['marker'];
      if (f[0].startsWith('@')) {
        if (f[0] !== '@revoked' && f[0] !== '@cert-authority') return;
        marker = f.shift() as KnownLine['marker'];
      }
      if (f.length < 3) return;
      const blob = Buffer.from(f[2], 'base64');
      if (blob.length < 8) return;
      entries.push({ line: i + 1, marker, hosts: f[0], blob });
    });
    return new KnownHosts(file, entries);
  }

  /** The key types recorded for this host (to ask the server for a key we can check). */
  typesFor(name: string): string[] {
    const t = new Set<string>();
    for (const e of this.entries) if (!e.marker && hostFieldMatches(e.hosts, name)) t.add(blobType(e.blob));
    return [...t];
  }

  check(name: string, blob: Buffer): HostKeyVerdict {
    const type = blobType(blob);
    for (const e of this.entries) {
      if (e.marker === '@revoked' && e.blob.equals(blob)) return { status: 'revoked', line: e.line };
    }
    let changed: HostKeyVerdict | undefined;
    const others = new Set<string>();
    for (const e of this.entries) {
      if (e.marker || !hostFieldMatches(e.hosts, name)) continue;
      if (e.blob.equals(blob)) return { status: 'ok', line: e.line };
      if (blobType(e.blob) === type) changed ??= { status: 'changed', line: e.line, recorded: e.blob };
      else others.add(blobType(e.blob));
    }
    return changed ?? { status: 'unknown', otherTypes: [...others] };
  }

  /** Appends "name type base64" (creating the file 0600, and its directory 0700, if needed). */
  record(name: string, blob: Buffer): void {
    mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
    let prefix = '';
    if (existsSync(this.file)) {
      const cur = readFileSync(this.file);
      if (cur.length > 0 && cur[cur.length - 1] !== 0x0a) prefix = '\n';
    }
    appendFileSync(this.file, `${prefix}${name} ${blobType(blob)} ${blob.toString('base64')}\n`, { mode: 0o600 });
    this.entries.push({ line: -1, hosts: name, blob });
  }
}

// ---------------------------------------------------------------------------------------------
// Connecting

export interface SshContext {
  signal: AbortSignal;
  info(message: string): void;
}

/** An open, authenticated connection; `lost` holds why it went away, if it did. */
export interface SshConnection {
  client: Client;
  opts: SshOptions;
  /** Set when the connection fails or closes. */
  lost?: Error;
  /** Resolves when the socket has closed. */
  closed: Promise<void>;
  /** Ends the connection (graceful, then forced after a short wait). */
  close(): Promise<void>;
}

function authConfig(o: SshOptions): Partial<ConnectConfig> {
  const cfg: Partial<ConnectConfig> = {};
  if (o.identity !== undefined) {
    try {
      cfg.privateKey = readFileSync(o.identity);
    } catch (e) {
      throw new SshError('connect', `cannot read identity ${o.identity}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  if (o.agent !== undefined) cfg.agent = o.agent;
  if (cfg.privateKey === undefined && cfg.agent === undefined) {
    if (process.env.SSH_AUTH_SOCK) cfg.agent = process.env.SSH_AUTH_SOCK;
    else {
      for (const f of ['id_ed25519', 'id_ecdsa', 'id_rsa']) {
        const p = join(homedir(), '.ssh', f);
        if (existsSync(p)) {
          cfg.privateKey = readFileSync(p);
          break;
        }
      }
    }
    if (cfg.privateKey === undefined && cfg.agent === undefined) {
      throw new SshError('connect', 'no way to authenticate: set identity=KEYFILE or agent=SOCKET (no $SSH_AUTH_SOCK, no ~/.ssh/id_ed25519, id_ecdsa or id_rsa)');
    }
  }
  return cfg;
}

function describeConnectError(e: Error & { code?: string; level?: string }, o: SshOptions): string {
  const at = knownHostName(o.host, o.port);
  if (e.code === 'ECONNREFUSED') return `connect to ${at}: connection refused`;
  if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') return `connect to ${at}: unknown host ${o.host}`;
  if (e.level === 'client-authentication') return `authentication as ${o.user} at ${at} failed (${e.message.replace(/\.$/, '')})`;
  if (e.level === 'client-timeout') return `connect to ${at}: timed out`;
  return `connect to ${at}: ${e.message}`;
}

/** Connects, verifies the host key and authenticates; rejects with an SshError. */
export function sshConnect(o: SshOptions, ctx: SshContext): Promise<SshConnection> {
  const name = knownHostName(o.host, o.port);
  const known = KnownHosts.load(o.knownHosts);
  const knownTypes = known.typesFor(name);
  // Ask for a key type we have on record first, as OpenSSH does.
  const preferred = knownTypes.flatMap(algorithmsFor);
  const defaults = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
  const serverHostKey = [...preferred.filter((a) => defaults.includes(a)), ...defaults.filter((a) => !preferred.includes(a))];
  const auth = authConfig(o);
  const client = new Client();
  let refusal: SshError | undefined;
  const conn: SshConnection = {
    client, opts: o, closed: new Promise((res) => client.once('close', () => res())),
    close: async () => {
      client.end();
      const t = setTimeout(() => client.destroy(), 2000);
      await conn.closed;
      clearTimeout(t);
    },
  };
  return new Promise<SshConnection>((resolve, reject) => {
    let settled = false;
    /** A failure before `ready`: the socket is closed (no fd left behind) before we reject. */
    const fail = (err: SshError): void => {
      if (settled) return;
      settled = true;
      ctx.signal.removeEventListener('abort', onAbort);
      client.destroy();
      const t = setTimeout(() => reject(err), 2000);
      void conn.closed.then(() => {
        clearTimeout(t);
        reject(err);
      });
    };
    const onAbort = (): void => fail(new SshError('connect', `connect to ${name}: cancelled`));
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    client.on('ready', () => {
      ctx.signal.removeEventListener('abort', onAbort);
      if (settled) return;
      settled = true;
      resolve(conn);
    });
    client.on('error', (e: Error & { code?: string; level?: string }) => {
      conn.lost ??= e.level === 'client-timeout' && settled
        ? new Error(`no answer to ${o.keepaliveCountMax} keepalives (${o.keepaliveMs} ms apart)`) : e;
      fail(refusal ?? new SshError('connect', describeConnectError(e, o)));
    });
    client.on('close', () => {
      conn.lost ??= new Error('connection closed');
      fail(refusal ?? new SshError('connect', `connect to ${name}: connection closed during setup`));
    });
    const cfg: ConnectConfig = {
      host: o.host,
      port: o.port,
      username: o.user,
      ...auth,
      readyTimeout: o.connectTimeoutMs,
      keepaliveInterval: o.keepaliveMs,
      keepaliveCountMax: o.keepaliveCountMax,
      algorithms: { serverHostKey: serverHostKey as never, ...(o.ciphers ? { cipher: o.ciphers as never } : {}) },
      hostVerifier: (key: Buffer) => {
        const v = known.check(name, key);
        const fp = `${keyKind(blobType(key))} key ${fingerprint(key)}`;
        if (v.status === 'ok') return true;
        if (v.status === 'revoked') {
          refusal = new SshError('host key', `host key for ${name} (${fp}) is marked @revoked in ${o.knownHosts}:${v.line}; connection refused`);
          return false;
        }
        if (v.status === 'changed') {
          refusal = new SshError('host key', `HOST KEY FOR ${name} HAS CHANGED (possible man-in-the-middle attack): the server offered ${fp}, ` +
            `but ${o.knownHosts}:${v.line} records ${fingerprint(v.recorded)}; connection refused. ` +
            `If the change is expected, remove the old entry: ssh-keygen -R '${name}' -f ${o.knownHosts}`);
          return false;
        }
        if (!o.acceptNew) {
          const also = v.otherTypes.length ? ` (known_hosts has only ${v.otherTypes.map(keyKind).join(', ')} keys for it)` : '';
          refusal = new SshError('host key', `host ${name} is unknown: its ${fp} is not in ${o.knownHosts}${also}; connection refused. ` +
            `Check the fingerprint and add the key (ssh-keyscan -p ${o.port} ${o.host} >> ${o.knownHosts}), or set accept-new-host-key=true to record it on first use`);
          return false;
        }
        try {
          known.record(name, key);
        } catch (e) {
          refusal = new SshError('host key', `cannot record the host key of ${name} in ${o.knownHosts}: ${(e as Error).message}`);
          return false;
        }
        ctx.info(`recorded the ${fp} of new host ${name} in ${o.knownHosts}`);
        return true;
      },
    };
    try {
      client.connect(cfg);
      // Small SFTP requests must not wait for Nagle's algorithm (40 ms stalls with delayed ACKs).
      client.setNoDelay(true);
    } catch (e) {
      fail(new SshError('connect', `connect to ${name}: ${(e as Error).message}`));
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Remote commands

/** Splits a byte stream into lines; reports them (bounded) and keeps the last few. */
export class LineReporter {
  private partial = '';
  private reported = 0;
  private dropped = 0;
  readonly last: string[] = [];

  constructor(private readonly report: (line: string) => void, private readonly keep = 5, private readonly maxReported = 1000,
    private skipFirst?: RegExp) {}

  add(data: Buffer): void {
    const text = this.partial + data.toString('utf8');
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    if (this.partial.length > 4096) {
      lines.push(this.partial);
      this.partial = '';
    }
    for (const l of lines) this.line(l);
  }

  flush(): void {
    if (this.partial) this.line(this.partial);
    this.partial = '';
    if (this.dropped) this.report(`(${this.dropped} more lines not shown)`);
    this.dropped = 0;
  }

  private line(raw: string): void {
    const l = raw.replace(/\r$/, '').slice(0, 1000);
    const skip = this.skipFirst?.test(l);
    this.skipFirst = undefined;
    if (skip) return this.report(l);
    this.last.push(l);
    if (this.last.length > this.keep) this.last.shift();
    if (this.reported < this.maxReported) {
      this.reported++;
      this.report(l);
    } else this.dropped++;
  }
}

interface ExitInfo {
  code?: number;
  signal?: string;
  core?: boolean;
  desc?: string;
}

/** Quotes a string for any Unix shell (sh, bash, zsh, ksh, csh, fish): '...' with '\'' for quotes. */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, "'\\''")}'`;
}

/** The remote-command properties of source-ssh and dest-ssh. */
export const commandProps = (example: string): PropSpec[] => [
  { name: 'command', type: 'string', required: true, help: `command run on the remote host, e.g. "${example}"` },
  { name: 'kill-group', type: 'bool', default: 'true', required: false,
    help: 'run COMMAND with /bin/sh, which reports its process group, so that cancel can kill the whole group ' +
      '(sshd ignores SSH signal requests from root logins); false: the login shell runs COMMAND as given' },
];

const PGID_LINE = /^xfa-pgid (\d+)$/;

/**
 * The command line sent for COMMAND: with `group`, `exec /bin/sh -c '...'` that first prints its
 * PID on stderr — sshd made it a session leader, so that is the process group of everything the
 * command starts.
 */
export function remoteCommandLine(command: string, group: boolean): string {
  return group ? `exec /bin/sh -c ${shQuote(`echo "xfa-pgid $$" >&2; ${command}`)}` : command;
}

/** A command running on the remote host, its stdout/stdin as `stream`. */
export class RemoteCommand {
  readonly stderr: LineReporter;
  /** Resolves when the command exited with status 0 and the channel closed; else rejects. */
  readonly finished: Promise<void>;
  private exit?: ExitInfo;
  private killing?: Promise<void>;
  private pgid?: number;
  private sawClose = false;

  private constructor(private readonly conn: SshConnection, readonly command: string, readonly stream: ClientChannel, ctx: SshContext, group: boolean) {
    let first = group;
    this.stderr = new LineReporter((l) => {
      const m = first ? PGID_LINE.exec(l) : null;
      first = false;
      if (m) this.pgid = Number(m[1]);
      else ctx.info(`stderr: ${l}`);
    }, 5, 1000, group ? PGID_LINE : undefined);
    stream.stderr.on('data', (d: Buffer) => this.stderr.add(d));
    // A channel error ends in 'close', which reports it; never let it go unhandled.
    stream.on('error', () => undefined);
    stream.stderr.on('error', () => undefined);
    stream.on('exit', (code: number | null, signal?: string, core?: boolean, desc?: string) => {
      this.exit = code !== null && code !== undefined ? { code } : { signal: signal?.replace(/^SIG/, ''), core, desc };
    });
    this.finished = new Promise<void>((resolve, reject) => {
      stream.once('close', () => {
        this.sawClose = true;
        this.stderr.flush();
        const e = this.outcome();
        if (e) reject(e);
        else resolve();
      });
    });
    this.finished.catch(() => undefined); // observed by whoever awaits it
  }

  static start(conn: SshConnection, command: string, ctx: SshContext, group = true): Promise<RemoteCommand> {
    return new Promise((resolve, reject) => {
      conn.client.exec(remoteCommandLine(command, group), (err, stream) => {
        if (err) reject(new SshError('exec', `run "${command}" on ${where(conn.opts)}: ${conn.lost ? `connection lost: ${conn.lost.message}` : err.message}`));
        else resolve(new RemoteCommand(conn, command, stream, ctx, group));
      });
    });
  }

  private tail(): string {
    const l = this.stderr.last.filter((s) => s.trim() !== '');
    return l.length ? `; stderr: ${l.join(' | ')}` : '';
  }

  /** Undefined for success; the error the exit (or its absence) means otherwise. */
  private outcome(): SshError | undefined {
    const what = `remote command "${this.command}" on ${where(this.conn.opts)}`;
    const x = this.exit;
    if (x?.code === 0) return undefined;
    if (x?.code !== undefined) return new SshError('remote command', `${what} exited with status ${x.code}${this.tail()}`);
    if (x?.signal !== undefined) {
      return new SshError('remote command', `${what} was killed by signal ${x.signal}${x.core ? ' (core dumped)' : ''}${x.desc ? ` (${x.desc})` : ''}${this.tail()}`);
    }
    if (this.conn.lost) return new SshError('connection', `connection to ${where(this.conn.opts)} lost while running "${this.command}": ${this.conn.lost.message}${this.tail()}`);
    return new SshError('remote command', `${what} ended without an exit status (channel closed)${this.tail()}`);
  }

  /** True once the channel has closed for any reason. */
  get closed(): boolean {
    return this.sawClose || this.stream.destroyed || (this.stream as unknown as { outgoing: { state: string } }).outgoing.state === 'closed';
  }

  /**
   * Ends the remote command, then closes the channel: the SSH "signal" request (SIGTERM to the
   * process group; OpenSSH honours it for non-root logins), and, with kill-group, `kill -TERM
   * -PGID` on a second channel. Both happen before the channel closes, so that a command reading
   * stdin never takes the closing for a complete input.
   */
  kill(): Promise<void> {
    this.killing ??= (async () => {
      const ch = this.stream as unknown as { outgoing: { id: number; state: string }; _client: { _protocol: { signal(id: number, s: string): void } } };
      const open = (): boolean => !this.closed && !this.conn.lost && (ch.outgoing.state === 'open' || ch.outgoing.state === 'eof');
      try {
        if (open()) ch._client._protocol.signal(ch.outgoing.id, 'TERM');
      } catch {
        /* the connection is gone already */
      }
      if (this.pgid !== undefined && this.exit === undefined && open()) {
        await runQuietly(this.conn, `exec /bin/sh -c ${shQuote(`kill -TERM -${this.pgid}`)}`, 3000);
      }
      try {
        this.stream.close();
      } catch {
        /* idem */
      }
    })();
    return this.killing;
  }
}

/** Runs a short command on a new channel, ignoring its output and outcome; bounded in time. */
function runQuietly(conn: SshConnection, command: string, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    const done = (): void => {
      clearTimeout(t);
      resolve();
    };
    try {
      conn.client.exec(command, (err, st) => {
        if (err) return done();
        st.on('error', () => undefined);
        st.stderr.resume();
        st.resume();
        st.once('close', done);
      });
    } catch {
      done();
    }
  });
}

/** Opens the SFTP subsystem. */
export function openSftp(conn: SshConnection): Promise<SFTPWrapper> {
  return new Promise((resolve, reject) => {
    conn.client.sftp((err, sftp) => {
      if (err) reject(new SshError('sftp', `start SFTP on ${where(conn.opts)}: ${err.message}`));
      else {
        sftp.on('error', () => undefined); // failures reach the pending requests' callbacks
        resolve(sftp);
      }
    });
  });
}

/** Describes an SFTP status error ("No such file", "Permission denied"). */
export function sftpMessage(e: unknown): string {
  const err = e as Error & { code?: number };
  return err.message || `SFTP status ${err.code}`;
}

/** The largest read/write payloads the server accepts (from limits@openssh.com, else 32 KiB). */
export function sftpLimits(sftp: SFTPWrapper): { read: number; write: number } {
  const s = sftp as unknown as { _maxReadLen?: number; _maxWriteLen?: number };
  return { read: s._maxReadLen || 32768, write: s._maxWriteLen || 32768 };
}

export function sftpHasExtension(sftp: SFTPWrapper, ext: string): boolean {
  const exts = (sftp as unknown as { _extensions?: Record<string, string> })._extensions ?? {};
  return ext in exts;
}

/**
 * Promise-returning SFTP requests that never hang: a request made after the channel closed
 * rejects at once (ssh2 would keep it forever), and one pending when it closes rejects with the
 * reason the connection went away.
 */
export class SftpSession {
  private gone = false;
  readonly limits: { read: number; write: number };

  private constructor(readonly conn: SshConnection, readonly sftp: SFTPWrapper) {
    this.limits = sftpLimits(sftp);
    const mark = (): void => {
      this.gone = true;
    };
    sftp.once('end', mark);
    sftp.once('close', mark);
    conn.client.once('close', mark);
  }

  static async open(conn: SshConnection): Promise<SftpSession> {
    return new SftpSession(conn, await openSftp(conn));
  }

  /** Why the channel is unusable, as an error for `op` on `path`. */
  lostError(op: string, path: string): SshError {
    return new SshError(op, `${op} ${where(this.conn.opts)}:${path}: connection lost${this.conn.lost ? `: ${this.conn.lost.message}` : ''}`);
  }

  /** Runs one request; `fn` gets the ssh2 callback. */
  call<T>(op: string, path: string, fn: (cb: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> {
    if (this.gone) return Promise.reject(this.lostError(op, path));
    return new Promise<T>((resolve, reject) => {
      fn((err, value) => {
        if (!err) return resolve(value as T);
        if (this.gone || err.message === 'No response from server') return reject(this.lostError(op, path));
        reject(new SshError(op, `${op} ${where(this.conn.opts)}:${path}: ${sftpMessage(err)}`));
      });
    });
  }

  hasExtension(ext: string): boolean {
    return sftpHasExtension(this.sftp, ext);
  }

  get closed(): boolean {
    return this.gone;
  }
}
