/**
 * demux: every packet is verified, and every kind of damage is an error naming the packet's
 * offset — each header byte, a payload bit, truncation anywhere, an unknown stream id, a
 * sequence gap; input in random chunk sizes; choosing streams by id and host:disk; a failing
 * output does not stop the others; a restore picks one stream out of a multiplexed vtape file.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineElement } from '../../src/bridge.js';
import { native } from '../../src/native.js';
import { EOS, errors, fletcher32, lcgBytes, MAP, packets, runText, sha256, type Packet } from './mux-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'xfa-demux-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const MUXED = join(dir, 'three.mux');
const SIZES = [300_000, 200_003, 100_000];
let good: Buffer;
let ps: Packet[];

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 2 ** 32;
  };
}

// A TypeScript source that sends a file's bytes in seeded random chunk sizes (1 byte to 100 KB).
defineElement({
  name: 'source-ts-chunks', role: 'source', description: 'test: a file in random chunk sizes', props: [
    { name: 'path', type: 'string', required: true, help: 'the file' },
    { name: 'seed', type: 'int', required: true, help: 'chunk sizes', min: 1, max: 2 ** 31 },
  ], example: 'source-ts-chunks path=/etc/hosts seed=1 ! dest-null',
  create: (props) => ({
    async run(ctx) {
      const data = readFileSync(String(props.path));
      const r = rng(Number(props.seed));
      for (let at = 0; at < data.length && !ctx.signal.aborted;) {
        const n = r() < 0.3 ? 1 + Math.floor(r() * 40) : 1 + Math.floor(r() * 100_000);
        await ctx.push(Buffer.from(data.subarray(at, at + n)));
        at += n;
      }
    },
  }),
});

/** demux of `file` into one dest-file per chosen stream; the outputs are o1, o2, ... */
function demuxText(file: string, streams: string[] = ['1', '2', '3'], source = `source-file path=${file}`): string {
  return [
    `${source} ! demux name=d streams=${streams.join(',')}`,
    ...streams.map((_, i) => `d. ! dest-file path=${join(dir, `o${i + 1}`)} sync=no`),
  ].join('\n');
}

function clearOutputs(): void {
  for (const f of readdirSync(dir)) if (/^o\d/.test(f)) rmSync(join(dir, f));
}

function expectOutputs(streams: number[] = [1, 2, 3]): void {
  streams.forEach((id, i) => expect(sha256(readFileSync(join(dir, `o${i + 1}`))), `stream ${id}`).toBe(sha256(lcgBytes(id, SIZES[id - 1]))));
}

/** The single demux error of a damaged copy of the stream. */
async function demuxError(bytes: Buffer, streams?: string[]): Promise<string[]> {
  const f = join(dir, 'damaged.mux');
  writeFileSync(f, bytes);
  clearOutputs();
  const r = await runText(demuxText(f, streams));
  expect(r.error, 'the demux must fail').toBeDefined();
  return errors(r).filter((e) => e.startsWith('d: '));
}

beforeAll(async () => {
  const w = await runText([
    ...SIZES.map((n, i) => `source-random length=${n} seed=${i + 1} ! m.`),
    `mux name=m map=db1:/home:0:tar,db1:/etc:0:tar,db2:/var:1:tar ! dest-file path=${MUXED} sync=no`,
  ].join('\n'), { blockSize: 16 << 10 });
  expect(w.error).toBeUndefined();
  good = readFileSync(MUXED);
  ps = packets(good);
  expect(ps.length).toBeGreaterThan(40);
});

describe('demux', () => {
  it('gives every stream back, from input in random chunk sizes', async () => {
    for (const seed of [1, 2, 3]) {
      clearOutputs();
      const r = await runText(demuxText(MUXED, ['1', '2', '3'], `source-ts-chunks path=${MUXED} seed=${seed}`), { clean: true, blockSize: 4096 });
      expect(r.error).toBeUndefined();
      expect(r.result!.failed).toEqual([]);
      expectOutputs();
    }
  });

  it('chooses streams by id and by host:disk, in the order of its outputs', async () => {
    clearOutputs();
    const r = await runText(demuxText(MUXED, ['db2:/var', '1']), { clean: true });
    expect(r.error).toBeUndefined();
    expectOutputs([3, 1]);
    const ends = r.messages.flatMap((m) => (m.type === 'stream' ? [[m.stream, m.state, m.label]] : []));
    expect(ends.sort()).toEqual([[1, 'eos', 'source-random#1'], [3, 'eos', 'source-random#3']]);
  });

  it('reports bad choices against the stream map', async () => {
    expect(await demuxError(good, ['4'])).toEqual(['d: read packet at offset 0: stream 4 is not in the stream map (it has 3 streams: 1 db1:/home, 2 db1:/etc, 3 db2:/var)']);
    expect(await demuxError(good, ['db9:/x'])).toEqual(['d: read packet at offset 0: no stream db9:/x in the stream map (it has 1 db1:/home, 2 db1:/etc, 3 db2:/var)']);
    expect(await demuxError(good, ['2', 'db1:/etc'])).toEqual(['d: read packet at offset 0: stream 2 is chosen twice']);
  });

  it('detects a change of any header byte, at that packet\'s offset', async () => {
    const r = rng(5);
    for (let i = 0; i < 32; i++) {
      const p = ps[Math.floor(r() * ps.length)];
      const bad = Buffer.from(good);
      bad[p.offset + i] ^= 1 << Math.floor(r() * 8);
      const errs = await demuxError(bad);
      expect(errs.length, `byte ${i} of the packet at ${p.offset}`).toBe(1);
      expect(errs[0]).toMatch(new RegExp(`^d: read packet at offset ${p.offset}: (bad magic|header checksum)`));
    }
  });

  it('detects a flipped payload bit in a chosen stream; the streams that ended before it are kept', async () => {
    const p = ps.filter((x) => x.stream === 2 && x.length > 0)[3];
    const bad = Buffer.from(good);
    bad[p.offset + 32 + 1000] ^= 0x10;
    const errs = await demuxError(bad);
    expect(errs).toEqual([expect.stringMatching(new RegExp(`^d: read packet at offset ${p.offset}: stream 2: payload checksum [0-9a-f]{8}, computed [0-9a-f]{8} \\(damaged data\\)$`))]);
    expect(existsSync(join(dir, 'o2'))).toBe(false);
  });

  it('skips the payloads of streams not chosen without checksumming them (documented)', async () => {
    const p = ps.filter((x) => x.stream === 2 && x.length > 0)[3];
    const bad = Buffer.from(good);
    bad[p.offset + 32 + 1000] ^= 0x10;
    writeFileSync(join(dir, 'damaged.mux'), bad);
    clearOutputs();
    const r = await runText(demuxText(join(dir, 'damaged.mux'), ['1', '3']), { clean: true });
    expect(r.error).toBeUndefined();
    expectOutputs([1, 3]);
  });

  it('detects truncation anywhere: inside a header, inside a payload, between packets', async () => {
    const r = rng(9);
    const cuts = [
      ...Array.from({ length: 6 }, () => Math.floor(r() * good.length)),
      ps[1].offset + 5, ps[7].offset + 40, ps[ps.length - 1].offset,
    ];
    for (const cut of cuts) {
      const errs = await demuxError(good.subarray(0, cut));
      const inside = ps.find((p) => cut > p.offset && cut < p.offset + 32 + p.length);
      if (inside) expect(errs[0], `cut at ${cut}`).toMatch(new RegExp(`^d: read packet at offset ${inside.offset}: truncated: the input ends inside a packet`));
      else expect(errs[0], `cut at ${cut}`).toMatch(new RegExp(`^d: read packet at offset ${cut}: truncated: the multiplexed stream ends before stream\\(s\\) [0-9,]+ ended$`));
    }
    expect(await demuxError(Buffer.alloc(0))).toEqual(['d: read packet at offset 0: the input is empty: no multiplexed stream']);
  });

  it('detects an unknown stream id, a sequence gap and a packet after the end', async () => {
    const at = ps[5].offset;
    const intruder = native.muxHeader({ stream: 9, length: 0, checksum: 0 });
    expect(await demuxError(Buffer.concat([good.subarray(0, at), intruder, good.subarray(at)]))).toEqual([
      `d: read packet at offset ${at}: unknown stream id 9 (the stream map has 1..3)`,
    ]);

    const gone = ps.filter((p) => p.stream === 2)[4];
    const next = ps.find((p) => p.stream === 2 && p.sequence === gone.sequence + 1)!;
    const cut = Buffer.concat([good.subarray(0, gone.offset), good.subarray(gone.offset + 32 + gone.length)]);
    expect(await demuxError(cut)).toEqual([
      `d: read packet at offset ${next.offset - 32 - gone.length}: stream 2: sequence ${gone.sequence + 1} where ${gone.sequence} was expected (a packet is missing, repeated or out of order)`,
    ]);

    const end1 = ps.find((p) => p.stream === 1 && p.flags & EOS)!;
    const after = native.muxHeader({ stream: 1, sequence: end1.sequence + 1 });
    expect(await demuxError(Buffer.concat([good, after]))).toEqual([`d: read packet at offset ${good.length}: stream 1: a packet after its end`]);

    expect(await demuxError(Buffer.from(lcgBytes(3, 100)))).toEqual([expect.stringMatching(/^d: read packet at offset 0: bad magic [0-9a-f ]+ \(not a multiplexed packet: expected "XFAM"\)$/)]);
  });

  it('keeps delivering the other streams when one output fails', async () => {
    clearOutputs();
    const r = await runText([
      `source-file path=${MUXED} ! demux name=d`,
      `d. ! dest-file path=${join(dir, 'o1')} sync=no`,
      `d. ! dest-file path=${join(dir, 'missing', 'o2')}`,
      `d. ! dest-file path=${join(dir, 'o3')} sync=no`,
    ].join('\n'), { clean: true, blockSize: 16 << 10 });
    expect(r.error).toBeUndefined();
    expect(r.result!.failed.map((f) => f.error?.message)).toEqual([expect.stringMatching(/^dest-file#4: open .*o2\.tmp: ENOENT/)]);
    expect(sha256(readFileSync(join(dir, 'o1')))).toBe(sha256(lcgBytes(1, SIZES[0])));
    expect(sha256(readFileSync(join(dir, 'o3')))).toBe(sha256(lcgBytes(3, SIZES[2])));
  });

  it('restores one stream out of a multiplexed vtape file (dest-device, then source-device ! demux)', async () => {
    const vt = join(dir, 'vt', 'slot1');
    mkdirSync(vt, { recursive: true });
    const header = 'AMANDA: FILE 20240102030405 backup1 mux lev 0 comp N program xfa-mux';
    const w = await runText([
      'source-random length=1MiB seed=1 ! m.',
      `source-process cmd="sh -c 'printf hello; printf world'" ! m.`,
      'source-random length=2MiB seed=3 rate=20MB ! m.',
      `mux name=m map=db1:/home,db1:/etc,db2:/var ! dest-device device=file:${vt} mode=write label=VOL-1 header="${header}"`,
    ].join('\n'), { clean: true });
    expect(w.error).toBeUndefined();
    const out = join(dir, 'etc.restored');
    const r = await runText(`source-device device=file:${vt} file=1 label=VOL-1 ! demux streams=db1:/etc ! dest-file path=${out} sync=no`, { clean: true });
    expect(r.error).toBeUndefined();
    expect(readFileSync(out, 'utf8')).toBe('helloworld');
    // The whole file was read once, the other streams skipped.
    const stats = r.result!.stats;
    expect(stats.find((s) => s.elt === 'demux#2')!.bytesIn).toBe(readFileSync(join(vt, readdirSync(vt).find((f) => f.startsWith('00001'))!)).length - 32768);
  });

  it('a crafted stream map with a bad \\u escape is an error naming it, not a crash', async () => {
    const packet = (flags: number, stream: number, payload: Buffer): Buffer => {
      const h = Buffer.alloc(32);
      h.write('XFAM', 0, 'latin1');
      h[4] = 1;
      h[5] = flags;
      h.writeUInt32LE(stream, 8);
      h.writeUInt32LE(payload.length, 12);
      h.writeUInt32LE(fletcher32(payload), 24);
      h.writeUInt32LE(fletcher32(h.subarray(0, 28)), 28);
      return Buffer.concat([h, payload]);
    };
    for (const label of ['\\uzzzz', '\\u+1ab', '\\u12']) {
      const map = Buffer.from(`{"format":"xfa-mux","version":1,"streams":[{"id":1,"label":"${label}"}]}`);
      const e = await demuxError(Buffer.concat([packet(MAP | EOS, 0, map), packet(EOS, 1, Buffer.alloc(0))]), ['1']);
      expect(e.join('\n')).toMatch(/read packet at offset 0: stream map: bad \\u escape/);
    }
  });

  it('accepts zero padding after every stream ended (media that fill the last block); other bytes there are an error', async () => {
    const f = join(dir, 'padded.mux');
    writeFileSync(f, Buffer.concat([good, Buffer.alloc(32768 + 5)]));
    clearOutputs();
    const r = await runText(demuxText(f));
    expect(r.error).toBeUndefined();
    expectOutputs();
    const e = await demuxError(Buffer.concat([good, Buffer.alloc(100), Buffer.from('x')]));
    expect(e.join('\n')).toContain(`read packet at offset ${good.length + 100}: data after the end of every stream (only zero padding may follow)`);
  });
});
