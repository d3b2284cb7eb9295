// The bridge: TypeScript sources, filters and destinations in a C++ chain — zero-copy blocks to
// JavaScript, bounded windows both ways, errors and cancel crossing in both directions.
import { describe, expect, it } from 'vitest';
import { defineElement } from '../../src/bridge.js';
import { engineStats, Xfer } from '../../src/xfer.js';
import { element, run, runClean, types } from '../helpers.js';

const log: string[] = [];
let maxOutstanding = 0;

/** Amanda's LCG in TypeScript, to produce and check source-random's bytes independently. */
function lcg(seed: number, n: number, state = { s: seed >>> 0 }): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) {
    state.s = (Math.imul(state.s, 1664525) + 1013904223) >>> 0;
    b[i] = state.s >>> 24;
  }
  return b;
}

defineElement({
  name: 'dest-ts-collect', role: 'dest', description: 'test: collects into memory', props: [
    { name: 'delay-ms', type: 'int', required: false, help: 'sleep per chunk', min: 0, max: 1000 },
    { name: 'fail-at', type: 'int', required: false, help: 'throw on this chunk', min: 0, max: 1e9 },
  ], example: 'source-random length=1MiB seed=1 ! dest-ts-collect', window: 2,
  create: (props) => {
    const parts: Buffer[] = [];
    let n = 0;
    return {
      async write(chunk) {
        maxOutstanding = Math.max(maxOutstanding, engineStats().blocksOutstanding);
        if (props['fail-at'] !== undefined && n++ === props['fail-at']) throw Object.assign(new Error('boom'), { op: 'upload part 2' });
        if (props['delay-ms']) await new Promise((r) => setTimeout(r, Number(props['delay-ms'])));
        parts.push(Buffer.from(chunk));
      },
      end() {
        collected = Buffer.concat(parts);
        log.push('end');
      },
      abort(reason) {
        log.push(`abort: ${reason.message}`);
      },
    };
  },
});
let collected = Buffer.alloc(0);

defineElement({
  name: 'source-ts-lcg', role: 'source', description: 'test: LCG bytes from TypeScript', props: [
    { name: 'length', type: 'size', required: true, help: 'bytes; 0 = endless', min: 0, max: 2 ** 40 },
    { name: 'seed', type: 'int', required: true, help: 'seed', min: 1, max: 2 ** 32 - 1 },
  ], example: 'source-ts-lcg length=1MiB seed=3 ! dest-null seed=3',
  create: (props) => ({
    async run(ctx) {
      const state = { s: Number(props.seed) };
      let left = Number(props.length);
      const endless = left === 0;
      let size = 1;
      while ((endless || left > 0) && !ctx.signal.aborted) {
        const n = endless ? 65536 : Math.min(left, size);
        await ctx.push(lcg(0, n, state));
        left -= n;
        size = (size * 7 + 13) % 200_000 + 1; // varied chunk sizes
      }
      if (ctx.signal.aborted) log.push('source saw abort');
    },
  }),
});

defineElement({
  name: 'filter-ts-upper', role: 'filter', description: 'test: ASCII upper-case', props: [],
  example: 'source-pattern length=10 pattern=ab ! filter-ts-upper ! dest-buffer',
  create: () => ({
    async write(chunk, ctx) {
      await ctx.push(Buffer.from(chunk.toString('latin1').toUpperCase(), 'latin1'));
    },
    end(ctx) {
      ctx.info('upper done');
    },
  }),
});

describe('TypeScript elements', () => {
  it('a TS destination receives exactly the C++ bytes, and `done` waits for its end()', async () => {
    log.length = 0;
    const { result, messages } = await runClean([element('source-random', { length: 3_000_017, seed: 5 }), element('dest-ts-collect')]);
    expect(result).toBeDefined();
    expect(collected.equals(lcg(5, 3_000_017))).toBe(true);
    expect(log).toEqual(['end']);
    expect(messages.find((m) => m.type === 'linkage')).toMatchObject({ message: 'source-random#1 -PULL_BUFFER-> glue -PUSH_BUFFER-> dest-ts-collect#2' });
  });

  it('a TS source feeds C++ elements at varied chunk sizes, verified byte by byte', async () => {
    const { result, messages } = await runClean([element('source-ts-lcg', { length: 5_000_000, seed: 9 }), element('filter-crc'), element('dest-null', { seed: 9 })]);
    expect(result).toBeDefined();
    expect(messages.find((m) => m.type === 'crc' && m.elt === 'dest-null#3')).toMatchObject({ size: 5_000_000 });
  });

  it('a TS filter between C++ elements, with its own info message', async () => {
    const { xfer, messages } = await runClean([element('source-pattern', { length: 300_000, pattern: 'abc' }), element('filter-ts-upper'), element('dest-buffer')]);
    expect(xfer.result(2)?.toString()).toBe('ABC'.repeat(100_000));
    expect(messages.some((m) => m.type === 'info' && m.elt === 'filter-ts-upper#2' && m.message === 'upper done')).toBe(true);
  });

  it('back-pressure: a slow TS destination bounds the blocks in flight', async () => {
    maxOutstanding = 0;
    const { result } = await runClean([element('source-random', { length: '4MiB', seed: 1 }), element('dest-ts-collect', { 'delay-ms': 5 })], { blockSize: 65536 });
    expect(result).toBeDefined();
    // window 2 + the queue glue's 4 + the block being produced, never the whole 64 blocks
    expect(maxOutstanding).toBeLessThanOrEqual(12);
  });

  it('a TS error crosses into the engine: error (with its op) → cancel → done, and abort() runs', async () => {
    log.length = 0;
    const { error, messages } = await runClean([element('source-random', { length: '4MiB', seed: 1 }), element('dest-ts-collect', { 'fail-at': 3 })]);
    expect(error?.message).toBe('dest-ts-collect#2: upload part 2: boom');
    expect(types(messages)).toEqual(['error', 'cancel', 'done']);
    expect(log).toEqual(['abort: transfer cancelled']);
  });

  it('an engine error crosses into TS: the source sees its signal aborted', async () => {
    log.length = 0;
    const { error } = await runClean([element('source-ts-lcg', { length: 0, seed: 2 }), element('dest-buffer', { 'max-size': '1MiB' })]);
    expect(error?.message).toMatch(/dest-buffer#2: push: illegal attempt/);
    expect(log).toContain('source saw abort');
  });

  it('cancel reaches an endless TS source and the transfer ends', async () => {
    log.length = 0;
    const { error, messages } = await runClean([element('source-ts-lcg', { length: 0, seed: 2 }), element('dest-null', { seed: 2 })], {
      during: (x) => setTimeout(() => x.cancel(), 50),
    });
    expect(error?.cancelled).toBe(true);
    expect(types(messages)).toEqual(['cancel', 'done']);
    expect(log).toContain('source saw abort');
  });

  it('TS elements are in the registry, validated like native ones, and usable from the DSL', async () => {
    expect(() => element('dest-ts-collect', { 'delay-mss': 1 })).toThrow('did you mean "delay-ms"?');
    const { parse } = await import('../../src/index.js');
    const x: Xfer = parse('source-ts-lcg length=1000 seed=4 ! filter-ts-upper ! dest-null');
    await x.start().done;
    const r = await run([element('source-ts-lcg', { length: 10, seed: 4 }), element('dest-buffer')]);
    expect(r.xfer.result(1)?.equals(lcg(4, 10))).toBe(true);
  });
});
