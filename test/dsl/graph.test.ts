/**
 * Planning a pipeline graph into transfers (src/dsl/graph.ts): where the chains are cut, how the
 * inputs and outputs are numbered, the internal elements added, and positioned errors for graphs
 * the engine cannot run.
 */
import { describe, expect, it } from 'vitest';
import { DslError, graphOf, isGraph, parsePipeline, planGraph } from '../../src/dsl/index.js';
import { ELEMENTS, element, lookupOf, prop } from './registry.js';

const lookup = lookupOf([
  ...ELEMENTS,
  element('mux', 'filter', [prop('map', 'strings')]),
  element('demux', 'filter', [prop('streams', 'strings')]),
]);

const plan = (text: string) => graphOf(parsePipeline(text, { lookup, file: 'g.xfa' }));
const shape = (text: string) => plan(text).chains.map((c) => `${c.role}: ${c.elements.map((e) => e.label).join(' ! ')}`);

function formatted(text: string): string {
  try {
    plan(text);
  } catch (e) {
    if (e instanceof DslError) return e.format();
    throw e;
  }
  return '(no error)';
}

describe('graphOf', () => {
  it('cuts a mux pipeline into one branch per input and the trunk, inputs numbered as written', () => {
    const p = plan([
      'source-random seed=1 ! m.',
      'source-file path=/x ! filter-zstd ! m.',
      'mux name=m map=a:/b ! dest-file path=/y',
    ].join('\n'));
    expect(p.chains.map((c) => `${c.role}: ${c.elements.map((e) => e.label).join(' ! ')}`)).toEqual([
      'branch: source-random#1 ! m.in1',
      'branch: source-file#2 ! filter-zstd#3 ! m.in2',
      'trunk: m ! dest-file#5',
    ]);
    expect(p.channels).toEqual([{ kind: 'mux', size: 2, node: 3, label: 'm' }]);
    expect(p.chains[0].elements[1]).toMatchObject({ name: 'mux-input', props: { stream: 0, peer: 'm' }, channel: 0, node: -1 });
    expect(p.chains[2].elements[0].props).toEqual({ map: ['a:/b'], labels: ['source-random#1', 'source-file#2'] });
    expect(p.chains.map((c) => c.endpoints)).toEqual([[{ channel: 0, endpoint: 0 }], [{ channel: 0, endpoint: 1 }], [{ channel: 0, endpoint: -1 }]]);
  });

  it('numbers mux inputs by where their sources are written, whichever line names the mux', () => {
    expect(shape('source-random seed=3 ! mux name=m ! dest-null\nsource-random seed=1 ! m.')).toEqual([
      'branch: source-random#1 ! m.in1',
      'branch: source-random#4 ! m.in2',
      'trunk: m ! dest-null#3',
    ]);
  });

  it('cuts a demux pipeline into the trunk and one branch per output', () => {
    expect(shape('source-file path=/x ! demux name=d streams=2,1\nd. ! dest-null\nd. ! filter-zstd ! dest-file path=/y')).toEqual([
      'trunk: source-file#1 ! d',
      'branch: d.out1 ! dest-null#3',
      'branch: d.out2 ! filter-zstd#4 ! dest-file#5',
    ]);
  });

  it('runs a single chain with a mux or demux in it as a graph, and a plain chain as one trunk', () => {
    expect(shape('source-file path=/x ! demux streams=3 ! dest-null')).toEqual(['trunk: source-file#1 ! demux#2', 'branch: demux#2.out1 ! dest-null#3']);
    expect(shape('source-random seed=1 ! dest-null')).toEqual(['trunk: source-random#1 ! dest-null#2']);
    expect(isGraph(parsePipeline('source-random seed=1 ! dest-null', { lookup }))).toBe(false);
    expect(isGraph(parsePipeline('source-random seed=1 ! mux ! dest-null', { lookup }))).toBe(true);
  });

  it('joins a mux straight into a demux in one trunk', () => {
    expect(shape('source-random seed=1 ! m.\nsource-random seed=2 ! m.\nmux name=m ! demux name=d\nd. ! dest-null\nd. ! dest-null')).toEqual([
      'branch: source-random#1 ! m.in1',
      'branch: source-random#2 ! m.in2',
      'trunk: m ! d',
      'branch: d.out1 ! dest-null#5',
      'branch: d.out2 ! dest-null#6',
    ]);
  });

  it('gives positioned errors for graphs it cannot run', () => {
    expect(formatted('source-random seed=1 ! filter-zstd name=z ! dest-null\nz. ! dest-file path=/y')).toBe([
      'g.xfa:1:24: error: "filter-zstd" feeds 2 chains; only demux feeds several',
      '  source-random seed=1 ! filter-zstd name=z ! dest-null',
      '                         ^~~~~~~~~~~',
    ].join('\n'));
    expect(formatted('source-random seed=1 ! z.\nsource-random seed=2 ! filter-zstd name=z ! dest-null')).toBe([
      'g.xfa:2:24: error: "filter-zstd" has 2 inputs; only mux takes several',
      '  source-random seed=2 ! filter-zstd name=z ! dest-null',
      '                         ^~~~~~~~~~~',
    ].join('\n'));
    expect(formatted('source-random seed=1 ! mux name=m ! dest-null\nm. ! dest-file path=/y')).toBe([
      'g.xfa:1:24: error: "mux" has one output (it feeds 2 chains); put a demux after it to split',
      '  source-random seed=1 ! mux name=m ! dest-null',
      '                         ^~~',
    ].join('\n'));
    expect(formatted('source-random seed=1 ! d.\nsource-random seed=2 ! demux name=d ! dest-null')).toBe([
      'g.xfa:2:24: error: "demux" reads one multiplexed stream (it has 2 inputs); put a mux before it to join',
      '  source-random seed=2 ! demux name=d ! dest-null',
      '                         ^~~~~',
    ].join('\n'));
  });
});

describe('planGraph', () => {
  it('plans node/edge lists (the programmatic graph() form), keeping edge order among unplaced nodes', () => {
    const n = (name: string, label = name) => ({ name, label, props: {} });
    const p = planGraph([n('source-random', 'a'), n('source-random', 'b'), n('mux', 'm'), n('dest-null', 'z')], [
      { from: 1, to: 2 }, { from: 0, to: 2 }, { from: 2, to: 3 },
    ]);
    expect(p.chains.map((c) => c.elements.map((e) => e.label))).toEqual([['a', 'm.in2'], ['b', 'm.in1'], ['m', 'z']]);
  });
});
