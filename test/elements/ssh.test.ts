// source-ssh / dest-ssh against Debian's OpenSSH sshd on 127.0.0.1 (test/setup/sshd.ts): 100 MiB
// byte-identical round trips, host-key policy (unknown, accept-new, changed, hashed, revoked),
// remote exit status / signal / stderr, a killed connection, keepalives, back-pressure, and
// cancel ending the remote process (checked on the server side, in /proc).
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../elements/index.js';
import { defineElement } from '../../src/bridge.js';
import { fingerprint, hostFieldMatches, KnownHosts } from '../../src/ssh.js';
import { element, runClean, type RunOutcome } from '../helpers.js';
import { keygen, processesMatching, startSshd, type Sshd } from '../setup/sshd.js';

const MiB = 1024 * 1024;
let sshd: Sshd;
let data: string;
let dataSha: string;

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** A file of random bytes, written in 1 MiB pieces. */
function randomFile(file: string, bytes: number): void {
  const fd = openSync(file, 'w');
  for (let left = bytes; left > 0; left -= MiB) writeSync(fd, randomBytes(Math.min(MiB, left)));
  closeSync(fd);
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const infos = (o: RunOutcome): string[] => o.messages.flatMap((m) => (m.type === 'info' ? [(m as { message: string }).message] : []));

// A destination that holds every chunk until the test opens its gate (back-pressure test).
let gate: Promise<void> = Promise.resolve();
let gateBytes = 0;
defineElement({
  name: 'dest-ts-gate', role: 'dest', description: 'test: waits for a gate before taking each chunk', props: [],
  example: 'source-random length=1MiB seed=1 ! dest-ts-gate', window: 2,
  create: () => ({
    async write(chunk) {
      await gate;
      gateBytes += chunk.length;
    },
  }),
});

beforeAll(async () => {
  sshd = await startSshd();
  data = join(sshd.dir, 'data.bin');
  randomFile(data, 100 * MiB);
  dataSha = sha256(data);
});
afterAll(async () => {
  await sshd?.stop();
});

describe('source-ssh / dest-ssh data', () => {
  it('source-ssh streams `cat` of 100 MiB byte for byte', async () => {
    const out = join(sshd.dir, 'down.bin');
    const t0 = Date.now();
    const r = await runClean([element('source-ssh', sshd.props({ command: `cat ${data}` })), element('dest-file', { path: out, sync: false })]);
    const s = (Date.now() - t0) / 1000;
    expect(r.error).toBeUndefined();
    console.log(`source-ssh cat 100 MiB: ${(100 / s).toFixed(1)} MiB/s`);
    expect(statSync(out).size).toBe(100 * MiB);
    expect(sha256(out)).toBe(dataSha);
  });

  it('dest-ssh streams 100 MiB into `cat > file` byte for byte', async () => {
    const up = join(sshd.dir, 'up.bin');
    const t0 = Date.now();
    const r = await runClean([element('source-file', { path: data }), element('dest-ssh', sshd.props({ command: `cat > ${up}` }))]);
    const s = (Date.now() - t0) / 1000;
    expect(r.error).toBeUndefined();
    console.log(`dest-ssh cat > file 100 MiB: ${(100 / s).toFixed(1)} MiB/s`);
    expect(statSync(up).size).toBe(100 * MiB);
    expect(sha256(up)).toBe(dataSha);
  });

  it('an empty stream: dest-ssh still runs the command and sends EOF; source-ssh of no output', async () => {
    const f = join(sshd.dir, 'empty.out');
    const empty = join(sshd.dir, 'empty.in');
    writeFileSync(empty, '');
    const a = await runClean([element('source-file', { path: empty }), element('dest-ssh', sshd.props({ command: `cat > ${f}; echo ran` }))]);
    expect(a.error).toBeUndefined();
    expect(infos(a)).toContain('stdout: ran');
    expect(readFileSync(f).length).toBe(0);
    const b = await runClean([element('source-ssh', sshd.props({ command: 'true' })), element('dest-buffer')]);
    expect(b.error).toBeUndefined();
    expect(b.xfer.result(1)?.length ?? 0).toBe(0);
  });

  it('stderr lines become info messages; stdout of dest-ssh too', async () => {
    const r = await runClean([element('source-ssh', sshd.props({ command: 'echo data; echo "warning one" >&2; printf "no newline" >&2' })), element('dest-buffer')]);
    expect(r.xfer.result(1)?.toString()).toBe('data\n');
    expect(infos(r)).toEqual(expect.arrayContaining(['stderr: warning one', 'stderr: no newline']));
    const d = await runClean([element('source-random', { length: 1000, seed: 2 }), element('dest-ssh', sshd.props({ command: 'wc -c; echo done >&2' }))]);
    expect(d.error).toBeUndefined();
    expect(infos(d)).toEqual(expect.arrayContaining(['stdout: 1000', 'stderr: done']));
  });

  it('the pipeline language reaches the elements (registered by importing the package)', async () => {
    const { parse } = await import('../../src/index.js');
    const x = parse(`source-ssh host=127.0.0.1 port=${sshd.port} user=${sshd.user} identity=${sshd.clientKey} known-hosts=${sshd.knownHosts} command="printf abc" ! dest-buffer`);
    await x.start().done;
    expect(x.result(1)?.toString()).toBe('abc');
  });

  it('back-pressure: a stalled destination stops the remote command instead of filling memory', async () => {
    const done = join(sshd.dir, 'bp.done');
    let open!: () => void;
    gate = new Promise((r) => (open = r));
    gateBytes = 0;
    const running = runClean([element('source-ssh', sshd.props({ command: `head -c 64M /dev/zero; touch ${done}` })), element('dest-ts-gate')]);
    await new Promise((r) => setTimeout(r, 1500));
    // Unread, 64 MiB cannot have left the remote side: windows and socket buffers hold a few MiB.
    expect(existsSync(done)).toBe(false);
    open();
    const r = await running;
    expect(r.error).toBeUndefined();
    expect(gateBytes).toBe(64 * MiB);
    expect(existsSync(done)).toBe(true);
  });
});

describe('remote failures', () => {
  it('a non-zero exit is an error naming the command and status, with the last stderr lines', async () => {
    const cmd = 'echo partial; echo "first problem" >&2; echo "disk full" >&2; exit 3';
    const r = await runClean([element('source-ssh', sshd.props({ command: cmd })), element('dest-buffer')]);
    expect(r.error?.message).toBe(`source-ssh#1: remote command: remote command "${cmd}" on ${sshd.user}@[127.0.0.1]:${sshd.port} exited with status 3; stderr: first problem | disk full`);
    expect(infos(r)).toEqual(expect.arrayContaining(['stderr: first problem', 'stderr: disk full']));
  });

  it('a signal is an error naming it', async () => {
    const r = await runClean([element('source-ssh', sshd.props({ command: 'echo x; kill -USR1 $$' })), element('dest-buffer')]);
    expect(r.error?.message).toMatch(/remote command "echo x; kill -USR1 \$\$" on .* was killed by signal USR1/);
  });

  it('dest-ssh: a command that fails before reading its input is an error with its stderr', async () => {
    const r = await runClean([element('source-random', { length: '8MiB', seed: 3 }), element('dest-ssh', sshd.props({ command: 'cat > /nonexistent-xfa/dir/file' }))]);
    expect(r.error?.message).toMatch(/dest-ssh#2: remote command: remote command "cat > \/nonexistent-xfa\/dir\/file" on .* exited with status 2; stderr: .*cannot create \/nonexistent-xfa\/dir\/file: Directory nonexistent/);
  });

  it('dest-ssh: a command that exits 0 without reading everything is an error (data would be lost)', async () => {
    const r = await runClean([element('source-random', { length: '16MiB', seed: 3 }), element('dest-ssh', sshd.props({ command: 'head -c 10 >/dev/null' }))]);
    expect(r.error?.message).toMatch(/dest-ssh#2: write: remote command "head -c 10 >\/dev\/null" exited \(status 0\) before reading all its input/);
  });

  it('a refused connection and a failed authentication are clear errors', async () => {
    const other = join(sshd.dir, 'stranger_ed25519');
    keygen(other);
    const a = await runClean([element('source-ssh', sshd.props({ identity: other, command: 'true' })), element('dest-buffer')]);
    expect(a.error?.message).toMatch(new RegExp(`source-ssh#1: connect: authentication as ${sshd.user} at \\[127.0.0.1\\]:${sshd.port} failed`));
    expect(a.error?.message).not.toContain(readFileSync(other, 'utf8').split('\n')[1]);
    const b = await runClean([element('source-ssh', sshd.props({ port: 1, command: 'true' })), element('dest-buffer')]);
    expect(b.error?.message).toBe('source-ssh#1: connect: connect to [127.0.0.1]:1: connection refused');
  });

  it('source-ssh: the sshd session killed mid-stream is a clear error', async () => {
    let killed = false;
    const r = await runClean([element('source-ssh', sshd.props({ command: 'cat /dev/zero' })), element('dest-null')], {
      progressMs: 50,
      during: (x) => x.on('message', (m) => {
        if (m.type === 'progress' && !killed) {
          killed = true;
          for (const p of sshd.sessionPids()) process.kill(p, 'SIGKILL');
        }
      }),
    });
    expect(killed).toBe(true);
    expect(r.error?.message).toMatch(new RegExp(`source-ssh#1: connection: connection to ${sshd.user}@\\[127.0.0.1\\]:${sshd.port} lost while running "cat /dev/zero"`));
  });

  it('dest-ssh: the sshd session killed mid-stream is a clear error', async () => {
    const r = await runClean([element('source-random', { length: 0, seed: 4 }), element('dest-ssh', sshd.props({ command: 'cat > /dev/null' }))], {
      during: () => void until(() => sshd.sessionPids().length > 0, 5000, 'a session')
        .then(() => new Promise((r) => setTimeout(r, 500)))
        .then(() => sshd.sessionPids().forEach((p) => process.kill(p, 'SIGKILL'))),
    });
    expect(r.error?.message).toMatch(/dest-ssh#2: (write|connection): .*(lost|closed)/);
  });

  it('keepalive: a server that stops answering is detected', async () => {
    const marker = '31.0625';
    const t0 = Date.now();
    let stopped: number[] = [];
    const r = await runClean([element('source-ssh', sshd.props({ command: `sleep ${marker}`, keepalive: '300ms', 'keepalive-count-max': 2 })), element('dest-buffer')], {
      during: () => void until(() => processesMatching(`sleep ${marker}`).length > 0, 5000, 'remote sleep').then(() => {
        stopped = sshd.sessionPids();
        stopped.forEach((p) => process.kill(p, 'SIGSTOP'));
      }),
    });
    stopped.forEach((p) => process.kill(p, 'SIGKILL'));
    processesMatching(`sleep ${marker}`).forEach((p) => process.kill(p, 'SIGKILL'));
    expect(stopped.length).toBeGreaterThan(0);
    expect(r.error?.message).toMatch(/connection .* lost while running "sleep 31.0625": no answer to 2 keepalives \(300 ms apart\)/);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });
});

describe('cancel', () => {
  it('source-ssh: cancel ends the remote command, a compound one included (its process group)', async () => {
    const marker = '4242.125';
    const r = await runClean([element('source-ssh', sshd.props({ command: `sleep ${marker}; echo after` })), element('dest-buffer')], {
      during: (x) => void until(() => processesMatching(`sleep ${marker}`).length >= 2, 5000, 'remote shell and sleep').then(() => x.cancel()),
    });
    expect(r.error?.cancelled).toBe(true);
    await until(() => processesMatching(marker).length === 0, 5000, 'remote processes to end');
  });

  it('dest-ssh: cancel mid-transfer kills the remote command before it could see EOF', async () => {
    const out = join(sshd.dir, 'cancel.out');
    const after = join(sshd.dir, 'cancel.after');
    const r = await runClean([element('source-random', { length: 0, seed: 5 }), element('dest-ssh', sshd.props({ command: `cat > ${out}; touch ${after}` }))], {
      during: (x) => void until(() => existsSync(out) && statSync(out).size > 4 * MiB, 10_000, 'remote data').then(() => x.cancel()),
    });
    expect(r.error?.cancelled).toBe(true);
    await until(() => processesMatching(out).length === 0, 5000, 'remote cat to end');
    await new Promise((res) => setTimeout(res, 300));
    // Had the remote shell seen EOF, `cat` would have ended normally and `touch` run.
    expect(existsSync(after)).toBe(false);
  });
});

describe('host keys', () => {
  const run1 = (props: Record<string, unknown>): Promise<RunOutcome> =>
    runClean([element('source-ssh', sshd.props({ command: 'printf ok', ...props })), element('dest-buffer')]);
  const hostFp = (): string => execFileSync('ssh-keygen', ['-lf', sshd.hostPub], { encoding: 'utf8' }).split(' ')[1];

  it('an unknown host is refused, naming the host and the SHA256 fingerprint OpenSSH shows', async () => {
    const kh = join(sshd.dir, 'kh-empty');
    writeFileSync(kh, '# nothing yet\n');
    const r = await run1({ 'known-hosts': kh });
    expect(hostFp()).toMatch(/^SHA256:/);
    expect(r.error?.message).toContain(`source-ssh#1: host key: host [127.0.0.1]:${sshd.port} is unknown: its ED25519 key ${hostFp()} is not in ${kh}`);
    expect(readFileSync(kh, 'utf8')).toBe('# nothing yet\n');
  });

  it('accept-new-host-key records an unknown key; OpenSSH then accepts the file, and so do we without the option', async () => {
    const kh = join(sshd.dir, 'fresh', 'known_hosts'); // directory created as needed
    const r = await run1({ 'known-hosts': kh, 'accept-new-host-key': true });
    expect(r.error).toBeUndefined();
    expect(r.xfer.result(1)?.toString()).toBe('ok');
    expect(infos(r)).toContain(`recorded the ED25519 key ${hostFp()} of new host [127.0.0.1]:${sshd.port} in ${kh}`);
    expect(statSync(kh).mode & 0o777).toBe(0o600);
    const found = execFileSync('ssh-keygen', ['-F', `[127.0.0.1]:${sshd.port}`, '-f', kh], { encoding: 'utf8' });
    expect(found).toContain(readFileSync(sshd.hostPub, 'utf8').split(' ')[1]);
    const ssh = execFileSync('ssh', ['-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${kh}`, '-o', 'GlobalKnownHostsFile=/dev/null',
      '-i', sshd.clientKey, '-p', String(sshd.port), `${sshd.user}@127.0.0.1`, 'echo openssh-ok'], { encoding: 'utf8' });
    expect(ssh.trim()).toBe('openssh-ok');
    const again = await run1({ 'known-hosts': kh });
    expect(again.error).toBeUndefined();
    expect(readFileSync(kh, 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('a changed key is refused loudly, even with accept-new-host-key, and the file is left alone', async () => {
    const fake = join(sshd.dir, 'fake_host');
    keygen(fake);
    const kh = join(sshd.dir, 'kh-changed');
    const text = `[127.0.0.1]:${sshd.port} ${readFileSync(`${fake}.pub`, 'utf8').split(' ').slice(0, 2).join(' ')}\n`;
    writeFileSync(kh, text);
    const r = await run1({ 'known-hosts': kh, 'accept-new-host-key': true });
    const oldFp = execFileSync('ssh-keygen', ['-lf', `${fake}.pub`], { encoding: 'utf8' }).split(' ')[1];
    expect(r.error?.message).toContain(`source-ssh#1: host key: HOST KEY FOR [127.0.0.1]:${sshd.port} HAS CHANGED (possible man-in-the-middle attack): ` +
      `the server offered ED25519 key ${hostFp()}, but ${kh}:1 records ${oldFp}; connection refused`);
    expect(readFileSync(kh, 'utf8')).toBe(text);
  });

  it('hashed entries (ssh-keygen -H) are matched, for the right key and against a changed one', async () => {
    const kh = join(sshd.dir, 'kh-hashed');
    writeFileSync(kh, `${sshd.knownHostsLine}\n`);
    execFileSync('ssh-keygen', ['-H', '-f', kh], { stdio: 'ignore' });
    expect(readFileSync(kh, 'utf8')).toMatch(/^\|1\|/);
    expect(readFileSync(kh, 'utf8')).not.toContain('127.0.0.1');
    const ok = await run1({ 'known-hosts': kh });
    expect(ok.error).toBeUndefined();

    const fake = join(sshd.dir, 'fake_host2');
    keygen(fake);
    const kh2 = join(sshd.dir, 'kh-hashed-changed');
    writeFileSync(kh2, `[127.0.0.1]:${sshd.port} ${readFileSync(`${fake}.pub`, 'utf8').split(' ').slice(0, 2).join(' ')}\n`);
    execFileSync('ssh-keygen', ['-H', '-f', kh2], { stdio: 'ignore' });
    const bad = await run1({ 'known-hosts': kh2 });
    expect(bad.error?.message).toMatch(/HAS CHANGED/);
  });

  it('patterns: wildcards, negation, ports, @revoked', () => {
    const name = `[127.0.0.1]:${sshd.port}`;
    expect(hostFieldMatches(`[127.0.0.*]:${sshd.port}`, name)).toBe(true);
    expect(hostFieldMatches('127.0.0.1', name)).toBe(false); // port 22 only
    expect(hostFieldMatches('127.0.0.1', '127.0.0.1')).toBe(true);
    expect(hostFieldMatches('*.example.org,!bad.example.org', 'good.example.org')).toBe(true);
    expect(hostFieldMatches('*.example.org,!bad.example.org', 'bad.example.org')).toBe(false);
    expect(hostFieldMatches('host?', 'HOST1')).toBe(true);
    const blob = Buffer.from(sshd.knownHostsLine.split(' ')[2], 'base64');
    const kh = join(sshd.dir, 'kh-revoked');
    writeFileSync(kh, `${sshd.knownHostsLine}\n@revoked * ${sshd.knownHostsLine.split(' ').slice(1).join(' ')}\n`);
    expect(KnownHosts.load(kh).check(name, blob)).toEqual({ status: 'revoked', line: 2 });
    expect(fingerprint(blob)).toBe(hostFp());
  });

  it('a revoked key is refused', async () => {
    const kh = join(sshd.dir, 'kh-revoked2');
    writeFileSync(kh, `${sshd.knownHostsLine}\n@revoked * ${sshd.knownHostsLine.split(' ').slice(1).join(' ')}\n`);
    const r = await run1({ 'known-hosts': kh, 'accept-new-host-key': true });
    expect(r.error?.message).toMatch(/is marked @revoked in .*kh-revoked2:2; connection refused/);
  });
});
