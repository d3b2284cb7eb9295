// Generated: every source mechanism × every destination mechanism moves the bytes exactly, with
// seeded random chunk sizes on both sides, through whatever glue the linker picks (or none).
import { describe, expect, it } from 'vitest';
import { native } from '../../src/native.js';
import { element, runClean } from '../helpers.js';

const MECHS = ['READFD', 'WRITEFD', 'PULL_BUFFER', 'PUSH_BUFFER'] as const;

describe('glue matrix', () => {
  it('registers all 16 pairs', () => {
    const pairs = native.gluePairs().map((p) => `${p.in}>${p.out}`);
    expect(pairs).toHaveLength(16);
    for (const a of MECHS) for (const b of MECHS) expect(pairs).toContain(`${a}>${b}`);
  });

  for (const src of MECHS) {
    for (const dst of MECHS) {
      it(`${src} → ${dst}`, async () => {
        for (const seed of [1, 2]) {
          const length = 3 * 1024 * 1024 + seed * 977;
          const { result, messages, error } = await runClean([
            element('source-test', { mech: src, length, seed: 7 + seed, 'chunk-seed': seed, 'max-chunk': 70_000 }),
            element('dest-test', { mech: dst, length, seed: 7 + seed, 'chunk-seed': seed + 10, 'max-chunk': 90_000 }),
          ]);
          expect(error?.message).toBeUndefined();
          expect(result).toBeDefined();
          const crc = messages.find((m) => m.type === 'crc');
          expect(crc && crc.type === 'crc' && crc.size).toBe(length);
          const linkage = messages.find((m) => m.type === 'linkage');
          expect(linkage && linkage.type === 'linkage' && linkage.message).toContain(`-${src}->`);
        }
      });
    }
  }

  for (const src of MECHS) {
    for (const dst of MECHS) {
      it(`forced glue ${src} → ${dst}`, async () => {
        const length = 2 * 1024 * 1024 + 4099;
        const { messages, error } = await runClean([
          element('source-test', { mech: src, length, seed: 11, 'chunk-seed': 3, 'max-chunk': 50_000 }),
          element('dest-test', { mech: dst, length, seed: 11, 'chunk-seed': 4, 'max-chunk': 120_000 }),
        ], { forceGlue: true });
        expect(error?.message).toBeUndefined();
        const linkage = messages.find((m) => m.type === 'linkage');
        expect(linkage && linkage.type === 'linkage' && linkage.message).toBe(
          `source-test#1 -${src}-> glue -${dst}-> dest-test#2`);
        const crc = messages.find((m) => m.type === 'crc');
        expect(crc && crc.type === 'crc' && crc.size).toBe(length);
      });
    }
  }

  it('never puts a glue between equal mechanisms unless forced', () => {
    for (const m of MECHS) {
      const p = native.linkPreview([
        { name: 'source-test', props: { mech: m } },
        { name: 'dest-test', props: { mech: m } },
      ]);
      expect(p.cost?.glues).toBe(0);
    }
  });
});
