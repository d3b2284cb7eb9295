import { describe, expect, it } from 'vitest';
import type { ElementInfo } from '../src/element-info.js';
import {
  PropError,
  ValueError,
  formatDuration,
  formatSize,
  parseDuration,
  parseSize,
  splitList,
  validateProps,
} from '../src/props.js';
import { closest, editDistance } from '../src/suggest.js';
import { element, lookup, prop } from './dsl/registry.js';

function info(name: string): ElementInfo {
  const found = lookup.find(name);
  if (!found) throw new Error(`test registry lacks ${name}`);
  return found;
}

/** Every type at once, for conversion tests that should not depend on the real elements. */
const KITCHEN = element('filter-kitchen', 'filter', [
  prop('flag', 'bool'),
  prop('count', 'int'),
  prop('block', 'size'),
  prop('timeout', 'duration'),
  prop('ratio', 'double', { min: 0, max: 1 }),
  prop('label', 'string'),
  prop('args', 'strings'),
]);

function convert(key: string, value: unknown): unknown {
  return validateProps(KITCHEN, { [key]: value }, 'filter-kitchen')[key];
}

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof Error) return e.message;
  }
  return '(no error)';
}

describe('parseSize', () => {
  it.each([
    ['0', 0],
    ['65536', 65536],
    ['1_048_576', 1048576],
    ['100B', 100],
    ['256KiB', 262144],
    ['512k', 524288],
    ['512K', 524288],
    ['1kb', 1000],
    ['4MiB', 4194304],
    ['4M', 4194304],
    ['10MB', 10_000_000],
    ['10mb', 10_000_000],
    ['1G', 1073741824],
    ['1GiB', 1073741824],
    ['1GB', 1_000_000_000],
    ['2TiB', 2199023255552],
    ['1TB', 1e12],
    ['1PiB', 1125899906842624],
    ['1.5KiB', 1536],
    ['0.5M', 524288],
    [' 4 MiB ', 4194304],
  ])('%j is %d bytes', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  it.each([
    ['abc', 'expected a size like 4MiB, got "abc"'],
    ['', 'expected a size like 4MiB, got ""'],
    ['-1', 'expected a size like 4MiB, got "-1"'],
    ['4MiBs', 'expected a size like 4MiB, got "4MiBs"'],
    ['4Mi', 'expected a size like 4MiB, got "4Mi"'],
    ['1e3', 'expected a size like 4MiB, got "1e3"'],
    ['1__0', 'expected a size like 4MiB, got "1__0"'],
    ['.5K', 'expected a size like 4MiB, got ".5K"'],
    ['1.1KiB', '"1.1KiB" is not a whole number of bytes'],
    ['1.5', '"1.5" is not a whole number of bytes'],
    ['8PiB', '"8PiB" is too large for a size'],
  ])('%j is rejected: %s', (text, message) => {
    expect(() => parseSize(text)).toThrow(ValueError);
    expect(messageOf(() => parseSize(text))).toBe(message);
  });

  it('accepts the largest safe integer and nothing above it', () => {
    expect(parseSize(String(Number.MAX_SAFE_INTEGER))).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => parseSize(String(Number.MAX_SAFE_INTEGER + 1))).toThrow('too large');
  });
});

describe('formatSize', () => {
  it.each([
    [0, '0'],
    [1000, '1000'],
    [1536, '1536'],
    [262144, '256KiB'],
    [4194304, '4MiB'],
    [3 * 1024 ** 3, '3GiB'],
    [1024 ** 4, '1TiB'],
    [2 * 1024 ** 5, '2PiB'],
  ])('%d is %s', (bytes, text) => {
    expect(formatSize(bytes)).toBe(text);
  });

  it('round-trips through parseSize', () => {
    for (const n of [0, 1, 511, 512, 1023, 1024, 1025, 65536, 10_000_000, 1024 ** 3 + 1, 7 * 1024 ** 5]) {
      expect(parseSize(formatSize(n))).toBe(n);
    }
  });
});

describe('parseDuration', () => {
  it.each([
    ['30s', 30_000],
    ['500ms', 500],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['2m30s500ms', 150_500],
    ['1d', 86_400_000],
    ['1.5s', 1500],
    ['1_000ms', 1000],
    ['30', 30_000],
    ['0', 0],
    ['0.25', 250],
  ])('%j is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    ['', 'expected a duration like 30s, 500ms or 1h30m, got ""'],
    ['abc', 'expected a duration like 30s, 500ms or 1h30m, got "abc"'],
    ['30x', 'expected a duration like 30s, 500ms or 1h30m, got "30x"'],
    ['-1s', 'expected a duration like 30s, 500ms or 1h30m, got "-1s"'],
    ['1h 30m', 'expected a duration like 30s, 500ms or 1h30m, got "1h 30m"'],
    ['1H', 'expected a duration like 30s, 500ms or 1h30m, got "1H"'],
    ['1h30', 'expected a duration like 30s, 500ms or 1h30m, got "1h30"'],
    ['1.5ms', '"1.5ms" is finer than a millisecond'],
    ['0.0001', '"0.0001" is finer than a millisecond'],
  ])('%j is rejected: %s', (text, message) => {
    expect(messageOf(() => parseDuration(text))).toBe(message);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [500, '500ms'],
    [30_000, '30s'],
    [5_400_000, '1h30m'],
    [150_500, '2m30s500ms'],
    [86_400_000, '1d'],
  ])('%d ms is %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
    expect(parseDuration(text)).toBe(ms);
  });
});

describe('splitList', () => {
  it.each([
    ['', []],
    ['a', ['a']],
    ['a,b,c', ['a', 'b', 'c']],
    ['a, b', ['a', ' b']],
    ['a,,b', ['a', '', 'b']],
    ['a\\,b,c', ['a,b', 'c']],
    ['a\\\\,b', ['a\\', 'b']],
  ])('%j is %j', (text, items) => {
    expect(splitList(text)).toEqual(items);
  });
});

describe('value conversion by type', () => {
  it.each([
    ['flag', 'true', true], ['flag', 'YES', true], ['flag', 'on', true], ['flag', '1', true],
    ['flag', 'false', false], ['flag', 'No', false], ['flag', 'off', false], ['flag', '0', false],
    ['flag', true, true], ['flag', 0, false], ['flag', 1, true],
    ['count', '42', 42], ['count', '-7', -7], ['count', '+7', 7], ['count', '1_000', 1000], ['count', 12, 12],
    ['block', '4MiB', 4194304], ['block', 4096, 4096], ['block', '4096', 4096],
    ['timeout', '30s', 30_000], ['timeout', 30, 30_000], ['timeout', 1.5, 1500], ['timeout', '90', 90_000],
    ['ratio', '0.5', 0.5], ['ratio', '1e-3', 0.001], ['ratio', '.25', 0.25], ['ratio', 1, 1],
    ['label', 'x y', 'x y'], ['label', '', ''],
    ['args', 'a,b', ['a', 'b']], ['args', ['x', 'y'], ['x', 'y']], ['args', '', []],
  ])('%s=%j converts to %j', (key, input, output) => {
    expect(convert(key, input)).toEqual(output);
  });

  it.each([
    ['flag', 'maybe', 'expected a boolean (true/false, yes/no, on/off, 1/0), got "maybe"'],
    ['flag', 2, 'expected a boolean (true/false, yes/no, on/off, 1/0), got 2'],
    ['count', '1.5', 'expected an integer, got "1.5"'],
    ['count', 1.5, 'expected an integer, got 1.5'],
    ['count', '1e3', 'expected an integer, got "1e3"'],
    ['count', '', 'expected an integer, got ""'],
    ['count', true, 'expected an integer, got true'],
    ['count', '9007199254740993', '"9007199254740993" is too large for an integer'],
    ['count', 2 ** 60, '1152921504606847000 is too large for an integer'],
    ['block', -1, 'expected a size like 4MiB (or a whole number of bytes), got -1'],
    ['block', 1.5, 'expected a size like 4MiB (or a whole number of bytes), got 1.5'],
    ['timeout', -1, 'expected a duration like 30s, 500ms or 1h30m, got -1'],
    ['timeout', 0.0001, '"0.0001" is finer than a millisecond'],
    ['ratio', 'NaN', 'expected a number, got "NaN"'],
    ['ratio', Infinity, 'expected a number, got Infinity'],
    ['ratio', '2', '2 is above the maximum 1'],
    ['label', 5, 'expected a string, got 5'],
    ['label', null, 'expected a string, got null'],
    ['args', [1], 'expected a list of strings (a,b,c), got an array'],
    ['args', { a: 1 }, 'expected a list of strings (a,b,c), got an object'],
  ])('%s=%j fails: %s', (key, input, detail) => {
    expect(messageOf(() => convert(key, input))).toBe(`filter-kitchen: property "${key}": ${detail}`);
  });

  it('copies a given array rather than handing the caller\'s array to the engine', () => {
    const args = ['a'];
    const out = validateProps(KITCHEN, { args }, 'k').args;
    expect(out).toEqual(['a']);
    expect(out).not.toBe(args);
  });
});

describe('validateProps', () => {
  it('returns only the given properties, converted; defaults are left to the engine', () => {
    expect(validateProps(info('filter-zstd'), {}, 'filter-zstd')).toEqual({});
    expect(validateProps(info('filter-zstd'), { level: '19' }, 'filter-zstd')).toEqual({ level: 19 });
    expect(validateProps(info('filter-zstd'), { level: undefined, workers: 4 }, 'z')).toEqual({ workers: 4 });
  });

  it.each([
    ['filter-zstd', { levle: 3 }, 'filter-zstd: property "levle" unknown (did you mean "level"?)'],
    ['filter-zstd', { speed: 3 }, 'filter-zstd: property "speed" unknown (known: level, workers)'],
    ['filter-tee', { x: 1 }, 'filter-tee: property "x" unknown (filter-tee has no properties)'],
    ['source-random', { length: 'abc' }, 'source-random: property "length": expected a size like 4MiB, got "abc"'],
    ['source-random', { length: '2TiB' }, 'source-random: property "length": 2TiB is above the maximum 1TiB'],
    ['filter-zstd', { level: 70000 }, 'filter-zstd: property "level": 70000 is above the maximum 22'],
    ['filter-zstd', { level: '0' }, 'filter-zstd: property "level": 0 is below the minimum 1'],
    ['filter-zstd', { workers: -5 }, 'filter-zstd: property "workers": -5 is below the minimum 0'],
    ['filter-process', { cmd: 'gzip', timeout: '500ms' }, 'filter-process: property "timeout": 500ms is below the minimum 1s'],
    ['source-file', {}, 'source-file: property "path" is required'],
    ['source-file', { path: undefined }, 'source-file: property "path" is required'],
  ])('%s %j: %s', (name, input, message) => {
    expect(() => validateProps(info(name), input, name)).toThrow(PropError);
    expect(messageOf(() => validateProps(info(name), input, name))).toBe(message);
  });

  it('reports the first bad property in the order given, before missing ones', () => {
    expect(messageOf(() => validateProps(info('filter-process'), { timeout: 'x', bogus: 1 }, 'p'))).toBe(
      'p: property "timeout": expected a duration like 30s, 500ms or 1h30m, got "x"',
    );
  });

  it('fills PropError fields for callers that point at the property', () => {
    let caught: unknown;
    try {
      validateProps(info('filter-zstd'), { level: 99 }, 'filter-zstd#2');
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(PropError);
    expect(caught).toMatchObject({
      element: 'filter-zstd#2',
      property: 'level',
      kind: 'range',
      detail: 'property "level": 99 is above the maximum 22',
      message: 'filter-zstd#2: property "level": 99 is above the maximum 22',
    });
  });

  it('treats an own "__proto__" key as an unknown property, not as the prototype', () => {
    const input = JSON.parse('{"__proto__": 1}') as Record<string, unknown>;
    expect(messageOf(() => validateProps(info('filter-zstd'), input, 'z'))).toBe(
      'z: property "__proto__" unknown (known: level, workers)',
    );
  });
});

describe('closest', () => {
  const elements = lookup.all().map((e) => e.name);

  it.each([
    ['levle', ['level', 'workers'], 'level'],
    ['dest-fiel', elements, 'dest-file'],
    ['sorce-file', elements, 'source-file'],
    ['filter-zstdd', elements, 'filter-zstd'],
    ['Level', ['level'], 'level'],
    ['seed', ['speed', 'seek'], 'speed'],
    ['seed', ['seek', 'speed'], 'seek'],
    ['xyz', ['level'], undefined],
    ['x', ['y'], undefined],
    ['filter', elements, undefined],
    ['', ['a'], undefined],
  ])('%j among %j is %j', (word, candidates, expected) => {
    expect(closest(word, candidates)).toBe(expected);
  });

  it.each([
    ['', 'abc', 3],
    ['ab', 'ba', 1],
    ['kitten', 'sitting', 3],
    ['levle', 'level', 1],
    ['abc', 'abc', 0],
    ['ca', 'abc', 3],
  ])('editDistance(%j, %j) is %d', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });
});

describe('validateProps on arbitrary input', () => {
  it('returns a value of the right JS type or throws PropError, for 2000 random values', () => {
    const samples: unknown[] = [
      '', ' ', '0', '-0', '1', '1.5', '1e3', 'NaN', 'Infinity', '4MiB', '1h30m', 'yes', 'a,b', '\\', ',',
      '9'.repeat(400), '1'.repeat(30) + 'KiB', '0x10', '١٢', 0, -1, 1.5, 2 ** 53, NaN, Infinity, -Infinity,
      true, false, null, undefined, [], ['a'], [1], {}, 10n, Symbol('s'), () => 1,
    ];
    const expectedType: Record<string, string> = {
      flag: 'boolean', count: 'number', block: 'number', timeout: 'number', ratio: 'number', label: 'string', args: 'object',
    };
    let seed = 12345;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let i = 0; i < 2000; i++) {
      const key = KITCHEN.props[next(KITCHEN.props.length)].name;
      const value = samples[next(samples.length)];
      try {
        const out = validateProps(KITCHEN, { [key]: value }, 'k');
        if (value !== undefined) expect(typeof out[key]).toBe(expectedType[key]);
      } catch (e) {
        expect(e).toBeInstanceOf(PropError);
      }
    }
  });
});
