// xfa's own worker pool, with a limit of 3 threads for this file (each test file is its own
// process): groups start whole or wait their turn, and a group larger than the pool is an error.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

process.env.XFA_MAX_THREADS = '3';
const { element, run, types, waitFor } = await import('../helpers.js');
const { Xfer, engineStats } = await import('../../src/xfer.js');

// source-random → dest-null through PULL→PUSH glue: exactly one thread.
const oneThread = (seed: number) => [element('source-random', { length: 0, seed }), element('dest-null', { seed })];
// source-test(PUSH) → dest-test(READFD) via glue PUSH→READFD: source thread + dest thread = 2.
const twoThreads = () => [element('source-test', { mech: 'PUSH_BUFFER', length: 0 }), element('dest-test', { mech: 'READFD', length: 0 })];

describe('worker pool', () => {
  it('names its threads xfa-w-N', async () => {
    const x = new Xfer(oneThread(1)).start();
    await waitFor(() => x.state === 'RUNNING' && engineStats().busy === 1);
    const names = readdirSync('/proc/self/task').map((t) => readFileSync(`/proc/self/task/${t}/comm`, 'utf8').trim());
    x.cancel();
    await x.done.catch(() => undefined);
    expect(names).toContain('xfa-w-0');
  });

  it('starts a transfer only when all its threads are free; the rest wait in order', async () => {
    const a = new Xfer(twoThreads()).start();
    const b = new Xfer(twoThreads()).start(); // 2 + 2 > 3: must wait, whole
    await waitFor(() => a.state === 'RUNNING');
    await new Promise((r) => setTimeout(r, 50));
    expect(b.state).toBe('START');
    expect(engineStats()).toMatchObject({ reserved: 2, waiting: 1 });
    const c = new Xfer(oneThread(3)).start(); // would fit, but queues behind b (FIFO, no starvation)
    await new Promise((r) => setTimeout(r, 20));
    expect(c.state).toBe('START');
    a.cancel();
    await waitFor(() => b.state === 'RUNNING' && c.state === 'RUNNING');
    b.cancel();
    c.cancel();
    for (const x of [a, b, c]) await x.done.catch(() => undefined);
    await waitFor(() => engineStats().reserved === 0);
    expect(engineStats().waiting).toBe(0);
  });

  it('a waiting transfer can be cancelled before it ever runs: cancel, then done', async () => {
    const a = new Xfer(twoThreads()).start();
    await waitFor(() => a.state === 'RUNNING');
    const msgs: string[] = [];
    const b = new Xfer(twoThreads());
    b.on('message', (m) => msgs.push(m.type === 'state' ? m.state : m.type));
    b.start();
    await new Promise((r) => setTimeout(r, 20));
    b.cancel();
    await b.done.catch(() => undefined);
    expect(msgs.filter((m) => m !== 'linkage' && m !== 'stats')).toEqual(['START', 'cancel', 'CANCELLING', 'CANCELLED', 'DONE', 'done']);
    a.cancel();
    await a.done.catch(() => undefined);
  });

  it('a transfer needing more threads than the pool has fails clearly', async () => {
    const specs = [element('source-test', { mech: 'PUSH_BUFFER', length: 10 }),
      element('filter-process', { cmd: 'cat' }), element('filter-process', { cmd: 'cat' }),
      element('dest-test', { mech: 'READFD', length: 10 })];
    const { error, messages } = await run(specs);
    expect(error?.message).toMatch(/needs 4 threads but the worker pool has only 3 \(XFA_MAX_THREADS\)/);
    expect(types(messages)).toEqual(['error', 'cancel', 'done']);
  });

  it('runs many small transfers through 3 threads', async () => {
    const outs = await Promise.all(Array.from({ length: 12 }, (_, i) =>
      run([element('source-random', { length: 100_000 + i, seed: i + 1 }), element('dest-null', { seed: i + 1 })])));
    expect(outs.every((o) => o.result)).toBe(true);
    expect(engineStats().threads).toBeLessThanOrEqual(3);
  });
});
