// dest-holding: chunk files chained by CONT_FILENAME, written as .tmp and renamed; chunk-done per
// chunk; the no-room handshake (overflow directories, no-room=fail, no-room=wait) on a real full
// filesystem; cancel and failure leave nothing. Read back with source-holding
// (source-holding.test.ts has its failure cases; amanda-interop.test.ts has Amanda's side).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEADER_SIZE, headerText } from '../../src/media/header.js';
import { Xfer } from '../../src/xfer.js';
import { element, runClean, types, waitFor } from '../helpers.js';
import { bytes, chain, chunkDone, crc32c, crcOf, fill, hold, holdingHeader as header, mkdirp, tmp, tmpfs, unhold } from '../media/media-helpers.js';

let root: string;
beforeAll(() => {
  root = tmp('xfa-holding-');
});

describe('dest-holding: chunks', () => {
  for (const [what, size, chunks] of [['300000 bytes', 300_000, 10], ['exactly 3 chunks of data', 3 * 32768, 3], ['empty', 0, 1]] as const) {
    it(`${what}: ${chunks} chunk(s) of <= chunksize, FILE then CONT_FILE, chained, read back`, async () => {
      const dir = mkdirp(join(root, `c${size}`));
      const path = join(dir, 'client._home.1');
      const data = bytes(size, size + 3);
      const w = await hold(path, data);
      expect(w.error).toBeUndefined();
      const names = [path, ...Array.from({ length: chunks - 1 }, (_, i) => `${path}.${i + 1}`)];
      expect(readdirSync(dir).sort()).toEqual(names.map((n) => basename(n)).sort());
      const c = chain(path);
      expect(c.map(([p]) => p)).toEqual(names);
      c.forEach(([p, h, n], i) => {
        expect(h).toMatchObject({ ...header, type: i === 0 ? 'FILE' : 'CONT_FILE', blocksize: 32768, contFilename: names[i + 1] ?? '' });
        expect(statSync(p).size).toBeLessThanOrEqual(65536);
        expect(n).toBe(i < chunks - 1 ? 32768 : size - 32768 * (chunks - 1));
      });
      expect(Buffer.concat(c.map(([p]) => readFileSync(p).subarray(HEADER_SIZE))).equals(data)).toBe(true);
      expect(chunkDone(w.messages).map((m) => [m.filename, m.headerSize, m.dataSize, m.noRoom])).toEqual(
        c.map(([p, , n]) => [p, 32768, n, false]));
      expect(crcOf(w.messages)).toMatchObject({ crc: crc32c(data), size });
      const r = await unhold(path);
      expect(r.error).toBeUndefined();
      expect(r.data!.equals(data)).toBe(true);
      expect(crcOf(r.messages, 'source-holding#1')).toMatchObject({ crc: crc32c(data), size });
    });
  }

  it('big chunks: 1 MiB chunksize, 3.5 MiB of data', async () => {
    const path = join(mkdirp(join(root, 'big')), 'h._.0');
    const data = bytes(3.5 * 1024 * 1024, 77);
    const w = await hold(path, data, { chunksize: '1MiB' });
    expect(w.error).toBeUndefined();
    const per = 1048576 - 32768;
    expect(chain(path).map(([, , n]) => n)).toEqual([per, per, per, data.length - 3 * per]);
    expect((await unhold(path)).data!.equals(data)).toBe(true);
  });

  it('cancel mid-dump leaves no chunk and no .tmp', async () => {
    const dir = mkdirp(join(root, 'cancel'));
    const out = await runClean([element('source-random', { length: 0, seed: 3 }),
      element('dest-holding', { path: join(dir, 'x'), header: headerText(header), chunksize: '64KiB' })],
    { during: (x) => setTimeout(() => x.cancel(), 150) });
    expect(out.error?.cancelled).toBe(true);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('chunks are .tmp files while the dump runs, and none is left after', async () => {
    const dir = mkdirp(join(root, 'tmpnames'));
    const fifo = join(root, 'fifo');
    spawnSync('mkfifo', [fifo]);
    // The writer pauses 1.5 s after 200 KB: the first chunks are written, the dump is not done.
    const writer = spawn('bash', ['-c', `(head -c 200000 /dev/urandom; sleep 1.5; head -c 1000 /dev/urandom) > '${fifo}'`]);
    const exited = new Promise((r) => writer.on('exit', r));
    const xfer = new Xfer([element('source-file', { path: fifo }),
      element('dest-holding', { path: join(dir, 'd'), header: headerText(header), chunksize: '64KiB' })]);
    xfer.start();
    await waitFor(() => readdirSync(dir).length >= 3);
    const during = readdirSync(dir).sort();
    expect(during).toContain('d.tmp');
    expect(during.every((f) => f.endsWith('.tmp'))).toBe(true);
    await xfer.done;
    await exited;
    expect(readdirSync(dir).sort()).toEqual(['d', 'd.1', 'd.2', 'd.3', 'd.4', 'd.5', 'd.6']);  // 201000 bytes / 32 KiB
  });

  it('refuses headers that are not FILE, and too small chunks', () => {
    const mk = (props: Record<string, unknown>) => () => new Xfer([element('source-random', { length: 1, seed: 1 }),
      element('dest-holding', { path: join(root, 'never'), header: headerText(header), ...props })]);
    expect(mk({ header: headerText({ ...header, type: 'SPLIT_FILE', partnum: 1, totalparts: 1 }) }))
      .toThrow(/dest-holding: property "header": holding files start with a FILE header, not SPLIT_FILE/);
    expect(mk({ chunksize: 40000 })).toThrow(/chunksize/);
    expect(mk({ 'no-room': 'maybe' })).toThrow(/property "no-room": "maybe" is not fail or wait/);
    expect(existsSync(join(root, 'never'))).toBe(false);
  });

  it('a path that is a directory, or in a missing directory, fails in setup', async () => {
    const d = mkdirp(join(root, 'isdir'));
    expect((await hold(d, bytes(10))).error?.message).toBe(`dest-holding#2: open ${d}: EISDIR: is a directory`);
    const missing = join(root, 'no', 'such', 'x');
    expect((await hold(missing, bytes(10))).error?.message).toBe(`dest-holding#2: create ${missing}.tmp: ENOENT: no such file or directory`);
  });
});

describe('dest-holding: no room (256 KiB tmpfs)', () => {
  let fs: ReturnType<typeof tmpfs>;
  beforeAll(() => {
    fs = tmpfs(256 * 1024);
  });
  afterAll(() => fs?.unmount());

  it('overflow: the full chunk is cut to whole blocks, the dump continues in the next directory', async () => {
    const small = mkdirp(join(fs.dir, 'hd1'));
    const other = mkdirp(join(root, 'hd2'));
    const path = join(small, 'client._home.1');
    const data = bytes(600_000, 21);
    // 256 KiB: chunk 0 (192 KiB) fits, chunk 1 runs out of room after its header.
    const w = await hold(path, data, { chunksize: '192KiB', overflow: [other] });
    expect(w.error).toBeUndefined();
    const c = chain(path);
    expect(Buffer.concat(c.map(([p]) => readFileSync(p).subarray(HEADER_SIZE))).equals(data)).toBe(true);
    const cd = chunkDone(w.messages);
    const full = cd.findIndex((m) => m.noRoom);
    expect(full).toBeGreaterThanOrEqual(0);
    expect(cd[full].dataSize % 32768).toBe(0);
    expect(cd.slice(0, full + 1).every((m) => m.filename!.startsWith(small))).toBe(true);
    expect(cd.slice(full + 1).every((m) => m.filename!.startsWith(`${other}/client._home.1.`))).toBe(true);
    expect(c.map(([p]) => p)).toEqual(cd.map((m) => m.filename));
    expect(types(w.messages)).not.toContain('no-space');
    expect((await unhold(path)).data!.equals(data)).toBe(true);
    rmSync(small, { recursive: true });
  });

  it('no-room=fail: no-space, then ENOSPC naming the directories; nothing left behind', async () => {
    const dir = mkdirp(join(fs.dir, 'fail'));
    const w = await hold(join(dir, 'x'), bytes(600_000, 22), { chunksize: '192KiB' });
    expect(types(w.messages)).toEqual(expect.arrayContaining(['chunk-done', 'no-space', 'error']));
    expect(w.error?.code).toBe('ENOSPC');
    expect(w.error?.message).toMatch(new RegExp(`^dest-holding#2: create chunk \\d+: ENOSPC: no space left on device: no room for it in 1 holding directory \\(${dir}\\)$`));
    expect(readdirSync(dir)).toEqual([]);
  });

  it('no-room=wait: waits after no-space and finishes when space is freed', async () => {
    const dir = mkdirp(join(fs.dir, 'wait'));
    const filler = fill(fs.dir, 96 * 1024);
    // 96 KiB free: the first chunk runs out of room; 150 KB fit once the filler is gone.
    const data = bytes(150_000, 23);
    const src = join(root, 'wait-src');
    writeFileSync(src, data);
    const t0 = Date.now();
    let freedAt = 0;
    let scheduled = false;
    const w = await runClean([element('source-file', { path: src }),
      element('dest-holding', { path: join(dir, 'x'), header: headerText(header), chunksize: '128KiB', 'no-room': 'wait', 'retry-interval': '100ms' })],
    { during: (x) => x.on('message', (m) => {
      if (m.type !== 'no-space' || scheduled) return;
      scheduled = true;
      setTimeout(() => { rmSync(filler); freedAt = Date.now(); }, 300);
    }) });
    expect(w.error).toBeUndefined();
    expect(freedAt).toBeGreaterThan(t0);
    expect(types(w.messages).filter((t) => t === 'no-space')).toHaveLength(1);
    const cd = chunkDone(w.messages);
    expect(cd[0]).toMatchObject({ noRoom: true, filename: join(dir, 'x') });
    expect(Date.now() - freedAt).toBeLessThan(5000);
    expect((await unhold(join(dir, 'x'))).data!.equals(data)).toBe(true);
    rmSync(dir, { recursive: true });
  });

  it('no-room=wait ends at once on cancel, leaving nothing', async () => {
    const dir = mkdirp(join(fs.dir, 'waitcancel'));
    const filler = fill(fs.dir, 96 * 1024);
    try {
      const w = await runClean([element('source-random', { length: 1 << 20, seed: 2 }),
        element('dest-holding', { path: join(dir, 'x'), header: headerText(header), chunksize: '64KiB', 'no-room': 'wait', 'retry-interval': '1h' })],
      { during: (x) => x.on('message', (m) => { if (m.type === 'no-space') x.cancel(); }) });
      expect(w.error?.cancelled).toBe(true);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      rmSync(filler);
    }
  });
});
