// Amanda's installcheck/Amanda_Xfer.pl, items 1–13 (reference amanda-xfa.md §9.1), on xfa —
// plus the lifecycle guarantees: message order, one `done`, nothing left behind.
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { Xfer } from '../../src/xfer.js';
import { element, run, runClean, states, types } from '../helpers.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'xfa-xfer-'));
});

function randomFile(name: string, size: number): string {
  const p = join(dir, name);
  const buf = Buffer.alloc(size);
  for (let i = 0; i < size; i++) buf[i] = (i * 2654435761) >>> 24;
  writeFileSync(p, buf);
  return p;
}

describe('Amanda_Xfer.pl ported', () => {
  it('1. creating a transfer does not start it', () => {
    const x = new Xfer([element('source-random', { length: 10, seed: 1 }), element('dest-null')]);
    expect(x.state).toBe('INIT');
  });

  it('2. random → null(seed) completes with crc, states and exactly one done, last', async () => {
    const { messages, result } = await runClean([
      element('source-random', { length: '1MiB', seed: 42 }), element('dest-null', { seed: 42 }),
    ]);
    expect(result).toBeDefined();
    expect(states(messages)).toEqual(['START', 'RUNNING', 'DONE']);
    expect(messages.filter((m) => m.type === 'done')).toHaveLength(1);
    expect(messages.at(-1)?.type).toBe('done');
    const crc = messages.find((m) => m.type === 'crc');
    expect(crc).toMatchObject({ elt: 'dest-null#2', crc: '690c765b', size: 1048576 });
  });

  it('3. two simultaneous transfers complete', async () => {
    const [a, b] = await Promise.all([
      runClean([element('source-random', { length: '8MiB', seed: 1 }), element('dest-null', { seed: 1 })]),
      runClean([element('source-random', { length: '8MiB', seed: 2 }), element('dest-null', { seed: 2 })]),
    ]);
    expect(a.result && b.result).toBeTruthy();
  });

  it('4. a 10-element chain (random → 8×xor → null) links and completes', async () => {
    const xors = [1, 2, 3, 4, 4, 3, 2, 1].map((key) => element('filter-xor', { key }));
    const { result, messages } = await runClean([
      element('source-random', { length: '4MiB', seed: 9 }), ...xors, element('dest-null', { seed: 9 }),
    ]);
    expect(result).toBeDefined();
    const link = messages.find((m) => m.type === 'linkage');
    expect(link && link.type === 'linkage' && link.message.split('filter-xor').length - 1).toBe(8);
  });

  it('5. source-fd → dest-fd copies byte-identically', async () => {
    const src = randomFile('fd-in', 5 * 1024 * 1024 + 17);
    const out = join(dir, 'fd-out');
    const inFd = openSync(src, 'r');
    const outFd = openSync(out, 'w');
    const { result } = await runClean([element('source-fd', { fd: inFd }), element('dest-fd', { fd: outFd })]);
    closeSync(inFd);
    closeSync(outFd);
    expect(result).toBeDefined();
    expect(readFileSync(out).equals(readFileSync(src))).toBe(true);
  });

  it('6. source-file → dest-file copies byte-identically, via NAME.tmp', async () => {
    const src = randomFile('file-in', 3 * 1024 * 1024 + 5);
    const out = join(dir, 'file-out');
    const { result, xfer } = await runClean([element('source-file', { path: src }), element('dest-file', { path: out })]);
    expect(result).toBeDefined();
    expect(xfer.linkage).toBe('source-file#1 -READFD-> glue -WRITEFD-> dest-file#2');
    expect(readFileSync(out).equals(readFileSync(src))).toBe(true);
    expect(existsSync(`${out}.tmp`)).toBe(false);
  });

  it('7. an endless transfer ends after cancel(): cancel then done', async () => {
    const { messages, error } = await runClean([element('source-random', { length: 0, seed: 5 }), element('dest-null', { seed: 5 })], {
      during: (x) => setTimeout(() => x.cancel(), 50),
    });
    expect(error?.cancelled).toBe(true);
    expect(types(messages)).toEqual(['cancel', 'done']);
    expect(states(messages)).toEqual(['START', 'RUNNING', 'CANCELLING', 'CANCELLED', 'DONE']);
  });

  it('8. writing to a read-only fd: error, then cancel, then done', async () => {
    const ro = openSync(randomFile('ro', 10), 'r');
    const { messages, error } = await runClean([element('source-random', { length: '1MiB', seed: 3 }), element('dest-fd', { fd: ro })]);
    closeSync(ro);
    expect(types(messages)).toEqual(['error', 'cancel', 'done']);
    expect(error?.code).toBe('EBADF');
    expect(error?.element).toBe('dest-fd#2');
    expect(error?.message).toMatch(/^dest-fd#2: write fd \d+: EBADF: bad file descriptor$/);
  });

  it('9. compress | uncompress through filter-process round-trips', async () => {
    const src = randomFile('gz-in', 2 * 1024 * 1024);
    const out = join(dir, 'gz-out');
    const { result, messages } = await runClean([
      element('source-file', { path: src }),
      element('filter-process', { cmd: 'gzip -c -1' }),
      element('filter-process', { argv: ['gzip', '-dc'] }),
      element('dest-file', { path: out }),
    ]);
    expect(result).toBeDefined();
    expect(readFileSync(out).equals(readFileSync(src))).toBe(true);
    const infos = messages.filter((m) => m.type === 'info').map((m) => (m.type === 'info' ? m.message : ''));
    expect(infos).toContain('gzip exited with status 0');
  });

  it('10. gzip exit status 2 (trailing garbage) is a warning when warn-exit=2, an error otherwise', async () => {
    const gz = join(dir, 'trailing.gz');
    writeFileSync(gz, Buffer.concat([gzipSync(Buffer.from('hello world\n')), Buffer.from('garbage after the member')]));
    const ok = await runClean([
      element('source-file', { path: gz }), element('filter-process', { cmd: 'gzip -dc', 'warn-exit': '2' }),
      element('dest-buffer'),
    ]);
    expect(ok.result).toBeDefined();
    expect(ok.xfer.result(2)?.toString()).toBe('hello world\n');
    expect(ok.messages.some((m) => m.type === 'info' && m.warning === true && m.message.includes('status 2'))).toBe(true);

    const bad = await runClean([
      element('source-file', { path: gz }), element('filter-process', { cmd: 'gzip -dc' }), element('dest-buffer'),
    ]);
    expect(bad.error?.message).toMatch(/^filter-process#2: run gzip: gzip exited with status 2\n.*trailing garbage/s);
    expect(types(bad.messages)).toEqual(['error', 'cancel', 'done']);
  });

  it('11. a process filter is cancellable when its source cannot end', async () => {
    const { messages, error } = await runClean([
      element('source-random', { length: 0, seed: 8 }), element('filter-process', { cmd: 'cat' }), element('dest-null', { seed: 8 }),
    ], { during: (x) => setTimeout(() => x.cancel(), 100) });
    expect(error?.cancelled).toBe(true);
    expect(types(messages)).toEqual(['cancel', 'done']);
  });

  it('12. dest-buffer captures exactly the bytes', async () => {
    const { xfer, result } = await runClean([element('source-pattern', { length: 1000, pattern: 'abc' }), element('dest-buffer')]);
    expect(result).toBeDefined();
    expect(xfer.result(1)?.toString()).toBe('abc'.repeat(334).slice(0, 1000));
  });

  it('13. dest-buffer over max-size stops the transfer with an error', async () => {
    const { error, messages } = await runClean([
      element('source-random', { length: '1MiB', seed: 2 }), element('dest-buffer', { 'max-size': '100KiB' }),
    ]);
    expect(error?.message).toBe('dest-buffer#2: push: illegal attempt to transfer more than 102400 bytes');
    expect(types(messages)).toEqual(['error', 'cancel', 'done']);
  });
});

describe('errors and atomic destinations', () => {
  it('a missing program is a clear error naming it, and leaves no file', async () => {
    const out = join(dir, 'never');
    const { error } = await runClean([
      element('source-random', { length: 1000, seed: 2 }), element('filter-process', { cmd: 'no-such-program-xfa --x' }),
      element('dest-file', { path: out }),
    ]);
    expect(error?.message).toBe('filter-process#2: exec no-such-program-xfa: ENOENT: no such file or directory');
    expect(existsSync(out) || existsSync(`${out}.tmp`)).toBe(false);
  });

  it('a missing source file fails before any thread runs', async () => {
    const { error, messages } = await runClean([element('source-file', { path: join(dir, 'nope') }), element('dest-null')]);
    expect(error?.message).toBe(`source-file#1: open ${join(dir, 'nope')}: ENOENT: no such file or directory`);
    expect(states(messages)).toEqual(['START', 'CANCELLING', 'CANCELLED', 'DONE']);
  });

  it('an unlinkable chain is an error naming the elements, not an abort', async () => {
    const { error } = await runClean([element('source-random', { length: 1, seed: 1 }), element('source-file', { path: '/x' }), element('dest-null')]);
    expect(error?.message).toBe('xfer: link: source-file#2 is a source and must come first');
  });

  it('a failing process leaves neither NAME nor NAME.tmp; an existing NAME is untouched', async () => {
    const out = join(dir, 'keep');
    writeFileSync(out, 'old contents');
    const { error } = await runClean([
      element('source-random', { length: '2MiB', seed: 4 }), element('filter-process', { cmd: 'sh -c "head -c 1000; exit 3"' }),
      element('dest-file', { path: out }),
    ]);
    expect(error?.message).toMatch(/filter-process#2: run sh: sh exited with status 3/);
    expect(readFileSync(out, 'utf8')).toBe('old contents');
    expect(existsSync(`${out}.tmp`)).toBe(false);
  });

  it('cancel in the middle removes NAME.tmp', async () => {
    const out = join(dir, 'cancelled');
    const { error } = await runClean([element('source-random', { length: 0, seed: 4 }), element('dest-file', { path: out })], {
      during: (x) => setTimeout(() => x.cancel(), 100),
    });
    expect(error?.cancelled).toBe(true);
    expect(existsSync(out) || existsSync(`${out}.tmp`)).toBe(false);
  });

  it('an AbortSignal cancels', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const { error } = await runClean([element('source-random', { length: 0, seed: 1 }), element('dest-null')], { signal: ac.signal });
    expect(error?.cancelled).toBe(true);
  });

  it('a throwing message listener does not take the transfer down', async () => {
    const x = new Xfer([element('source-random', { length: 10, seed: 1 }), element('dest-null')]);
    const seen: string[] = [];
    x.on('message', (m) => seen.push(m.type));
    x.start();
    await x.done;
    expect(seen.at(-1)).toBe('done');
  });

  it('the async iterator yields every message through done', async () => {
    const x = new Xfer([element('source-pattern', { length: 10, pattern: 'x' }), element('filter-crc'), element('dest-null')]);
    x.start();
    const got: string[] = [];
    for await (const m of x.messages()) got.push(m.type);
    expect(got.at(-1)).toBe('done');
    expect(got).toContain('crc');
  });
});

describe('checksums and generators', () => {
  it('filter-crc: crc32c("hello") = 9a71bb4c', async () => {
    const { messages } = await run([element('source-pattern', { length: 5, pattern: 'hello' }), element('filter-crc'), element('dest-null')]);
    expect(messages.find((m) => m.type === 'crc')).toMatchObject({ crc: '9a71bb4c', size: 5 });
  });

  it('source-random reproduces Amanda vectors at any block size', async () => {
    for (const blockSize of [4096, 65536, 1 << 20]) {
      const { xfer } = await run([element('source-random', { length: 4096, seed: 42 }), element('dest-buffer')], { blockSize });
      expect([...(xfer.result(1) ?? []).subarray(0, 8)]).toEqual([0x40, 0x16, 0x93, 0x38, 0x60, 0x06, 0x72, 0x1e]);
    }
  });

  it('dest-null seed verification reports the first mismatching offset', async () => {
    const { error } = await run([element('source-random', { length: '1MiB', seed: 42 }), element('dest-null', { seed: 43 })]);
    expect(error?.message).toBe('dest-null#2: verify: verification of incoming bytestream failed at offset 1');
    const f = join(dir, 'flip');
    const { xfer } = await run([element('source-random', { length: 300000, seed: 7 }), element('dest-buffer')]);
    const data = xfer.result(1)!;
    data[123457] ^= 1;
    writeFileSync(f, data);
    const r = await run([element('source-file', { path: f }), element('dest-null', { seed: 7 })]);
    expect(r.error?.message).toMatch(/failed at offset 123457$/);
  });

  it('property validation names element and property', () => {
    expect(() => element('source-random', { lenght: 5, seed: 1 })).toThrow('source-random: property "lenght" unknown (did you mean "length"?)');
    expect(() => element('source-random', { seed: 0 })).toThrow(/seed/);
    expect(() => element('filter-xor', { key: 300 })).toThrow(/above the maximum 255/);
    expect(() => element('dest-fiel', {})).toThrow('unknown element "dest-fiel" (did you mean "dest-file"?)');
  });
});
