/**
 * Property validation and conversion, shared by the TypeScript API and the pipeline language.
 *
 * Values arrive either as JS values (`{ level: 3, verify: true }`) or, from the DSL, as strings
 * (`level=3 verify=yes`); both convert by the property's `PropType` to the `PropValue` the engine
 * receives. Only the properties that were given come back: defaults are the engine's business,
 * so a default changed in C++ is never shadowed by a stale copy here.
 *
 * Units, chosen to match what backup operators type into dd, gst-launch and amanda.conf:
 *
 * - size (result in bytes): a plain integer is bytes. `KiB MiB GiB TiB PiB` are powers of 1024,
 *   and so are the single letters `K M G T P` (`4M` is 4 MiB, as in dd and gst). `KB MB GB TB PB`
 *   are SI, powers of 1000 (`10MB` is 10 000 000). `B` means bytes. Units are case-insensitive
 *   (`mb` is MB — bits are never meant here). A fraction is allowed when the result is a whole
 *   number of bytes (`1.5KiB` is 1536, `1.1KiB` is an error). `_` may separate digits.
 * - duration (result in milliseconds): a plain number is SECONDS (`30` is 30 000 ms) — also when
 *   given as a JS number — because timeouts are thought of in seconds. Otherwise a sequence of
 *   number+unit with units `ms s m h d`, lowercase: `500ms`, `30s`, `2m`, `1h30m`, `1.5s`.
 *   Results finer than a millisecond are an error.
 * - bool: `true/false yes/no on/off 1/0` (case-insensitive), or a JS boolean, or the numbers 0/1.
 * - int: decimal with optional sign and `_` separators; no fractions, no exponents; must be a safe
 *   integer. double: an ordinary decimal number with optional exponent, finite.
 * - strings: a JS string[], or one string split at commas (`a,b,c`; `\,` is a literal comma and
 *   `\\` a backslash; items are not trimmed; the empty string is the empty list).
 */
import type { ElementInfo, PropSpec, PropType, PropValue } from './element-info.js';
import { closest } from './suggest.js';

export type PropErrorKind = 'unknown' | 'value' | 'range' | 'missing';

/** A property that does not exist, cannot be converted, is out of range, or is missing. */
export class PropError extends Error {
  override name = 'PropError';
  /** The label the caller gave: "filter-zstd", "filter-zstd#2" or an instance name. */
  readonly element: string;
  readonly property: string;
  readonly kind: PropErrorKind;
  /** The message without the leading "element: ", for callers that show the element themselves. */
  readonly detail: string;

  constructor(element: string, property: string, kind: PropErrorKind, detail: string) {
    super(`${element}: ${detail}`);
    this.element = element;
    this.property = property;
    this.kind = kind;
    this.detail = detail;
  }
}

/** A value that does not parse as its type; `message` is a phrase such as `expected a size like 4MiB, got "abc"`. */
export class ValueError extends Error {
  override name = 'ValueError';
}

/** Quote what the user gave the way they would recognise it in an error message. */
export function describeValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (v === undefined) return 'undefined';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

const DIGITS = String.raw`\d+(?:_\d+)*`;

/** Exact decimal arithmetic: "1.5" × 1024 must be 1536 and "1.1" × 1024 must fail, not round. */
function scaleDecimal(intPart: string, fracPart: string, multiplier: bigint): { value: bigint; exact: boolean } {
  const scale = 10n ** BigInt(fracPart.length);
  const scaled = BigInt(intPart.replaceAll('_', '') + fracPart) * multiplier;
  return { value: scaled / scale, exact: scaled % scale === 0n };
}

function toSafeNumber(value: bigint, what: string, text: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new ValueError(`${describeValue(text)} is too large for ${what}`);
  }
  return Number(value);
}

const KI = 1024n;
const SIZE_UNITS: ReadonlyMap<string, bigint> = new Map([
  ['', 1n], ['b', 1n],
  ['k', KI], ['kib', KI], ['kb', 1000n],
  ['m', KI ** 2n], ['mib', KI ** 2n], ['mb', 1000n ** 2n],
  ['g', KI ** 3n], ['gib', KI ** 3n], ['gb', 1000n ** 3n],
  ['t', KI ** 4n], ['tib', KI ** 4n], ['tb', 1000n ** 4n],
  ['p', KI ** 5n], ['pib', KI ** 5n], ['pb', 1000n ** 5n],
]);
const SIZE_RE = new RegExp(String.raw`^(${DIGITS})(?:\.(\d+))?\s*([A-Za-z]*)$`);

/** Bytes from text such as `4MiB`, `512k`, `10MB`, `1.5GiB` or `65536` (see the module comment). */
export function parseSize(text: string): number {
  const m = SIZE_RE.exec(text.trim());
  const multiplier = m ? SIZE_UNITS.get(m[3].toLowerCase()) : undefined;
  if (!m || multiplier === undefined) {
    throw new ValueError(`expected a size like 4MiB, got ${describeValue(text)}`);
  }
  const { value, exact } = scaleDecimal(m[1], m[2] ?? '', multiplier);
  if (!exact) throw new ValueError(`${describeValue(text)} is not a whole number of bytes`);
  return toSafeNumber(value, 'a size', text);
}

const IEC_UNITS: ReadonlyArray<[string, number]> = [
  ['PiB', 1024 ** 5], ['TiB', 1024 ** 4], ['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024],
];

/**
 * The shortest exact text for a byte count that parseSize reads back to the same number:
 * `256KiB`, `4MiB`, or plain digits when no binary unit divides it (`1000`).
 */
export function formatSize(bytes: number): string {
  if (bytes !== 0) {
    for (const [unit, n] of IEC_UNITS) {
      if (bytes % n === 0) return `${bytes / n}${unit}`;
    }
  }
  return String(bytes);
}

const DURATION_UNITS: ReadonlyMap<string, bigint> = new Map([
  ['ms', 1n], ['s', 1000n], ['m', 60_000n], ['h', 3_600_000n], ['d', 86_400_000n],
]);
const DURATION_PART_RE = new RegExp(String.raw`(${DIGITS})(?:\.(\d+))?(ms|s|m|h|d)`, 'y');
const SECONDS_RE = new RegExp(String.raw`^(${DIGITS})(?:\.(\d+))?$`);

function durationError(text: string): ValueError {
  return new ValueError(`expected a duration like 30s, 500ms or 1h30m, got ${describeValue(text)}`);
}

/** Sum of `<number><unit>` parts, e.g. "1h30m"; a sticky regex so nothing between parts is skipped. */
function sumDurationParts(text: string): { value: bigint; exact: boolean } {
  let total = 0n;
  let exact = true;
  DURATION_PART_RE.lastIndex = 0;
  while (DURATION_PART_RE.lastIndex < text.length) {
    const m = DURATION_PART_RE.exec(text);
    if (!m) throw durationError(text);
    const part = scaleDecimal(m[1], m[2] ?? '', DURATION_UNITS.get(m[3]) ?? 1n);
    total += part.value;
    exact &&= part.exact;
  }
  return { value: total, exact };
}

/** Milliseconds from `30s`, `500ms`, `2m`, `1h30m`, `1.5s`, or a plain number of seconds. */
export function parseDuration(text: string): number {
  const t = text.trim();
  if (t === '') throw durationError(text);
  const seconds = SECONDS_RE.exec(t);
  const { value, exact } = seconds
    ? scaleDecimal(seconds[1], seconds[2] ?? '', 1000n)
    : sumDurationParts(t);
  if (!exact) throw new ValueError(`${describeValue(text)} is finer than a millisecond`);
  return toSafeNumber(value, 'a duration', text);
}

const DURATION_FORMAT: ReadonlyArray<[string, number]> = [
  ['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000], ['ms', 1],
];

/** Milliseconds as parseDuration text: `1h30m`, `500ms`, `0s`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const [unit, n] of DURATION_FORMAT) {
    const q = Math.floor(rest / n);
    if (q > 0) out += `${q}${unit}`;
    rest -= q * n;
  }
  return out;
}

const TRUE_WORDS = new Set(['true', 'yes', 'on', '1']);
const FALSE_WORDS = new Set(['false', 'no', 'off', '0']);

function toBool(v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (v === 0 || v === 1) return v === 1;
  if (typeof v === 'string') {
    const w = v.trim().toLowerCase();
    if (TRUE_WORDS.has(w)) return true;
    if (FALSE_WORDS.has(w)) return false;
  }
  throw new ValueError(`expected a boolean (true/false, yes/no, on/off, 1/0), got ${describeValue(v)}`);
}

const INT_RE = new RegExp(String.raw`^[+-]?${DIGITS}$`);

function toInt(v: unknown): number {
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) return v;
    if (Number.isInteger(v)) throw new ValueError(`${v} is too large for an integer`);
  } else if (typeof v === 'string' && INT_RE.test(v.trim())) {
    const n = BigInt(v.trim().replaceAll('_', ''));
    const limit = BigInt(Number.MAX_SAFE_INTEGER);
    if (n > limit || n < -limit) throw new ValueError(`${describeValue(v)} is too large for an integer`);
    return Number(n);
  }
  throw new ValueError(`expected an integer, got ${describeValue(v)}`);
}

function toSize(v: unknown): number {
  if (typeof v === 'string') return parseSize(v);
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  throw new ValueError(`expected a size like 4MiB (or a whole number of bytes), got ${describeValue(v)}`);
}

function toDuration(v: unknown): number {
  // String(1.25) is "1.25": the JS number takes the same exact decimal path as the text.
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return parseDuration(String(v));
  if (typeof v === 'string') return parseDuration(v);
  throw new ValueError(`expected a duration like 30s, 500ms or 1h30m, got ${describeValue(v)}`);
}

const DOUBLE_RE = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

function toDouble(v: unknown): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && DOUBLE_RE.test(v.trim())) {
    const n = Number(v.trim());
    if (Number.isFinite(n)) return n;
  }
  throw new ValueError(`expected a number, got ${describeValue(v)}`);
}

function toStr(v: unknown): string {
  if (typeof v === 'string') return v;
  throw new ValueError(`expected a string, got ${describeValue(v)}`);
}

/** "a,b\,c" → ["a", "b,c"]: a backslash makes the next character literal. */
export function splitList(text: string): string[] {
  if (text === '') return [];
  const items: string[] = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\' && i + 1 < text.length) cur += text[++i];
    else if (c === ',') { items.push(cur); cur = ''; }
    else cur += c;
  }
  items.push(cur);
  return items;
}

function toStrings(v: unknown): string[] {
  if (typeof v === 'string') return splitList(v);
  if (Array.isArray(v) && v.every((x): x is string => typeof x === 'string')) return [...v];
  throw new ValueError(`expected a list of strings (a,b,c), got ${describeValue(v)}`);
}

const CONVERTERS: Record<PropType, (v: unknown) => PropValue> = {
  bool: toBool,
  int: toInt,
  size: toSize,
  duration: toDuration,
  double: toDouble,
  string: toStr,
  strings: toStrings,
};

/** A number in the property's own unit, for range messages: "8GiB", "1m30s", "22". */
function formatNumber(type: PropType, n: number): string {
  if (type === 'size') return formatSize(n);
  if (type === 'duration') return formatDuration(n);
  return String(n);
}

function checkRange(spec: PropSpec, value: PropValue, label: string): void {
  if (typeof value !== 'number') return;
  const fail = (detail: string): never => {
    throw new PropError(label, spec.name, 'range', `property "${spec.name}": ${detail}`);
  };
  const shown = formatNumber(spec.type, value);
  if (spec.min !== undefined && value < spec.min) {
    fail(`${shown} is below the minimum ${formatNumber(spec.type, spec.min)}`);
  }
  if (spec.max !== undefined && value > spec.max) {
    fail(`${shown} is above the maximum ${formatNumber(spec.type, spec.max)}`);
  }
}

function unknownProperty(info: ElementInfo, key: string, label: string): PropError {
  const names = info.props.map((p) => p.name);
  const guess = closest(key, names);
  const hint = guess !== undefined
    ? `did you mean "${guess}"?`
    : names.length > 0 ? `known: ${names.join(', ')}` : `${info.name} has no properties`;
  return new PropError(label, key, 'unknown', `property "${key}" unknown (${hint})`);
}

/** Convert one value; exported for callers that hold a single spec (e.g. `xfa inspect` checking defaults). */
export function convertProp(spec: PropSpec, raw: unknown, label: string): PropValue {
  let value: PropValue;
  try {
    value = CONVERTERS[spec.type](raw);
  } catch (e) {
    if (!(e instanceof ValueError)) throw e;
    throw new PropError(label, spec.name, 'value', `property "${spec.name}": ${e.message}`);
  }
  checkRange(spec, value, label);
  return value;
}

/**
 * Check `input` against the element's property specs and convert every given value; throws a
 * PropError for the first unknown property, bad value, out-of-range value or missing required
 * property. Keys whose value is `undefined` count as not given, as in an optional JS field.
 * `label` starts every message: the element name, or its instance label.
 */
export function validateProps(
  info: ElementInfo,
  input: Record<string, unknown>,
  label: string,
): Record<string, PropValue> {
  const specs = new Map(info.props.map((p) => [p.name, p]));
  const out: Record<string, PropValue> = {};
  for (const [key, raw] of Object.entries(input)) {
    if (raw === undefined) continue;
    const spec = specs.get(key);
    if (!spec) throw unknownProperty(info, key, label);
    out[key] = convertProp(spec, raw, label);
  }
  for (const spec of info.props) {
    if (spec.required && !Object.hasOwn(out, spec.name)) {
      throw new PropError(label, spec.name, 'missing', `property "${spec.name}" is required`);
    }
  }
  return out;
}
