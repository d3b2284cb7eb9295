// The linker: dynamic programming over (element, mechanism) must find exactly the cheapest
// linkage an exhaustive search finds, on random pair tables; unlinkable chains are errors that
// name both neighbours.
import { describe, expect, it } from 'vitest';
import type { MechPairInfo } from '../../src/element-info.js';
import { linkPreview } from '../../src/index.js';
import { native } from '../../src/native.js';
import { element } from '../helpers.js';

type Mech = MechPairInfo['in'];
const INNER: Mech[] = ['READFD', 'WRITEFD', 'PULL_BUFFER', 'PUSH_BUFFER'];
type Cost = [number, number, number, number];

function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

function pairCost(p: MechPairInfo): Cost {
  return [p.copies, p.allocs, p.threads, 0];
}
const add = (a: Cost, b: Cost): Cost => [a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3]];
const less = (a: Cost, b: Cost) => {
  for (let i = 0; i < 4; i++) if (a[i] !== b[i]) return a[i] < b[i];
  return false;
};

/** Every assignment of pairs and optional glue, recursively: the reference answer. */
function bruteForce(tables: MechPairInfo[][], glue: MechPairInfo[]): Cost | undefined {
  let best: Cost | undefined;
  const go = (i: number, arriving: Mech, cost: Cost) => {
    if (i === tables.length) {
      if (arriving === 'NONE' && (!best || less(cost, best))) best = cost;
      return;
    }
    const last = i === tables.length - 1;
    for (const p of tables[i]) {
      if (p.in !== arriving || last !== (p.out === 'NONE')) continue;
      const c = add(cost, pairCost(p));
      go(i + 1, p.out, c);
      if (last) continue;
      for (const g of glue) if (g.in === p.out) go(i + 1, g.out, add(add(c, pairCost(g)), [0, 0, 0, 1]));
    }
  };
  go(0, 'NONE', [0, 0, 0, 0]);
  return best;
}

function randomTables(r: () => number, n: number): MechPairInfo[][] {
  const pick = <T>(a: T[]) => a[Math.floor(r() * a.length)];
  return Array.from({ length: n }, (_, i) => {
    const k = 1 + Math.floor(r() * 3);
    return Array.from({ length: k }, () => ({
      in: i === 0 ? 'NONE' : pick(INNER),
      out: i === n - 1 ? 'NONE' : pick(INNER),
      copies: Math.floor(r() * 3),
      allocs: Math.floor(r() * 2),
      threads: Math.floor(r() * 2),
    }));
  });
}

describe('linker', () => {
  it('finds the same minimum cost as exhaustive search on 400 random chains', () => {
    const r = rng(20261122);
    const glue = native.gluePairs();
    let linked = 0;
    for (let t = 0; t < 400; t++) {
      const tables = randomTables(r, 2 + Math.floor(r() * 5));
      const want = bruteForce(tables, glue);
      const got = native.linkTables(tables);
      if (!want) {
        expect(got.error, JSON.stringify(tables)).toBeDefined();
        continue;
      }
      linked++;
      expect(got.cost && [got.cost.copies, got.cost.allocs, got.cost.threads, got.cost.glues]).toEqual(want);
    }
    expect(linked).toBeGreaterThan(300);
  });

  it('links a long chain quickly (polynomial, not exponential)', () => {
    const xor: MechPairInfo[] = [
      { in: 'PULL_BUFFER', out: 'PULL_BUFFER', copies: 1, allocs: 0, threads: 0 },
      { in: 'PUSH_BUFFER', out: 'PUSH_BUFFER', copies: 1, allocs: 0, threads: 0 },
    ];
    const tables = [[{ in: 'NONE', out: 'PULL_BUFFER', copies: 0, allocs: 0, threads: 0 }],
      ...Array.from({ length: 2000 }, () => xor), [{ in: 'PUSH_BUFFER', out: 'NONE', copies: 0, allocs: 0, threads: 0 }]] as MechPairInfo[][];
    const t0 = performance.now();
    const got = native.linkTables(tables);
    expect(performance.now() - t0).toBeLessThan(500);
    expect(got.cost).toEqual({ copies: 2000, allocs: 0, threads: 1, glues: 1 });
  });

  it('chooses zero-copy links where they exist', () => {
    expect(linkPreview([element('source-file', { path: '/x' }), element('filter-process', { cmd: 'cat' }), element('dest-file', { path: '/y' })]))
      .toMatchObject({ linkage: 'source-file#1 -READFD-> filter-process#2 -WRITEFD-> dest-file#3', cost: { glues: 0 } });
    expect(linkPreview([element('source-random', { seed: 1 }), element('dest-null')]).linkage)
      .toBe('source-random#1 -PULL_BUFFER-> dest-null#2');
  });

  it('an unlinkable pair is an error naming both elements and their mechanisms', () => {
    const got = native.linkTables([
      [{ in: 'NONE', out: 'PULL_BUFFER', copies: 0, allocs: 0, threads: 0 }],
      [{ in: 'PULL_BUFFER', out: 'NONE', copies: 0, allocs: 0, threads: 0 }],
    ].concat() as MechPairInfo[][]);
    expect(got.error).toBeUndefined();
    const bad = native.linkTables([
      [{ in: 'NONE', out: 'PULL_BUFFER', copies: 0, allocs: 0, threads: 0 }],
      [{ in: 'NONE', out: 'PULL_BUFFER', copies: 0, allocs: 0, threads: 0 }],
      [{ in: 'PULL_BUFFER', out: 'NONE', copies: 0, allocs: 0, threads: 0 }],
    ] as MechPairInfo[][]);
    expect(bad.error).toBe('e2 is a source and must come first');
    const dest = linkPreview([element('source-random', { seed: 1 }), element('dest-null'), element('dest-null')]);
    expect(dest.error).toBe('dest-null#2 is a destination and must come last');
  });

  it('forced glue puts one glue between every two neighbours', () => {
    const got = native.linkTables([
      [{ in: 'NONE', out: 'READFD', copies: 0, allocs: 0, threads: 0 }],
      [{ in: 'PUSH_BUFFER', out: 'PUSH_BUFFER', copies: 0, allocs: 0, threads: 0 }],
      [{ in: 'PUSH_BUFFER', out: 'NONE', copies: 0, allocs: 0, threads: 0 }],
    ] as MechPairInfo[][], true);
    expect(got.cost?.glues).toBe(2);
    expect(got.linkage).toBe('e1 -READFD-> glue -PUSH_BUFFER-> e2 -PUSH_BUFFER-> glue -PUSH_BUFFER-> e3');
  });
});
