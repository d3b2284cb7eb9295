/**
 * `xfa inspect`: the registry as text. The list is one line per element; the detail page is
 * gst-inspect's: what the element does, how it can be linked and what each link costs, every
 * property, and an example to paste.
 */
import type { ElementInfo, ElementLookup, MechPairInfo, PropSpec, PropType } from '../element-info.js';
import { formatDuration, formatSize } from '../props.js';
import { closest } from '../suggest.js';
import { columns, shellQuote, wrap } from './format.js';
import { UsageError } from './io.js';

const ROLE_NAMES: Record<ElementInfo['role'], string> = { source: 'source', filter: 'filter', dest: 'destination' };

/** One line per element: name, role, description. */
export function listElements(infos: readonly ElementInfo[]): string {
  return `${columns(infos.map((e) => [e.name, e.role, e.description])).join('\n')}\n`;
}

/** The element named `name`, or a usage error with a did-you-mean. */
export function findElement(lookup: ElementLookup, name: string): ElementInfo {
  const info = lookup.find(name);
  if (info) return info;
  const guess = closest(name, lookup.all().map((e) => e.name));
  const hint = guess ? `did you mean "${guess}"?` : '"xfa inspect" lists them';
  throw new UsageError(`unknown element "${name}" (${hint})`, 'inspect');
}

function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function pairLines(pairs: readonly MechPairInfo[]): string[] {
  if (pairs.length === 0) return ['  (none)'];
  const rows = pairs.map((p) => [
    `  ${p.in} -> ${p.out}`,
    `${count(p.copies, 'copy', 'copies')}/byte`,
    `${count(p.allocs, 'alloc')}/block`,
    count(p.threads, 'thread'),
  ]);
  return columns(rows, '   ');
}

/** In the property's unit; a size only when it is a round number of a unit ("1GiB", not "8789062500000000KiB"). */
function formatValue(type: PropType, n: number): string {
  if (type === 'size') {
    const text = formatSize(n);
    return /^\d{1,4}[A-Za-z]*$/.test(text) ? text : String(n);
  }
  if (type === 'duration') return formatDuration(n);
  return String(n);
}

/** "size, default 0, range 0 .. 8EiB" / "string, required". */
function propSummary(p: PropSpec): string {
  const parts: string[] = [p.type];
  if (p.required) parts.push('required');
  if (p.default !== undefined) parts.push(`default ${p.default === '' ? '""' : p.default}`);
  if (p.min !== undefined || p.max !== undefined) {
    const lo = p.min === undefined ? '' : formatValue(p.type, p.min);
    const hi = p.max === undefined ? '' : formatValue(p.type, p.max);
    parts.push(`range ${lo} .. ${hi}`.replace(/ +$/, ''));
  }
  return parts.join(', ');
}

function propLines(props: readonly PropSpec[], width: number): string[] {
  if (props.length === 0) return ['  (none)'];
  const nameWidth = Math.max(...props.map((p) => p.name.length));
  const indent = ' '.repeat(nameWidth + 4);
  return props.flatMap((p) => [
    `  ${p.name.padEnd(nameWidth)}  ${propSummary(p)}`,
    ...wrap(p.help, width, indent),
  ]);
}

/** The gst-inspect style page for one element. */
export function describeElement(info: ElementInfo, width = 80): string {
  const w = Math.max(40, Math.min(width, 100));
  return [
    `${info.name} — ${info.description}`,
    '',
    `  Role:        ${ROLE_NAMES[info.role]}`,
    `  Implemented: ${info.impl === 'native' ? 'native (C++)' : 'TypeScript'}`,
    '',
    'Description:',
    ...wrap(info.longHelp || info.description, w, '  '),
    '',
    'Mechanism pairs (input -> output, cost):',
    ...pairLines(info.pairs),
    '',
    'Properties:',
    ...propLines(info.props, w),
    '',
    'Example:',
    `  xfa launch ${shellQuote(info.example)}`,
    '',
  ].join('\n');
}
