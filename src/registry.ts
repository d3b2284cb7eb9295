/**
 * The element registry: every element kind xfa can build, with its properties and mechanism
 * pairs. Native kinds describe themselves from C++; `element()` validates properties against it,
 * the pipeline language compiles against it and `xfa inspect` prints it.
 */
import type { ElementInfo, ElementLookup, PropValue } from './element-info.js';
import { native } from './native.js';
import { PropError, validateProps } from './props.js';
import { closest } from './suggest.js';

class Registry implements ElementLookup {
  private readonly byName = new Map<string, ElementInfo>();

  constructor(infos: readonly ElementInfo[]) {
    for (const info of infos) this.byName.set(info.name, info);
  }

  find(name: string): ElementInfo | undefined {
    return this.byName.get(name);
  }

  /** Adds a TypeScript element kind (defineElement); a name may be defined only once. */
  add(info: ElementInfo): void {
    if (this.byName.has(info.name)) throw new Error(`element "${info.name}" is already defined`);
    this.byName.set(info.name, info);
  }

  all(): readonly ElementInfo[] {
    return [...this.byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The info for `name`, or an Error with a did-you-mean. */
  get(name: string): ElementInfo {
    const info = this.find(name);
    if (info) return info;
    const guess = closest(name, this.byName.keys());
    throw new PropError(name, '', 'unknown', `unknown element "${name}"${guess ? ` (did you mean "${guess}"?)` : ''}`);
  }
}

export const registry = new Registry(native.elements());

/** A validated element ready to go into an Xfer: its kind and converted properties. */
export interface ElementSpec {
  readonly name: string;
  readonly props: Readonly<Record<string, PropValue>>;
}

/**
 * Build an element spec, validating properties by the element's schema: unknown property (with a
 * did-you-mean), wrong type or out-of-range value throws a PropError naming element and property.
 *
 *     element('source-random', { length: '1GiB', seed: 42 })
 */
export function element(name: string, props: Record<string, unknown> = {}): ElementSpec {
  const info = registry.get(name);
  return { name, props: validateProps(info, props, name) };
}
