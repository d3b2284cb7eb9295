/**
 * Shared by the mux/demux tests: a TypeScript reference of the packet format (independent of the
 * C++ one, so the tests check the bytes against the documentation), source-random's bytes, and
 * running a graph with a leak check around it.
 */
import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import { parseGraph } from '../../src/index.js';
import type { GraphMessage, GraphOptions, GraphResult, XferGraph } from '../../src/graph.js';
import { XferError, engineStats } from '../../src/xfer.js';
import { expectClean, snapshot, waitFor } from '../helpers.js';

/** Fletcher-32 exactly as csrc/core/fletcher32.h defines it (16-bit little-endian words). */
export function fletcher32(b: Buffer): number {
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < b.length; i += 2) {
    const w = b[i] | ((i + 1 < b.length ? b[i + 1] : 0) << 8);
    s1 = (s1 + w) % 65535;
    s2 = (s2 + s1) % 65535;
  }
  return ((s2 << 16) | s1) >>> 0;
}

export const EOS = 1;
export const ABORTED = 2;
export const MAP = 4;
export const HEADER = 32;

export interface Packet {
  offset: number;
  flags: number;
  stream: number;
  length: number;
  sequence: number;
  checksum: number;
  payload: Buffer;
}

/** Parses a multiplexed stream by the documented layout, checking magic, version and both checksums. */
export function packets(buf: Buffer): Packet[] {
  const out: Packet[] = [];
  for (let at = 0; at < buf.length;) {
    const h = buf.subarray(at, at + HEADER);
    if (h.length < HEADER) throw new Error(`short header at ${at}`);
    if (h.toString('latin1', 0, 4) !== 'XFAM' || h[4] !== 1) throw new Error(`bad magic/version at ${at}`);
    if (fletcher32(h.subarray(0, 28)) !== h.readUInt32LE(28)) throw new Error(`bad header checksum at ${at}`);
    const p: Packet = {
      offset: at, flags: h[5], stream: h.readUInt32LE(8), length: h.readUInt32LE(12),
      sequence: Number(h.readBigUInt64LE(16)), checksum: h.readUInt32LE(24),
      payload: buf.subarray(at + HEADER, at + HEADER + h.readUInt32LE(12)),
    };
    if (fletcher32(p.payload) !== p.checksum) throw new Error(`bad payload checksum at ${at}`);
    out.push(p);
    at += HEADER + p.length;
  }
  return out;
}

/** The payload bytes of one stream, and how it ended. */
export function streamOf(ps: readonly Packet[], id: number): { data: Buffer; end: 'eos' | 'aborted' | 'open' } {
  const mine = ps.filter((p) => p.stream === id);
  mine.forEach((p, i) => expect(p.sequence).toBe(i));
  const last = mine[mine.length - 1];
  const end = !last ? 'open' : last.flags & EOS ? 'eos' : last.flags & ABORTED ? 'aborted' : 'open';
  return { data: Buffer.concat(mine.map((p) => p.payload)), end };
}

import { lcg as lcgBytes } from '../helpers.js';
export { lcgBytes };

export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

export interface GraphRun {
  graph: XferGraph;
  messages: GraphMessage[];
  result?: GraphResult;
  error?: XferError;
}

/** Runs pipeline text as a graph to its end; with `clean`, checks nothing was left behind. */
export async function runText(text: string, opts: GraphOptions & { clean?: boolean; during?: (g: XferGraph) => void } = {}): Promise<GraphRun> {
  const before = opts.clean ? snapshot() : undefined;
  const graph = parseGraph(text, opts);
  const messages: GraphMessage[] = [];
  graph.on('message', (m: GraphMessage) => messages.push(m));
  graph.start();
  opts.during?.(graph);
  let out: GraphRun;
  try {
    out = { graph, messages, result: await graph.done };
  } catch (e) {
    if (!(e instanceof XferError)) throw e;
    out = { graph, messages, error: e };
  }
  if (before) {
    await waitFor(() => engineStats().reserved === 0);
    expectClean(before);
  }
  return out;
}

/** The errors of a run, as text. */
export const errors = (r: GraphRun): string[] => r.messages.flatMap((m) => (m.type === 'error' ? [m.message] : []));
