/** The pure parts of the CLI's output: units, clocks, ETA, byte counts, the summary, quoting. */
import { describe, expect, it } from 'vitest';
import { readCount, writtenCount } from '../../src/cli/counts.js';
import { clock, columns, humanBytes, shellQuote, wrap } from '../../src/cli/format.js';
import { eta, ProgressView } from '../../src/cli/progress.js';
import { summaryLine } from '../../src/cli/reporter.js';
import type { ProgressMessage } from '../../src/messages.js';

const progress = (index: number, bytesIn: number, bytesOut: number, rate = 1024): ProgressMessage =>
  ({ type: 'progress', elt: `e#${index + 1}`, index, version: 0, bytesIn, bytesOut, rate });

describe('format', () => {
  it('humanBytes uses bytes below 1 KiB and one decimal above', () => {
    expect([0, 1023, 1024, 1536, 300 * 2 ** 20, 2 ** 40].map(humanBytes)).toEqual(['0 B', '1023 B', '1.0 KiB', '1.5 KiB', '300.0 MiB', '1.0 TiB']);
  });

  it('clock rounds to seconds and adds hours only when needed', () => {
    expect([0, 7_400, 750_000, 3_723_000].map(clock)).toEqual(['0:00', '0:07', '12:30', '1:02:03']);
  });

  it('eta extrapolates the average rate, and is unknown before any byte', () => {
    expect(eta(0, 100, 1000)).toBe('--:--');
    expect(eta(25, 100, 10_000)).toBe('0:30');
    expect(eta(100, 100, 10_000)).toBe('0:00');
  });

  it('shellQuote leaves safe words alone and single-quotes the rest', () => {
    expect(shellQuote('a/b-c.d=1')).toBe('a/b-c.d=1');
    expect(shellQuote('a ! b')).toBe("'a ! b'");
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  });

  it('wrap keeps lines within the width, and columns align', () => {
    const lines = wrap('aaa bbb ccc ddd eee', 10, '  ');
    expect(lines).toEqual(['  aaa bbb', '  ccc ddd', '  eee']);
    expect(columns([['a', 'bb', 'x'], ['ccc', 'd', 'y']])).toEqual(['a    bb  x', 'ccc  d   y']);
  });
});

describe('byte counts', () => {
  it('reads from the source end and writes from the destination end, skipping elements that counted nothing', () => {
    const chain = [{ index: 0, bytesIn: 0, bytesOut: 0 }, { index: 1, bytesIn: 500, bytesOut: 100 }, { index: 2, bytesIn: 0, bytesOut: 0 }];
    expect(readCount(chain)).toMatchObject({ bytes: 500, sourceStream: true });
    expect(writtenCount(chain)).toMatchObject({ bytes: 100 });
    expect(readCount(chain.map((c) => ({ ...c, bytesIn: 0, bytesOut: 0 })))).toBeUndefined();
  });

  it('a count taken after a filter is not the source stream', () => {
    expect(readCount([{ index: 0, bytesIn: 0, bytesOut: 0 }, { index: 1, bytesIn: 0, bytesOut: 0 }, { index: 2, bytesIn: 9, bytesOut: 0 }]))
      .toMatchObject({ bytes: 9, sourceStream: false });
  });
});

describe('summaryLine', () => {
  const stat = (elt: string, bytesIn: number, bytesOut: number) => ({ elt, bytesIn, bytesOut, busy: 0 });

  it('gives bytes, time and rate, and both ends when a filter changed the size', () => {
    expect(summaryLine([stat('a', 0, 2 ** 20), stat('b', 2 ** 20, 0)], 500)).toBe('xfa: done: 1.0 MiB in 0.500 s (2.0 MiB/s)');
    expect(summaryLine([stat('a', 0, 4096), stat('z', 4096, 1024), stat('d', 1024, 0)], 2000))
      .toBe('xfa: done: read 4.0 KiB, wrote 1.0 KiB in 2.00 s (2.0 KiB/s)');
  });

  it('does not claim 0 bytes when processes moved the data out of sight', () => {
    expect(summaryLine([stat('a', 0, 0), stat('b', 0, 0)], 12_000)).toBe('xfa: done in 12.0 s (no bytes counted)');
  });
});

describe('ProgressView', () => {
  it('shows size, percentage and ETA when the total is known', () => {
    const v = new ProgressView(4 * 2 ** 30, false);
    v.update(progress(0, 0, 2 ** 30, 2 ** 20));
    v.update(progress(1, 2 ** 30, 0, 2 ** 20));
    expect(v.lines(10_000)).toEqual(['1.0 GiB / 4.0 GiB  25%  1.0 MiB/s  ETA 0:30']);
  });

  it('shows bytes, rate and elapsed time without a total, or when only a filter counted', () => {
    const v = new ProgressView(undefined, false);
    v.update(progress(0, 0, 2048));
    expect(v.mainLine(65_000)).toBe('2.0 KiB  1.0 KiB/s  1:05');
    const filtered = new ProgressView(1000, false);
    filtered.update(progress(2, 50, 0));
    expect(filtered.mainLine(1000)).toBe('50 B  1.0 KiB/s  0:01');
  });

  it('adds one aligned line per element in verbose mode', () => {
    const v = new ProgressView(undefined, true);
    v.update(progress(1, 2048, 1024));
    v.update(progress(0, 0, 2048));
    expect(v.lines(1000).slice(1)).toEqual(['  e#1  in 0 B      out 2.0 KiB  1.0 KiB/s', '  e#2  in 2.0 KiB  out 1.0 KiB  1.0 KiB/s']);
  });
});
