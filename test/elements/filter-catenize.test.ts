// filter-catenize / filter-decatenize with real external filters (gzip, openssl enc): round trips
// at random slice and chunk sizes (empty streams and 1-byte slices included), the frame format
// checked by an independent reader and by `gzip -d` on each payload, restarts from any frame, and
// every kind of damage a clear error.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SliceMessage, XferMessage } from '../../src/messages.js';
import { crc32c, parseCatenizeMarker } from '../../src/slice-index.js';
import { element, runClean } from '../helpers.js';
import { content, randInt, rng } from '../tar-tree.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'xfa-catenize-'));
  for (const tool of ['gzip', 'openssl']) {
    if (spawnSync(tool, ['--version']).error && spawnSync(tool, ['version']).error) throw new Error(`${tool} missing: apt-get install -y ${tool}`);
  }
});

const slicesOf = (ms: XferMessage[], elt: string) => ms.filter((m): m is SliceMessage => m.type === 'slice' && m.elt === elt);
const OPENSSL = ['openssl', 'enc', '-aes-256-cbc', '-pbkdf2', '-iter', '1000', '-pass', 'pass:xfa-test'];

let n = 0;
function file(bytes: Buffer): string {
  const p = join(dir, `f${n++}`);
  writeFileSync(p, bytes);
  return p;
}

interface Frame { at: number; slice: number; inLength: number; payload: Buffer }
/** An independent reader of the frame format (elements/catenize.h). */
function frames(buf: Buffer): Frame[] {
  const out: Frame[] = [];
  for (let at = 0; at < buf.length;) {
    const m = parseCatenizeMarker(buf.subarray(at, at + 48));
    expect(m, `marker at ${at}`).not.toBeNull();
    const payload = buf.subarray(at + 48, at + 48 + m!.outLength);
    expect(crc32c(payload)).toBe(m!.crc);
    out.push({ at, slice: m!.slice, inLength: m!.inLength, payload });
    at += 48 + m!.outLength;
  }
  return out;
}

async function catenize(input: string, props: Record<string, unknown>, opts = {}) {
  const out = join(dir, `c${n++}`);
  const r = await runClean([element('source-file', { path: input }), element('filter-catenize', props), element('dest-file', { path: out, sync: false })], opts);
  return { ...r, out };
}
async function decatenize(input: string, props: Record<string, unknown>, opts = {}, source = element('source-file', { path: input })) {
  const out = join(dir, `d${n++}`);
  const r = await runClean([source, element('filter-decatenize', props), element('dest-file', { path: out, sync: false })], opts);
  return { ...r, out };
}

describe('filter-catenize: round trips', () => {
  it('gzip at random slice sizes: frames hold gzip members of the slices, in order, and decatenize restores', async () => {
    for (const seed of [1, 2, 3]) {
      const r = rng(seed);
      const data = content(r, randInt(r, 1, 3_000_000));
      const sliceSize = randInt(r, 1000, 700_000);
      const blockSize = randInt(r, 1, 40) * 4096;
      const c = await catenize(file(data), { cmd: 'gzip -c -1', 'slice-size': sliceSize }, { blockSize });
      expect(c.error).toBeUndefined();
      const stored = readFileSync(c.out);
      const fs = frames(stored);
      expect(fs.map((f) => f.slice)).toEqual(fs.map((_, i) => i));
      expect(fs.length).toBe(Math.ceil(data.length / sliceSize));
      fs.forEach((f, i) => {
        const want = data.subarray(i * sliceSize, Math.min(data.length, (i + 1) * sliceSize));
        expect(f.inLength).toBe(want.length);
        expect(gunzipSync(f.payload).equals(want)).toBe(true);  // a real gzip member per slice
      });
      const sl = slicesOf(c.messages, 'filter-catenize#2');
      expect(sl.map((s) => [s.slice, s.inOffset, s.inLength, s.outOffset, s.outLength]))
        .toEqual(fs.map((f, i) => [i, i * sliceSize, f.inLength, f.at, 48 + f.payload.length]));
      const d = await decatenize(c.out, { cmd: 'gzip -dc' }, { blockSize: randInt(r, 1, 40) * 4096 });
      expect(d.error).toBeUndefined();
      expect(readFileSync(d.out).equals(data)).toBe(true);
      expect(slicesOf(d.messages, 'filter-decatenize#2').map((s) => [s.slice, s.inOffset, s.outOffset, s.outLength]))
        .toEqual(fs.map((f, i) => [i, f.at, i * sliceSize, f.inLength]));
    }
  });

  it('openssl enc (not catenary) round-trips per slice; each frame decrypts alone with the openssl CLI', async () => {
    const r = rng(7);
    const data = content(r, 1_500_000);
    const c = await catenize(file(data), { argv: [...OPENSSL, '-e'], 'slice-size': 300_000 });
    expect(c.error).toBeUndefined();
    const fs = frames(readFileSync(c.out));
    expect(fs).toHaveLength(5);
    const third = spawnSync(OPENSSL[0], [...OPENSSL.slice(1), '-d'], { input: fs[2].payload });
    expect(third.stdout.equals(data.subarray(600_000, 900_000))).toBe(true);
    const d = await decatenize(c.out, { argv: [...OPENSSL, '-d'] });
    expect(d.error).toBeUndefined();
    expect(readFileSync(d.out).equals(data)).toBe(true);
  });

  it('follows upstream slices (numbers kept) and restarts from any subset of frames', async () => {
    const data = content(rng(8), 200_000);
    const src = file(data);
    const cuts = [0, 1, 2, 50_000, 50_001, 120_000, 200_000];  // 1-byte slices too
    const ranges = cuts.slice(0, -1).map((c, i) => `${c}:${cuts[i + 1] - c}`).join(',');
    const out = join(dir, 'follow.gzc');
    const c = await runClean([
      element('source-ranges', { path: src, ranges, slices: '3,4,5,9,10,11' }), element('filter-catenize', { cmd: 'gzip -c' }), element('dest-file', { path: out, sync: false }),
    ]);
    expect(c.error).toBeUndefined();
    const fs = frames(readFileSync(out));
    expect(fs.map((f) => [f.slice, f.inLength])).toEqual([[3, 1], [4, 1], [5, 49_998], [9, 1], [10, 69_999], [11, 80_000]]);
    // Read frames 4, 10 and 11 only, as a selective restore would.
    const pick = [1, 4, 5].map((i) => `${fs[i].at}:${48 + fs[i].payload.length}`).join(',');
    const d = await decatenize(out, { cmd: 'gzip -dc' }, {}, element('source-ranges', { path: out, ranges: pick }));
    expect(d.error).toBeUndefined();
    expect(readFileSync(d.out).equals(Buffer.concat([data.subarray(1, 2), data.subarray(50_001, 200_000)]))).toBe(true);
    expect(slicesOf(d.messages, 'filter-decatenize#2').map((s) => s.slice)).toEqual([4, 10, 11]);
  });

  it('an empty stream makes no frames and decatenizes to nothing; 1-byte slices work', async () => {
    const empty = file(Buffer.alloc(0));
    const c = await catenize(empty, { cmd: 'gzip -c' });
    expect(c.error).toBeUndefined();
    expect(readFileSync(c.out).length).toBe(0);
    expect(slicesOf(c.messages, 'filter-catenize#2')).toEqual([]);
    const d = await decatenize(c.out, { cmd: 'gzip -dc' });
    expect(d.error).toBeUndefined();
    expect(readFileSync(d.out).length).toBe(0);
    const tiny = Buffer.from('xfa!\n');
    const c1 = await catenize(file(tiny), { cmd: 'gzip -c', 'slice-size': 1 });
    expect(frames(readFileSync(c1.out)).map((f) => f.inLength)).toEqual([1, 1, 1, 1, 1]);
    const d1 = await decatenize(c1.out, { cmd: 'gzip -dc' });
    expect(readFileSync(d1.out).equals(tiny)).toBe(true);
  });

  it('a filter with no output for a slice still gets a frame (length 0)', async () => {
    const c = await catenize(file(Buffer.from('abc')), { argv: ['sh', '-c', 'cat >/dev/null'], 'slice-size': 2 });
    expect(c.error).toBeUndefined();
    expect(frames(readFileSync(c.out)).map((f) => [f.inLength, f.payload.length])).toEqual([[2, 0], [1, 0]]);
    const d = await decatenize(c.out, { cmd: 'cat' });
    expect(d.error?.message).toBe('filter-decatenize#2: verify slice 0 (frame at offset 0): the inverse filter produced 0 bytes, the marker records 2');
  });
});

describe('filter-catenize: errors', () => {
  let stored: Buffer;
  let fs: Frame[];
  beforeAll(async () => {
    const c = await catenize(file(content(rng(9), 400_000)), { cmd: 'gzip -c', 'slice-size': 100_000 });
    stored = readFileSync(c.out);
    fs = frames(stored);
  });
  const damaged = async (mutate: (b: Buffer) => Buffer, cmd = 'gzip -dc') => {
    const t0 = Date.now();
    const d = await decatenize(file(mutate(Buffer.from(stored))), { cmd });
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(d.error).toBeDefined();
    expect(d.error!.element).toBe('filter-decatenize#2');
    return d.error!.message;
  };

  it('a damaged marker: magic, length field (header CRC), and garbage instead of a frame', async () => {
    expect(await damaged((b) => { b[fs[2].at + 1] ^= 1; return b; })).toBe(
      `filter-decatenize#2: read frame at offset ${fs[2].at}: no restart marker (found 89 59 46 41 43 41 54 0a): not a filter-catenize stream, or corrupted`);
    expect(await damaged((b) => { b[fs[1].at + 33] ^= 4; return b; })).toBe(
      `filter-decatenize#2: read frame at offset ${fs[1].at}: restart marker damaged (header CRC mismatch)`);
    expect(await damaged(() => Buffer.from('plain text, never catenized'.repeat(10)))).toMatch(/read frame at offset 0: no restart marker/);
  });

  it('a flipped payload bit is a CRC error naming the slice, never output', async () => {
    expect(await damaged((b) => { b[fs[3].at + 48 + 500] ^= 0x10; return b; })).toBe(
      `filter-decatenize#2: verify slice 3 (frame at offset ${fs[3].at}): CRC32C mismatch: the stored frame is corrupted`);
  });

  it('truncation inside a payload and inside a marker; swapped frames', async () => {
    expect(await damaged((b) => b.subarray(0, fs[2].at + 100))).toBe(
      `filter-decatenize#2: read slice 2: truncated stream: it ends at offset ${fs[2].at + 100} inside the frame at offset ${fs[2].at}, ` +
      `${fs[2].payload.length - 52} payload bytes missing`);
    expect(await damaged((b) => b.subarray(0, fs[2].at + 20))).toMatch(/truncated stream: it ends at offset \d+ inside a restart marker/);
    const swapped = (b: Buffer) => Buffer.concat([b.subarray(0, fs[1].at), b.subarray(fs[2].at, fs[3].at), b.subarray(fs[1].at, fs[2].at), b.subarray(fs[3].at)]);
    expect(await damaged(swapped)).toMatch(/frame for slice 1 after slice 2 \(frames out of order or repeated\)/);
  });

  it('a wrong inverse command fails with its exit status and stderr', async () => {
    const msg = await damaged((b) => b, 'bzip2 -dc');
    expect(msg).toMatch(/^filter-decatenize#2: run bzip2 \(slice 0\): bzip2 exited with status 2: .*bzip2/s);
    expect(await damaged((b) => b, 'no-such-program-xfa')).toMatch(/exec no-such-program-xfa \(slice 0\): ENOENT/);
  });

  it('a failing forward filter fails the backup naming the slice', async () => {
    const c = await catenize(file(content(rng(10), 300_000)), { argv: ['sh', '-c', 'head -c 10 >/dev/null; echo broken >&2; exit 3'], 'slice-size': 100_000 });
    expect(c.error?.message).toBe('filter-catenize#2: run sh (slice 0): sh exited with status 3: broken');
    const early = await catenize(file(content(rng(10), 300_000)), { argv: ['head', '-c', '10'], 'slice-size': 100_000 });
    expect(early.error?.message).toMatch(/run head \(slice 0\): head exited before reading all of its input/);
  });

  it('cancel while a slow filter runs ends promptly and leaves no process', async () => {
    const t0 = Date.now();
    const c = await catenize(file(content(rng(11), 100_000)), { argv: ['sleep', '30'] }, {
      during: (x: { cancel: () => void }) => setTimeout(() => x.cancel(), 300),
    } as object);
    expect(c.error?.cancelled).toBe(true);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('decatenize stops at an index trailer after the last frame', async () => {
    const trailer = Buffer.concat([Buffer.from([0x5d, 0x2a, 0x4d, 0x18, 108, 0, 0, 0]), Buffer.from([0x89, 0x58, 0x46, 0x41, 0x49, 0x44, 0x58, 0x0a]), Buffer.alloc(100, 7)]);
    const d = await decatenize(file(Buffer.concat([stored, trailer])), { cmd: 'gzip -dc' });
    expect(d.error).toBeUndefined();
    expect(readFileSync(d.out).length).toBe(400_000);
  });
});
