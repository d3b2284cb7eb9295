/**
 * mux: several sources of different speeds into one multiplexed stream — on a vtape and in a
 * file — read back stream by stream, byte-identical; no head-of-line blocking; a failing source
 * loses nothing of the others; cancel and trunk failure leave nothing behind.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { XferGraphError } from '../../src/graph.js';
import { Xfer } from '../../src/xfer.js';
import { element } from '../helpers.js';
import { ABORTED, EOS, MAP, errors, lcgBytes, packets, runText, sha256, streamOf } from './mux-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'xfa-mux-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const HEADER = 'AMANDA: FILE 20240102030405 backup1 /mux lev 0 comp N program xfa-mux';

// 8 sources: sizes and speeds differ; some are throttled.
const SOURCES = [
  { seed: 11, length: 3 << 20 },
  { seed: 12, length: 700_000, rate: '8MB' },
  { seed: 13, length: 1 },
  { seed: 14, length: 1 << 20, rate: '4MB' },
  { seed: 15, length: 5_000_000 },
  { seed: 16, length: 300_001, rate: '2MB' },
  { seed: 17, length: 2 << 20 },
  { seed: 18, length: 65_537, rate: '1MB' },
];

function sourceLine(s: (typeof SOURCES)[number]): string {
  return `source-random length=${s.length} seed=${s.seed}${s.rate ? ` rate=${s.rate}` : ''} ! m.`;
}

describe('mux', () => {
  it('multiplexes 8 sources of different speeds into one vtape file; demux gives each back byte-identical', async () => {
    const vt = join(dir, 'vt', 'slot1');
    mkdirSync(vt, { recursive: true });
    const map = SOURCES.map((s) => `backup1:/data${s.seed}:0:tar`).join(',');
    const w = await runText([
      ...SOURCES.map(sourceLine),
      `mux name=m map=${map} ! dest-device device=file:${vt} mode=write label=VOL-1 header="${HEADER}"`,
    ].join('\n'), { clean: true, blockSize: 64 << 10 });
    expect(w.error).toBeUndefined();
    expect(w.result!.failed).toEqual([]);
    // The map, for the catalog; one end per stream.
    const mapMsg = w.messages.find((m) => m.type === 'stream-map');
    expect(mapMsg?.type === 'stream-map' && JSON.parse(mapMsg.map)).toEqual({
      format: 'xfa-mux', version: 1,
      streams: SOURCES.map((s, i) => ({ id: i + 1, host: 'backup1', disk: `/data${s.seed}`, level: 0, program: 'tar', label: `source-random#${i + 1}` })),
    });
    const ends = w.messages.flatMap((m) => (m.type === 'stream' && m.state !== 'open' ? [[m.stream, m.state, m.bytes]] : []));
    expect(ends.sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual(SOURCES.map((s, i) => [i + 1, 'eos', s.length]));

    // The vtape file, parsed by the documented format.
    const file = join(vt, readdirSync(vt).find((f) => f.startsWith('00001.'))!);
    const ps = packets(readFileSync(file).subarray(32768));
    expect(ps[0]).toMatchObject({ offset: 0, flags: MAP | EOS, stream: 0, sequence: 0 });
    SOURCES.forEach((s, i) => {
      const st = streamOf(ps, i + 1);
      expect(st.end).toBe('eos');
      expect(sha256(st.data), `stream ${i + 1}`).toBe(sha256(lcgBytes(s.seed, s.length)));
    });

    // Read back through source-device and demux, each stream to its own file.
    const outs = SOURCES.map((_, i) => join(dir, `out${i + 1}`));
    const r = await runText([
      `source-device device=file:${vt} file=1 ! demux name=d`,
      ...outs.map((o) => `d. ! dest-file path=${o} sync=no`),
    ].join('\n'), { clean: true });
    expect(r.error).toBeUndefined();
    expect(r.result!.failed).toEqual([]);
    SOURCES.forEach((s, i) => expect(sha256(readFileSync(outs[i])), `out${i + 1}`).toBe(sha256(lcgBytes(s.seed, s.length))));
  });

  it('never waits on a slow stream while another has data: the fast one ends long before the slow one', async () => {
    const out = join(dir, 'hol.mux');
    const t0 = Date.now();
    const when = new Map<number, number>();
    const r = await runText([
      'source-random length=1MiB seed=1 rate=2MB ! m.', // stream 1: slow (about 0.5 s), first in line
      'source-random length=16MiB seed=2 ! m.', //        stream 2: fast
      `mux name=m ! dest-file path=${out} sync=no`,
    ].join('\n'), {
      blockSize: 64 << 10,
      during: (g) => g.on('message', (m) => m.type === 'stream' && m.state === 'eos' && when.set(m.stream, Date.now() - t0)),
    });
    expect(r.error).toBeUndefined();
    expect(when.get(2)!).toBeLessThan(when.get(1)! - 250);
    const ps = packets(readFileSync(out));
    const eos = (id: number): number => ps.findIndex((p) => p.stream === id && p.flags & EOS);
    expect(eos(2)).toBeLessThan(eos(1));
    // The slow stream's packets are spread out, the fast one's bunched before its end.
    expect(ps.slice(eos(2)).filter((p) => p.stream === 1).length).toBeGreaterThan(5);
    expect(sha256(streamOf(ps, 1).data)).toBe(sha256(lcgBytes(1, 1 << 20)));
    expect(sha256(streamOf(ps, 2).data)).toBe(sha256(lcgBytes(2, 16 << 20)));
  });

  it('keeps every other stream when one source fails: its stream ends ABORTED, the file is written', async () => {
    const out = join(dir, 'fail.mux');
    const r = await runText([
      'source-random length=2MiB seed=21 ! m.',
      `source-process cmd="sh -c 'head -c 1048576 /dev/urandom; exit 3'" ! m.`,
      'source-random length=1MiB seed=23 rate=8MB ! m.',
      `mux name=m ! dest-file path=${out} sync=no`,
    ].join('\n'), { clean: true });
    expect(r.error).toBeUndefined();
    expect(r.result!.failed.map((f) => [f.labels[0], f.error?.message])).toEqual([
      ['source-process#2', 'source-process#2: run sh: sh exited with status 3'],
    ]);
    expect(r.messages).toContainEqual(expect.objectContaining({ type: 'stream', stream: 2, state: 'aborted' }));
    const ps = packets(readFileSync(out));
    expect(streamOf(ps, 2).end).toBe('aborted');
    expect(ps.find((p) => p.stream === 2 && p.flags & ABORTED)?.length).toBe(0);
    expect(sha256(streamOf(ps, 1).data)).toBe(sha256(lcgBytes(21, 2 << 20)));
    expect(sha256(streamOf(ps, 3).data)).toBe(sha256(lcgBytes(23, 1 << 20)));

    // demux: the good streams come back whole, the aborted one fails its own chain only.
    const r2 = await runText([
      `source-file path=${out} ! demux name=d`,
      `d. ! dest-file path=${join(dir, 'f1')} sync=no`,
      `d. ! dest-file path=${join(dir, 'f2')} sync=no`,
      `d. ! dest-file path=${join(dir, 'f3')} sync=no`,
    ].join('\n'), { clean: true });
    expect(r2.result!.failed.map((f) => f.error?.message)).toEqual([
      expect.stringMatching(/^d\.out2: receive from d: stream 2 was aborted when it was written \(its source failed or was cancelled\): \d+ bytes were kept before the end$/),
    ]);
    expect(sha256(readFileSync(join(dir, 'f1')))).toBe(sha256(lcgBytes(21, 2 << 20)));
    expect(sha256(readFileSync(join(dir, 'f3')))).toBe(sha256(lcgBytes(23, 1 << 20)));
    expect(existsSync(join(dir, 'f2'))).toBe(false);
    expect(existsSync(join(dir, 'f2.tmp'))).toBe(false);
  });

  it('cancels mid-way: every chain ends CANCELLED then DONE, no file, nothing left behind', async () => {
    const out = join(dir, 'cancel.mux');
    const r = await runText([
      'source-random seed=1 ! m.',
      'source-random seed=2 rate=1MB ! m.',
      `source-process cmd="sh -c 'cat /dev/zero'" ! m.`,
      'source-random seed=4 rate=50MB ! filter-crc ! m.',
      `mux name=m ! demux name=d`,
      `d. ! dest-null`,
      `d. ! dest-null`,
      `d. ! dest-file path=${out} sync=no`,
      `d. ! dest-null`,
    ].join('\n'), { clean: true, during: (g) => setTimeout(() => g.cancel(), 300) });
    expect(r.error?.cancelled).toBe(true);
    const chains = r.graph.chains.length;
    expect(chains).toBe(9);
    for (let c = 0; c < chains; c++) {
      const states = r.messages.flatMap((m) => (m.type === 'state' && m.chain === c ? [m.state] : []));
      expect(states.slice(-3), `chain ${c}`).toEqual(['CANCELLING', 'CANCELLED', 'DONE']);
    }
    expect(errors(r)).toEqual([]);
    expect(r.messages.at(-1)).toMatchObject({ type: 'done', chain: -1 });
    expect(readdirSync(dir).filter((f) => f.startsWith('cancel.mux'))).toEqual([]);
  });

  it('fails every input with a clear error when the multiplexed stream cannot be written', async () => {
    const r = await runText([
      'source-random seed=1 ! m.',
      'source-random seed=2 length=100MiB ! m.',
      `mux name=m ! dest-file path=${join(dir, 'no', 'such', 'dir', 'x')}`,
    ].join('\n'), { clean: true });
    expect(r.error?.message).toMatch(/^dest-file#4: open .*x\.tmp: ENOENT/);
    expect(r.error).toBeInstanceOf(XferGraphError);
    expect((r.error as XferGraphError).chains.map((c) => [c.role, c.ok])).toEqual([['branch', false], ['branch', false], ['trunk', false]]);
    const inputs = errors(r).filter((m) => m.startsWith('m.in'));
    expect(inputs.length).toBe(2);
    for (const e of inputs) expect(e).toMatch(/^m\.in\d: send to m: the multiplexed stream stopped \(m failed or was cancelled\)$/);
  });

  it('is refused outside a graph, with a sentence', () => {
    expect(() => new Xfer([element('mux'), element('dest-null')])).toThrow(/mux: has no inputs: mux runs in a graph/);
    expect(() => new Xfer([element('source-random', { seed: 1 }), element('demux')])).toThrow(/demux: has no outputs/);
  });

  it('takes one input in a single chain, and a map entry per input', async () => {
    const out = join(dir, 'one.mux');
    const r = await runText(`source-random length=100000 seed=9 ! mux map=db1:/var:1 ! dest-file path=${out} sync=no`, { clean: true });
    expect(r.error).toBeUndefined();
    const ps = packets(readFileSync(out));
    expect(JSON.parse(ps[0].payload.toString())).toMatchObject({ streams: [{ id: 1, host: 'db1', disk: '/var', level: 1, label: 'source-random#1' }] });
    expect(sha256(streamOf(ps, 1).data)).toBe(sha256(lcgBytes(9, 100000)));
    await expect(runText(`source-random length=1 seed=9 ! mux map=a:b,c:d ! dest-null`)).rejects.toThrow(/"map" has 2 entries for 1 inputs/);
  });

  it('cuts blocks bigger than a packet may carry (16 MiB) into several packets, which demux reads back', async () => {
    const out = join(dir, 'big.mux');
    const w = await runText(`source-random length=40MiB seed=4 ! m.\nmux name=m ! dest-file path=${out} sync=no`, { blockSize: 32 << 20 });
    expect(w.error).toBeUndefined();
    const ps = packets(readFileSync(out));
    expect(Math.max(...ps.map((p) => p.length))).toBeLessThanOrEqual(16 << 20);
    expect(ps.filter((p) => p.stream === 1).reduce((n, p) => n + p.length, 0)).toBe(40 << 20);
    const r = await runText(`source-file path=${out} ! demux streams=1 ! dest-null seed=4`);
    expect(r.error).toBeUndefined();
  });
});
