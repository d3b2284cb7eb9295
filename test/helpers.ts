/**
 * Shared test helpers: run a transfer and collect its messages, and check that a transfer left
 * nothing behind (fds, busy workers, blocks, child processes).
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { expect } from 'vitest';
import type { XferMessage } from '../src/messages.js';
import { element, type ElementSpec } from '../src/registry.js';
import { engineStats, Xfer, XferError, type XferOptions, type XferResult } from '../src/xfer.js';

export { element };

export interface RunOutcome {
  xfer: Xfer;
  messages: XferMessage[];
  result?: XferResult;
  error?: XferError;
}

/** Starts the chain, waits for `done`, returns every message and the outcome. */
export async function run(specs: ElementSpec[], opts: XferOptions & { during?: (x: Xfer) => void } = {}): Promise<RunOutcome> {
  const xfer = new Xfer(specs, opts);
  const messages: XferMessage[] = [];
  xfer.on('message', (m: XferMessage) => messages.push(m));
  xfer.start();
  opts.during?.(xfer);
  try {
    const result = await xfer.done;
    return { xfer, messages, result };
  } catch (e) {
    if (!(e instanceof XferError)) throw e;
    return { xfer, messages, error: e };
  }
}

/** The message types in order, without progress/stats/state noise unless asked. */
export function types(messages: XferMessage[], keep: (m: XferMessage) => boolean = (m) =>
  !['progress', 'stats', 'state', 'linkage', 'info'].includes(m.type)): string[] {
  return messages.filter(keep).map((m) => m.type);
}

export function states(messages: XferMessage[]): string[] {
  return messages.flatMap((m) => (m.type === 'state' ? [m.state] : []));
}

/** Children of this process that are still alive (or zombies). */
export function childPids(): number[] {
  const me = String(process.pid);
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[1] === me) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

export function openFds(): Map<string, string> {
  const m = new Map<string, string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      m.set(fd, readlinkSync(`/proc/self/fd/${fd}`));
    } catch {
      /* closed meanwhile (readdir's own fd) */
    }
  }
  return m;
}

export interface Snapshot {
  fds: Map<string, string>;
  children: number[];
}

export function snapshot(): Snapshot {
  return { fds: openFds(), children: childPids() };
}

/** After `done`: no new fds (pipes, files), no worker busy, no block held, no child left. */
export function expectClean(before: Snapshot): void {
  const after = openFds();
  const leaked = [...after].filter(([fd, target]) => before.fds.get(fd) !== target && !target.startsWith('anon_inode:[eventpoll]'))
    .filter(([, target]) => /^(pipe:|\/|socket:|anon_inode:\[eventfd\])/.test(target));
  expect(leaked, 'leaked fds').toEqual([]);
  const s = engineStats();
  expect(s.busy, 'busy workers').toBe(0);
  expect(s.reserved, 'reserved workers').toBe(0);
  expect(s.blocksOutstanding, 'blocks still referenced').toBe(0);
  const kids = childPids().filter((p) => !before.children.includes(p));
  expect(kids, 'child processes left').toEqual([]);
}

/** run() plus expectClean() around it. */
export async function runClean(specs: ElementSpec[], opts: XferOptions & { during?: (x: Xfer) => void } = {}): Promise<RunOutcome> {
  const before = snapshot();
  const out = await run(specs, opts);
  // Workers return their reservation right after the job that posted `done`.
  await waitFor(() => engineStats().reserved === 0);
  // Buffers handed to TypeScript elements free their blocks in GC finalizers, which Node runs
  // after the collection, on a later turn of the loop.
  for (let i = 0; i < 3 && engineStats().blocksOutstanding > 0; i++) {
    (globalThis as { gc?: () => void }).gc?.();
    await new Promise((r) => setImmediate(r));
  }
  expectClean(before);
  return out;
}

export async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('waitFor: timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** source-random's bytes for `seed` (Amanda's LCG, top byte of each step). */
export function lcg(seed: number, n: number): Buffer {
  const b = Buffer.alloc(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    b[i] = s >>> 24;
  }
  return b;
}
