/**
 * What xfa knows about an element kind: the data behind the registry, property validation, the
 * pipeline language and `xfa inspect`. Native elements describe themselves from C++
 * (`ElementInfo` in csrc/include/xfa/element.h); TypeScript elements from `defineElement`.
 */

export type Mech = 'NONE' | 'READFD' | 'WRITEFD' | 'PULL_BUFFER' | 'PUSH_BUFFER';

export type PropType = 'bool' | 'int' | 'size' | 'duration' | 'double' | 'string' | 'strings';

/** A converted, validated property value as the engine receives it. */
export type PropValue = boolean | number | string | string[];

export interface PropSpec {
  name: string;
  type: PropType;
  /** Default as pipeline-language text, e.g. "256KiB"; undefined when there is none. */
  default?: string;
  /** Inclusive numeric range (after conversion: bytes for sizes, milliseconds for durations). */
  min?: number;
  max?: number;
  required: boolean;
  help: string;
}

export interface MechPairInfo {
  in: Mech;
  out: Mech;
  copies: number;
  allocs: number;
  threads: number;
}

export type Role = 'source' | 'filter' | 'dest';

export interface ElementInfo {
  /** "source-random": the same word in the file name, the registry, the DSL and `xfa inspect`. */
  name: string;
  role: Role;
  description: string;
  longHelp: string;
  props: PropSpec[];
  pairs: MechPairInfo[];
  /** One pipeline-language line using the element. */
  example: string;
  /** Where it is implemented. */
  impl: 'native' | 'ts';
}

/** The lookup the validators, the DSL compiler and the CLI need. */
export interface ElementLookup {
  find(name: string): ElementInfo | undefined;
  all(): readonly ElementInfo[];
}
