// source-sftp / dest-sftp against Debian's OpenSSH sshd (internal-sftp) on 127.0.0.1: 100 MiB
// byte-identical both ways, NAME.tmp + rename, cleanup on cancel and failure, pipelined reads
// with odd sizes, remote errors and a killed connection.
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../elements/index.js';
import { defineElement } from '../../src/bridge.js';
import { element, runClean, type RunOutcome } from '../helpers.js';
import { startSshd, type Sshd } from '../setup/sshd.js';

const MiB = 1024 * 1024;
let sshd: Sshd;
let data: string;
let dataSha: string;

const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');
const infos = (o: RunOutcome): string[] => o.messages.flatMap((m) => (m.type === 'info' ? [(m as { message: string }).message] : []));

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

// A source that sends some data, then fails (upstream failure reaching dest-sftp).
defineElement({
  name: 'source-ts-then-fail', role: 'source', description: 'test: 3 MiB, then an error', props: [],
  example: 'source-ts-then-fail ! dest-null',
  create: () => ({
    async run(ctx) {
      for (let i = 0; i < 3; i++) await ctx.push(Buffer.alloc(MiB, i));
      await new Promise((r) => setTimeout(r, 200));
      throw Object.assign(new Error('disk went away'), { op: 'read' });
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

describe('dest-sftp / source-sftp data', () => {
  it('dest-sftp uploads 100 MiB byte for byte via NAME.tmp and a rename', async () => {
    const up = join(sshd.dir, 'up.bin');
    const t0 = Date.now();
    const r = await runClean([element('source-file', { path: data }), element('dest-sftp', sshd.props({ path: up }))]);
    const s = (Date.now() - t0) / 1000;
    expect(r.error).toBeUndefined();
    console.log(`dest-sftp 100 MiB: ${(100 / s).toFixed(1)} MiB/s`);
    expect(sha256(up)).toBe(dataSha);
    expect(existsSync(`${up}.tmp`)).toBe(false);
    expect(infos(r)).toContain(`wrote ${100 * MiB} bytes to ${sshd.user}@[127.0.0.1]:${sshd.port}:${up}`);
  });

  it('source-sftp downloads 100 MiB byte for byte', async () => {
    const down = join(sshd.dir, 'down.bin');
    const t0 = Date.now();
    const r = await runClean([element('source-sftp', sshd.props({ path: data })), element('dest-file', { path: down, sync: false })]);
    const s = (Date.now() - t0) / 1000;
    expect(r.error).toBeUndefined();
    console.log(`source-sftp 100 MiB: ${(100 / s).toFixed(1)} MiB/s`);
    expect(statSync(down).size).toBe(100 * MiB);
    expect(sha256(down)).toBe(dataSha);
  });

  it('odd sizes with tiny requests: pipelining keeps the order, both ways', async () => {
    const odd = join(sshd.dir, 'odd.bin');
    const back = join(sshd.dir, 'odd.back');
    const up = await runClean([element('source-random', { length: 1_000_003, seed: 11 }),
      element('dest-sftp', sshd.props({ path: odd, 'request-size': '1KiB', requests: 7 }))], { blockSize: 65536 });
    expect(up.error).toBeUndefined();
    expect(statSync(odd).size).toBe(1_000_003);
    const down = await runClean([element('source-sftp', sshd.props({ path: odd, 'request-size': 3000, requests: 5 })),
      element('dest-null', { seed: 11 })]);
    expect(down.error).toBeUndefined();
    expect(down.messages.some((m) => m.type === 'error')).toBe(false);
    const again = await runClean([element('source-sftp', sshd.props({ path: odd, requests: 1 })), element('dest-file', { path: back, sync: false })]);
    expect(again.error).toBeUndefined();
    expect(sha256(back)).toBe(sha256(odd));
  });

  it('empty files both ways', async () => {
    const empty = join(sshd.dir, 'empty.in');
    const out = join(sshd.dir, 'empty.out');
    writeFileSync(empty, '');
    const up = await runClean([element('source-file', { path: empty }), element('dest-sftp', sshd.props({ path: out }))]);
    expect(up.error).toBeUndefined();
    expect(statSync(out).size).toBe(0);
    const down = await runClean([element('source-sftp', sshd.props({ path: out })), element('dest-buffer')]);
    expect(down.error).toBeUndefined();
    expect(down.xfer.result(1)?.length ?? 0).toBe(0);
  });

  it('dest-sftp replaces an existing file', async () => {
    const f = join(sshd.dir, 'replace.txt');
    writeFileSync(f, 'old content, longer than the new one\n');
    const r = await runClean([element('source-pattern', { length: 6, pattern: 'new!\n' }), element('dest-sftp', sshd.props({ path: f }))]);
    expect(r.error).toBeUndefined();
    expect(readFileSync(f, 'utf8')).toBe('new!\nn');
  });
});

describe('failures and cancel', () => {
  it('remote errors name the host and path: missing file, missing directory (no .tmp left)', async () => {
    const a = await runClean([element('source-sftp', sshd.props({ path: '/nonexistent-xfa/file' })), element('dest-buffer')]);
    expect(a.error?.message).toBe(`source-sftp#1: open: open ${sshd.user}@[127.0.0.1]:${sshd.port}:/nonexistent-xfa/file: No such file`);
    const b = await runClean([element('source-random', { length: 1000, seed: 1 }), element('dest-sftp', sshd.props({ path: '/nonexistent-xfa/out' }))]);
    expect(b.error?.message).toBe(`dest-sftp#2: open: open ${sshd.user}@[127.0.0.1]:${sshd.port}:/nonexistent-xfa/out.tmp: No such file`);
  });

  it('dest-sftp: cancel mid-transfer removes NAME.tmp and leaves NAME as it was', async () => {
    const f = join(sshd.dir, 'cancel.bin');
    writeFileSync(f, 'previous backup\n');
    const r = await runClean([element('source-random', { length: 0, seed: 5 }), element('dest-sftp', sshd.props({ path: f }))], {
      during: (x) => void until(() => existsSync(`${f}.tmp`) && statSync(`${f}.tmp`).size > 4 * MiB, 10_000, 'remote .tmp').then(() => x.cancel()),
    });
    expect(r.error?.cancelled).toBe(true);
    expect(existsSync(`${f}.tmp`)).toBe(false);
    expect(readFileSync(f, 'utf8')).toBe('previous backup\n');
  });

  it('dest-sftp: an upstream failure removes NAME.tmp too', async () => {
    const f = join(sshd.dir, 'failed.bin');
    const r = await runClean([element('source-ts-then-fail'), element('dest-sftp', sshd.props({ path: f }))]);
    expect(r.error?.message).toBe('source-ts-then-fail#1: read: disk went away');
    expect(existsSync(`${f}.tmp`)).toBe(false);
    expect(existsSync(f)).toBe(false);
  });

  it('source-sftp: reads past the size fstat gave (/dev/zero is endless); cancel ends it cleanly', async () => {
    const r = await runClean([element('source-sftp', sshd.props({ path: '/dev/zero' })), element('dest-null')], {
      progressMs: 50,
      during: (x) => x.on('message', (m) => {
        if (m.type === 'progress' && m.bytesOut > 4 * MiB) x.cancel();
      }),
    });
    expect(r.error?.cancelled).toBe(true);
    const moved = Math.max(...r.messages.flatMap((m) => (m.type === 'progress' ? [m.bytesOut] : [0])));
    expect(moved).toBeGreaterThan(4 * MiB);
  });

  it('source-sftp: the sshd session killed mid-stream is a clear error', async () => {
    let killed = false;
    const r = await runClean([element('source-sftp', sshd.props({ path: '/dev/zero' })), element('dest-null')], {
      progressMs: 50,
      during: (x) => x.on('message', (m) => {
        if (m.type === 'progress' && !killed) {
          killed = true;
          for (const p of sshd.sessionPids()) process.kill(p, 'SIGKILL');
        }
      }),
    });
    expect(killed).toBe(true);
    expect(r.error?.message).toMatch(new RegExp(`source-sftp#1: read: read ${sshd.user}@\\[127.0.0.1\\]:${sshd.port}:/dev/zero: connection lost`));
  });

  it('dest-sftp: the sshd session killed mid-stream is a clear error', async () => {
    const f = join(sshd.dir, 'killed.bin');
    const r = await runClean([element('source-random', { length: 0, seed: 6 }), element('dest-sftp', sshd.props({ path: f }))], {
      during: () => void until(() => existsSync(`${f}.tmp`) && statSync(`${f}.tmp`).size > 2 * MiB, 10_000, 'remote .tmp')
        .then(() => sshd.sessionPids().forEach((p) => process.kill(p, 'SIGKILL'))),
    });
    expect(r.error?.message).toMatch(new RegExp(`dest-sftp#2: write: write ${sshd.user}@\\[127.0.0.1\\]:${sshd.port}:${f}.tmp: connection lost`));
    expect(existsSync(f)).toBe(false);
  });
});
