/**
 * How many bytes went through a chain, from per-element counters. Elements linked by file
 * descriptors (a process feeding a process, a file read by glue) may count nothing — the kernel
 * moved the data — so the stream's size is taken from the first element that counted it, from
 * the source end (bytes read) or the destination end (bytes written).
 */

export interface Counter {
  /** Position in the chain, 0 = the source. */
  index: number;
  bytesIn: number;
  bytesOut: number;
}

export interface Count<T extends Counter> {
  bytes: number;
  /** The element that counted them. */
  from: T;
  /** The bytes are the source's own stream (its output or the next element's input), not a filter's. */
  sourceStream: boolean;
}

/** The first non-zero count walking from the source: source out, then each next element's in, out. */
export function readCount<T extends Counter>(counters: readonly T[]): Count<T> | undefined {
  const sorted = [...counters].sort((a, b) => a.index - b.index);
  for (const c of sorted) {
    if (c.index > 0 && c.bytesIn > 0) return { bytes: c.bytesIn, from: c, sourceStream: c.index === 1 };
    if (c.bytesOut > 0) return { bytes: c.bytesOut, from: c, sourceStream: c.index === 0 };
  }
  return undefined;
}

/** The first non-zero count walking from the destination: its in, then each previous element's out, in. */
export function writtenCount<T extends Counter>(counters: readonly T[]): Count<T> | undefined {
  const sorted = [...counters].sort((a, b) => b.index - a.index);
  const last = sorted[0]?.index ?? 0;
  for (const c of sorted) {
    if (c.index < last && c.bytesOut > 0) return { bytes: c.bytesOut, from: c, sourceStream: c.index === 0 };
    if (c.index > 0 && c.bytesIn > 0) return { bytes: c.bytesIn, from: c, sourceStream: c.index === 1 };
  }
  return undefined;
}
