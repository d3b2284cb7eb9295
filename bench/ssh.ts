/**
 * SSH elements against OpenSSH's own client on the same file, same run (bench/harness.ts compare():
 * median of per-run ratios), through a local sshd started like the tests' (test/setup/sshd.ts).
 * `node --import tsx bench/ssh.ts`
 *
 *   source-ssh command="cat FILE" ! dest-file   vs  ssh host cat FILE > out
 *   file ! dest-ssh command="cat > OUT"          vs  ssh host 'cat > OUT' < file
 *   source-sftp ! dest-file                      vs  scp host:FILE out   (scp speaks SFTP since OpenSSH 9)
 *   file ! dest-sftp sync=false                  vs  scp file host:OUT
 *
 * Each side uses its default cipher (ssh2: aes128-gcm; OpenSSH: chacha20-poly1305). Input: random
 * bytes, BENCH_MB MiB (default 1024); BENCH_RUNS runs per case (default 3); BENCH_ONLY filters
 * cases by name. sshd and both clients share the machine's cores: the ratio is what counts.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { element, Xfer } from '../src/index.js';
import { startSshd } from '../test/setup/sshd.js';
import { compare, sh, type CaseResult } from './harness.js';

const MB = Number(process.env.BENCH_MB ?? 1024);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const ONLY = process.env.BENCH_ONLY;
const want = (name: string): boolean => !ONLY || name.includes(ONLY);

const sshd = await startSshd();
const results: CaseResult[] = [];
try {
  const input = join(sshd.dir, 'input.bin');
  const fd = openSync(input, 'w');
  for (let i = 0; i < MB; i++) writeSync(fd, randomBytes(1 << 20));
  closeSync(fd);
  const out = join(sshd.dir, 'out.bin');
  const remoteOut = join(sshd.dir, 'remote-out.bin');
  const opts = `-o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${sshd.knownHosts} -o GlobalKnownHostsFile=/dev/null -i ${sshd.clientKey}`;
  const ssh = `ssh ${opts} -p ${sshd.port} ${sshd.user}@127.0.0.1`;
  const scp = `scp -q ${opts} -P ${sshd.port}`;
  const clean = (): void => {
    rmSync(out, { force: true });
    rmSync(remoteOut, { force: true });
  };
  const xfer = async (specs: ReturnType<typeof element>[]): Promise<void> => {
    await new Xfer(specs, { progressMs: 0 }).start().done;
  };
  const bytes = MB << 20;

  if (want('source-ssh')) {
    results.push(await compare({
      name: 'source-ssh cat → file', baseline: 'ssh host cat f > out', bytes, runs: RUNS, before: clean,
      base: () => sh(`${ssh} cat ${input} > ${out}`),
      xfa: () => xfer([element('source-ssh', sshd.props({ command: `cat ${input}` })), element('dest-file', { path: out, sync: false })]),
    }));
  }
  if (want('dest-ssh')) {
    results.push(await compare({
      name: 'file → dest-ssh cat > f', baseline: "ssh host 'cat > f' < in", bytes, runs: RUNS, before: clean,
      base: () => sh(`${ssh} 'cat > ${remoteOut}' < ${input}`),
      xfa: () => xfer([element('source-file', { path: input }), element('dest-ssh', sshd.props({ command: `cat > ${remoteOut}` }))]),
    }));
  }
  if (want('source-sftp')) {
    results.push(await compare({
      name: 'source-sftp → file', baseline: 'scp host:f out', bytes, runs: RUNS, before: clean,
      base: () => sh(`${scp} ${sshd.user}@127.0.0.1:${input} ${out}`),
      xfa: () => xfer([element('source-sftp', sshd.props({ path: input })), element('dest-file', { path: out, sync: false })]),
    }));
  }
  if (want('dest-sftp')) {
    results.push(await compare({
      name: 'file → dest-sftp (no fsync)', baseline: 'scp in host:f', bytes, runs: RUNS, before: clean,
      base: () => sh(`${scp} ${input} ${sshd.user}@127.0.0.1:${remoteOut}`),
      xfa: () => xfer([element('source-file', { path: input }), element('dest-sftp', sshd.props({ path: remoteOut, sync: false }))]),
    }));
  }
} finally {
  await sshd.stop();
}
console.log(JSON.stringify(results.map((r) => ({ name: r.name, xfaMBps: +r.xfaMBps.toFixed(1), baseMBps: +r.baseMBps.toFixed(1), ratio: +r.ratio.toFixed(2) }))));
