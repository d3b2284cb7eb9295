import { describe, expect, it } from 'vitest';
import { parse, type PipelineNode } from '../../src/dsl/index.js';

type Outline = { element: string; name?: string; props?: Record<string, string> } | { ref: string };

/** The tree without positions, so the golden cases read like the pipelines they come from. */
function outline(ast: PipelineNode): Outline[][] {
  return ast.chains.map((chain) =>
    chain.items.map((item): Outline => {
      if (item.kind === 'ref') return { ref: item.target };
      const out: Outline = { element: item.name };
      if (item.instance) out.name = item.instance.value;
      if (item.props.length > 0) out.props = Object.fromEntries(item.props.map((p) => [p.key, p.value]));
      return out;
    }),
  );
}

const GOOD: Array<{ what: string; text: string; vars?: Record<string, string>; chains: Outline[][] }> = [
  {
    what: 'one line',
    text: 'source-file path=/x ! dest-file path=/y',
    chains: [[{ element: 'source-file', props: { path: '/x' } }, { element: 'dest-file', props: { path: '/y' } }]],
  },
  {
    what: 'no blanks around !',
    text: 'source-random!dest-null',
    chains: [[{ element: 'source-random' }, { element: 'dest-null' }]],
  },
  {
    what: 'lines starting with !, comments and a commented-out stage',
    text: [
      '# nightly test transfer',
      'source-random length=4MiB   # test data',
      '  ! filter-zstd level=19 workers=2',
      '  # ! filter-process cmd=cat',
      '',
      '  ! dest-null',
      '',
    ].join('\n'),
    chains: [[
      { element: 'source-random', props: { length: '4MiB' } },
      { element: 'filter-zstd', props: { level: '19', workers: '2' } },
      { element: 'dest-null' },
    ]],
  },
  {
    what: 'a line ending in !',
    text: 'source-random !\n\n  dest-null',
    chains: [[{ element: 'source-random' }, { element: 'dest-null' }]],
  },
  {
    what: 'backslash continuation inside an element',
    text: 'source-random \\\n    length=1G \\\n    seed=7 \\\n  ! dest-null',
    chains: [[{ element: 'source-random', props: { length: '1G', seed: '7' } }, { element: 'dest-null' }]],
  },
  {
    what: 'several chains feeding a named element',
    text: [
      'source-random name=a ! mux.',
      'source-file path=/b ! mux.',
      'filter-mux name=mux ! dest-null',
    ].join('\n'),
    chains: [
      [{ element: 'source-random', name: 'a' }, { ref: 'mux' }],
      [{ element: 'source-file', props: { path: '/b' } }, { ref: 'mux' }],
      [{ element: 'filter-mux', name: 'mux' }, { element: 'dest-null' }],
    ],
  },
  {
    what: 'a reference starting a chain and in the middle of one',
    text: 'source-random ! t. ! dest-null\nt. ! dest-file path=/y',
    chains: [
      [{ element: 'source-random' }, { ref: 't' }, { element: 'dest-null' }],
      [{ ref: 't' }, { element: 'dest-file', props: { path: '/y' } }],
    ],
  },
  {
    what: 'quotes, escapes and empty values',
    text: 'filter-process cmd="tar -cf - \\"/my dir\\"" args=\'a,b c\' x="" y=\'\' z=a\\ b',
    chains: [[{
      element: 'filter-process',
      props: { cmd: 'tar -cf - "/my dir"', args: 'a,b c', x: '', y: '', z: 'a b' },
    }]],
  },
  {
    what: 'values stay text until compile time',
    text: 'filter-zstd level=019 flag=yes size=1.5KiB',
    chains: [[{ element: 'filter-zstd', props: { level: '019', flag: 'yes', size: '1.5KiB' } }]],
  },
  {
    what: 'variables with and without defaults',
    text: 'source-file path=${SRC}/"${HOST:-localhost}".tar ! dest-file path=\'${SRC}\'',
    vars: { SRC: '/srv' },
    chains: [[
      { element: 'source-file', props: { path: '/srv/localhost.tar' } },
      { element: 'dest-file', props: { path: '${SRC}' } },
    ]],
  },
  {
    what: 'property names with dashes and underscores',
    text: 'filter-x max-size=1 a_b=2 B=3',
    chains: [[{ element: 'filter-x', props: { 'max-size': '1', a_b: '2', B: '3' } }]],
  },
  {
    what: 'CRLF and blank lines around everything',
    text: '\r\n\r\nsource-random\r\n  ! dest-null\r\n\r\n',
    chains: [[{ element: 'source-random' }, { element: 'dest-null' }]],
  },
];

describe('parse', () => {
  it.each(GOOD)('$what', ({ text, vars, chains }) => {
    expect(outline(parse(text, { vars }))).toEqual(chains);
  });

  it('keeps positions and raw text for every part', () => {
    const ast = parse('source-file  path="/a b" name=src\n  ! dest-null', { file: 'f.xfa' });
    expect(ast).toEqual({
      source: { text: 'source-file  path="/a b" name=src\n  ! dest-null', file: 'f.xfa' },
      chains: [{
        links: [{ offset: 36, end: 37, line: 2, col: 3 }],
        items: [
          {
            kind: 'element',
            name: 'source-file',
            span: { offset: 0, end: 11, line: 1, col: 1 },
            instance: { value: 'src', span: { offset: 30, end: 33, line: 1, col: 31 } },
            props: [{
              key: 'path',
              keySpan: { offset: 13, end: 17, line: 1, col: 14 },
              raw: '"/a b"',
              value: '/a b',
              valueSpan: { offset: 18, end: 24, line: 1, col: 19 },
            }],
          },
          {
            kind: 'element',
            name: 'dest-null',
            span: { offset: 38, end: 47, line: 2, col: 5 },
            instance: undefined,
            props: [],
          },
        ],
      }],
    });
  });

  it('does not pass name= on as a property', () => {
    const [el] = parse('source-random name=r seed=1').chains[0].items;
    expect(el.kind === 'element' && el.props.map((p) => p.key)).toEqual(['seed']);
  });

  it('starts a new chain on a new line that does not begin with !', () => {
    expect(parse('a\nb ! c\n\n! d').chains.map((c) => c.items.length)).toEqual([1, 3]);
  });
});
