/**
 * A real S3 server for the tests: OpenStack Swift with its s3api middleware, from Debian's
 * packages (reference/toolchain.md §4), on 127.0.0.1 with free ports, in a fresh directory.
 * Started once per test file (beforeAll) — about 10 s — and stopped by PID (afterAll).
 *
 *     let s3: SwiftServer;
 *     beforeAll(async () => { s3 = await startSwift(); });
 *     afterAll(() => s3?.stop());
 *     // s3.endpoint 'http://127.0.0.1:PORT', s3.accessKey 'test:tester', s3.secretKey 'testing'
 *
 * A missing package is an error that names the apt-get command, never a skip.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

export const SWIFT_PACKAGES = 'swift swift-proxy swift-object swift-container swift-account memcached';
export const SWIFT_INSTALL = `apt-get install -y --no-install-recommends ${SWIFT_PACKAGES}`;

export interface SwiftServer {
  endpoint: string;
  port: number;
  region: string;
  accessKey: string;
  secretKey: string;
  dir: string;
  pids: number[];
  stop(): Promise<void>;
}

const BINARIES = ['/usr/bin/swift-proxy-server', '/usr/bin/swift-object-server', '/usr/bin/swift-container-server',
  '/usr/bin/swift-account-server', '/usr/bin/swift-ring-builder', '/usr/bin/memcached'];

/** Ports the kernel says are free now (bound and released at once). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: n }, () => new Promise<import('node:net').Server>((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => res(s));
  })));
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

function serverConf(kind: string, port: number, dir: string, user: string): string {
  const extra = kind === 'object' ? '[object-updater]\n[object-reconstructor]\n'
    : kind === 'container' ? '[container-updater]\n[container-sync]\n[container-sharder]\n' : '';
  return `[DEFAULT]\ndevices = ${dir}/srv\nmount_check = false\ndisable_fallocate = true\nbind_ip = 127.0.0.1\n`
    + `bind_port = ${port}\nworkers = 0\nuser = ${user}\nswift_dir = ${dir}/etc\nlog_level = WARNING\n`
    + `[pipeline:main]\npipeline = ${kind}-server\n[app:${kind}-server]\nuse = egg:swift#${kind}\n`
    + `[${kind}-replicator]\n[${kind}-auditor]\n${extra}`;
}

function proxyConf(port: number, memcachePort: number, dir: string, user: string): string {
  return `[DEFAULT]
bind_ip = 127.0.0.1
bind_port = ${port}
workers = 0
user = ${user}
swift_dir = ${dir}/etc
log_level = WARNING
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk s3api tempauth copy slo dlo proxy-logging proxy-server
[app:proxy-server]
use = egg:swift#proxy
allow_account_management = true
account_autocreate = true
[filter:s3api]
use = egg:swift#s3api
location = us-east-1
[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin
[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:${memcachePort}
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:bulk]
use = egg:swift#bulk
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
`;
}

function ring(dir: string, kind: string, port: number): Promise<void> {
  const steps = [['create', '10', '1', '1'], ['add', `r1z1-127.0.0.1:${port}/sdb1`, '100'], ['rebalance']];
  return steps.reduce((p, args) => p.then(() => new Promise<void>((res, rej) => {
    const c = spawn('/usr/bin/swift-ring-builder', [`${dir}/etc/${kind}.builder`, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (d) => (err += d));
    c.on('error', rej);
    // rebalance exits 1 with a warning on a one-device ring; the ring file is what matters.
    c.on('exit', (code) => (code === 0 || args[0] === 'rebalance' ? res() : rej(new Error(`swift-ring-builder ${args.join(' ')}: ${err}`))));
  })), Promise.resolve());
}

function listening(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), res(true)));
    s.once('error', () => res(false));
  });
}

/** Every server accepts connections and the proxy says it is healthy. */
async function healthy(url: string, ports: number[], deadline: number, procs: ChildProcess[]): Promise<void> {
  for (;;) {
    const dead = procs.find((p) => p.exitCode !== null || p.signalCode !== null);
    if (dead) throw new Error(`swift: ${dead.spawnfile} exited during start-up (${dead.exitCode ?? dead.signalCode})`);
    try {
      if ((await Promise.all(ports.map(listening))).every(Boolean) && (await fetch(url)).ok) return;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`swift: ${url} not healthy after start-up timeout`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function startSwift(opts: { timeoutMs?: number } = {}): Promise<SwiftServer> {
  const missing = BINARIES.filter((b) => !existsSync(b));
  if (missing.length) throw new Error(`S3 tests need OpenStack Swift (missing ${missing.join(', ')}): run \`${SWIFT_INSTALL}\``);
  const dir = mkdtempSync(join(tmpdir(), 'xfa-swift-'));
  for (const d of ['etc', 'srv/sdb1', 'run']) spawnSync('mkdir', ['-p', join(dir, d)]);
  const user = userInfo().username;
  const [proxy, object, container, account, memcache] = await freePorts(5);
  writeFileSync(join(dir, 'etc/swift.conf'), '[swift-hash]\nswift_hash_path_suffix = x\nswift_hash_path_prefix = y\n[storage-policy:0]\nname = Policy-0\ndefault = yes\n');
  const ports: Record<string, number> = { object, container, account };
  for (const [kind, port] of Object.entries(ports)) writeFileSync(join(dir, `etc/${kind}-server.conf`), serverConf(kind, port, dir, user));
  writeFileSync(join(dir, 'etc/proxy-server.conf'), proxyConf(proxy, memcache, dir, user));
  await Promise.all(Object.entries(ports).map(([kind, port]) => ring(dir, kind, port)));

  const procs: ChildProcess[] = [];
  const launch = (cmd: string, args: string[]) => {
    const p = spawn(cmd, args, { cwd: join(dir, 'run'), stdio: 'ignore', detached: false });
    procs.push(p);
    return p;
  };
  const stop = async () => {
    await Promise.all(procs.map((p) => new Promise<void>((res) => {
      if (p.exitCode !== null || p.signalCode !== null || p.pid === undefined) return res();
      p.once('exit', () => res());
      p.kill('SIGTERM');
      setTimeout(() => p.kill('SIGKILL'), 5000).unref();
    })));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    launch('/usr/bin/memcached', [...(process.getuid?.() === 0 ? ['-u', 'root'] : []), '-l', '127.0.0.1', '-p', String(memcache), '-m', '64']);
    for (const kind of ['object', 'container', 'account', 'proxy']) launch(`/usr/bin/swift-${kind}-server`, [join(dir, `etc/${kind}-server.conf`)]);
    // If this test process dies without afterAll, a watchdog stops the servers by PID.
    const pids = procs.map((p) => p.pid).join(' ');
    launch('/bin/sh', ['-c', `while kill -0 ${process.pid} 2>/dev/null; do sleep 2; done; kill ${pids} 2>/dev/null; sleep 3; rm -rf '${dir}'`]);
    await healthy(`http://127.0.0.1:${proxy}/healthcheck`, [object, container, account, memcache], Date.now() + (opts.timeoutMs ?? 60_000), procs);
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    endpoint: `http://127.0.0.1:${proxy}`, port: proxy, region: 'us-east-1', accessKey: 'test:tester', secretKey: 'testing',
    dir, pids: procs.slice(0, -1).map((p) => p.pid!), stop,
  };
}
