/** A small element registry for the DSL and property tests: ElementInfo data only, no engine. */
import type { ElementInfo, ElementLookup, PropSpec, Role } from '../../src/element-info.js';

export function prop(name: string, type: PropSpec['type'], extra: Partial<PropSpec> = {}): PropSpec {
  return { name, type, required: false, help: `${name} (test)`, ...extra };
}

export function element(name: string, role: Role, props: PropSpec[]): ElementInfo {
  return {
    name,
    role,
    description: `${name} for tests`,
    longHelp: '',
    props,
    pairs: [],
    example: `${name}`,
    impl: 'native',
  };
}

export const ELEMENTS: readonly ElementInfo[] = [
  element('source-file', 'source', [prop('path', 'string', { required: true })]),
  element('source-random', 'source', [
    prop('length', 'size', { max: 1024 ** 4 }),
    prop('seed', 'int'),
  ]),
  element('filter-zstd', 'filter', [
    prop('level', 'int', { min: 1, max: 22, default: '3' }),
    prop('workers', 'int', { min: 0 }),
  ]),
  element('filter-process', 'filter', [
    prop('cmd', 'string', { required: true }),
    prop('args', 'strings'),
    prop('timeout', 'duration', { min: 1000 }),
  ]),
  element('filter-mux', 'filter', [prop('block', 'size', { min: 512 })]),
  element('filter-tee', 'filter', []),
  element('dest-file', 'dest', [prop('path', 'string', { required: true }), prop('fsync', 'bool')]),
  element('dest-null', 'dest', [prop('seed', 'int')]),
];

export function lookupOf(elements: readonly ElementInfo[]): ElementLookup {
  const byName = new Map(elements.map((e) => [e.name, e]));
  return { find: (name) => byName.get(name), all: () => elements };
}

export const lookup = lookupOf(ELEMENTS);
