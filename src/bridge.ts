/**
 * Elements written in TypeScript, and the bridge that joins them to a C++ chain.
 *
 *     defineElement({
 *       name: 'dest-upper-count', role: 'dest', description: 'Counts upper-case ASCII letters',
 *       props: [], example: 'source-file path=/etc/hosts ! dest-upper-count',
 *       create: () => {
 *         let n = 0;
 *         return {
 *           write(chunk) { for (const b of chunk) if (b >= 65 && b <= 90) n++; },
 *           end(ctx) { ctx.info(`${n} upper-case letters`); },
 *         };
 *       },
 *     });
 *
 * Contract of an implementation (all methods may be async; the bridge awaits each before the
 * next, in stream order):
 * - source: `run(ctx)` produces the stream with `await ctx.push(buf)` (back-pressure: the promise
 *   waits while the engine's queue is full) and resolves at EOF;
 * - filter: `write(chunk, ctx)` may `ctx.push()` output; `end(ctx)` flushes;
 * - dest: `write(chunk, ctx)`; `end(ctx)` finishes (e.g. completes an upload) — the transfer's
 *   `done` comes only after it resolves;
 * - `abort(reason)` (optional): the transfer was cancelled or failed: undo partial work, then
 *   resolve; `ctx.signal` is aborted at the same time.
 * A rejected promise (or a throw) fails the transfer with the error's message; give errors an
 * `op` field ("upload part 3") to say which operation failed. `chunk` is a zero-copy view of the
 * engine's block, valid until write() resolves: then the block goes back to the engine and the
 * chunk becomes empty (detached) — copy it (Buffer.from) to keep the bytes.
 */
import type { ElementInfo, PropSpec, PropValue, Role } from './element-info.js';
import { registry } from './registry.js';

export interface ElementContext {
  /** Instance name, e.g. "dest-s3#3". */
  readonly name: string;
  /** Aborted when the transfer is cancelled or fails. */
  readonly signal: AbortSignal;
  /** Sends bytes downstream (sources and filters); resolves when the engine has room. */
  push(data: Buffer): Promise<void>;
  /** An `info` message from this element. */
  info(message: string): void;
}

export interface ElementImpl {
  run?(ctx: ElementContext): Promise<void> | void;
  write?(chunk: Buffer, ctx: ElementContext): Promise<void> | void;
  end?(ctx: ElementContext): Promise<void> | void;
  abort?(reason: Error): Promise<void> | void;
}

export interface ElementDefinition {
  name: string;
  role: Role;
  description: string;
  longHelp?: string;
  props: PropSpec[];
  example: string;
  /** Blocks in flight between the engine and this element (back-pressure window). Default 4. */
  window?: number;
  create(props: Readonly<Record<string, PropValue>>, ctx: ElementContext): ElementImpl;
}

const definitions = new Map<string, ElementDefinition>();

function pairsOf(role: Role): ElementInfo['pairs'] {
  if (role === 'source') return [{ in: 'NONE', out: 'PULL_BUFFER', copies: 1, allocs: 0, threads: 1 }];
  if (role === 'dest') return [{ in: 'PUSH_BUFFER', out: 'NONE', copies: 0, allocs: 0, threads: 1 }];
  return [{ in: 'PUSH_BUFFER', out: 'PULL_BUFFER', copies: 1, allocs: 0, threads: 1 }];
}

/** Registers a TypeScript element kind: usable from element(), Xfer, the DSL and `xfa inspect`. */
export function defineElement(def: ElementDefinition): void {
  const expected = `${def.role === 'dest' ? 'dest' : def.role}-`;
  if (!def.name.startsWith(expected)) throw new Error(`element "${def.name}": a ${def.role} element's name starts with "${expected}"`);
  registry.add({
    name: def.name, role: def.role, description: def.description, longHelp: def.longHelp ?? def.description,
    props: def.props, pairs: pairsOf(def.role), example: def.example, impl: 'ts',
  });
  definitions.set(def.name, def);
}

export function isTsElement(name: string): boolean {
  return definitions.has(name);
}

/** What the addon calls back (csrc/addon/bridge_port.cc). */
interface NativeHandle {
  /** 1 queued; 0 full (wait for onDrain); -1 the transfer is over or cancelled. */
  write(data: Buffer): number;
  /** Gives block `id` back; the chunk's memory is detached (a kept copy of it becomes empty). */
  release(id: number, chunk: Buffer): void;
  end(): void;
  done(): void;
  error(op: string, message: string): void;
  blockSize: number;
}

const END = Symbol('end');
type Item = { chunk: Buffer; id: number } | typeof END;

/**
 * One TypeScript element in one transfer: receives the engine's events (onStart, onBlock, onEnd,
 * onCancel, onDrain), runs the implementation strictly in order, and reports back through the
 * native handle. Never throws into the addon.
 */
export class BridgePort {
  private handle?: NativeHandle;
  private impl?: ElementImpl;
  private readonly queue: Item[] = [];
  private pumping = false;
  private finished = false;
  private cancelled = false;
  private failed = false;
  private readonly controller = new AbortController();
  private drainWaiters: Array<() => void> = [];
  private readonly ctx: ElementContext;

  constructor(private readonly def: ElementDefinition, private readonly props: Readonly<Record<string, PropValue>>,
    name: string, info: (elt: string, message: string) => void) {
    this.ctx = {
      name,
      signal: this.controller.signal,
      push: (data) => this.push(data),
      info: (message) => info(name, message),
    };
  }

  spec(): { role: Role; window: number; port: BridgePort } {
    return { role: this.def.role, window: this.def.window ?? 4, port: this };
  }

  attach(handle: NativeHandle): void {
    this.handle = handle;
  }

  onStart(): void {
    this.guard('start', () => {
      this.impl = this.def.create(this.props, this.ctx);
      if (this.def.role === 'source') return this.runSource();
    });
  }

  onBlock(chunk: Buffer, id: number): void {
    this.queue.push({ chunk, id });
    void this.pump();
  }

  onEnd(): void {
    this.queue.push(END);
    void this.pump();
  }

  onCancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    const reason = new Error('transfer cancelled');
    this.controller.abort(reason);
    for (const w of this.drainWaiters.splice(0)) w();
    Promise.resolve()
      .then(() => this.impl?.abort?.(reason))
      .catch(() => undefined) // the transfer has already failed or been cancelled
      .finally(() => this.finish());
  }

  onDrain(): void {
    for (const w of this.drainWaiters.splice(0)) w();
  }

  private async push(data: Buffer): Promise<void> {
    if (this.def.role === 'dest') throw new Error(`${this.ctx.name}: a destination cannot push data`);
    while (!this.cancelled && this.handle) {
      const r = this.handle.write(data);
      if (r === 1) return;
      // The engine has stopped: act on it now rather than when its cancel event arrives.
      if (r < 0) return this.onCancel();
      await new Promise<void>((res) => this.drainWaiters.push(res));
    }
  }

  private async runSource(): Promise<void> {
    await this.impl?.run?.(this.ctx);
    if (this.cancelled || this.failed) return;
    this.handle?.end();
    this.finish();
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (let item = this.queue.shift(); item !== undefined && !this.cancelled && !this.failed; item = this.queue.shift()) {
        if (item === END) {
          await this.step('end', () => this.impl?.end?.(this.ctx));
          if (this.cancelled || this.failed) return;
          if (this.def.role === 'filter') this.handle?.end();
          this.finish();
          return;
        }
        const { chunk, id } = item;
        await this.step('write', () => this.impl?.write?.(chunk, this.ctx));
        this.handle?.release(id, chunk);
      }
    } finally {
      this.pumping = false;
    }
  }

  /** Runs one implementation step; a failure fails the transfer (which then cancels us). */
  private async step(op: string, fn: () => unknown): Promise<void> {
    try {
      await fn();
    } catch (e) {
      this.fail(op, e);
    }
  }

  private guard(op: string, fn: () => unknown): void {
    void this.step(op, fn);
  }

  private fail(op: string, e: unknown): void {
    if (this.cancelled || this.failed) return;
    this.failed = true;
    const err = e instanceof Error ? e : new Error(String(e));
    const errOp = (err as { op?: unknown }).op;
    this.handle?.error(typeof errOp === 'string' ? errOp : op, err.message);
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.handle?.done();
  }
}

export function makePort(name: string, instance: string, props: Readonly<Record<string, PropValue>>,
  info: (elt: string, message: string) => void): BridgePort {
  const def = definitions.get(name);
  if (!def) throw new Error(`element "${name}" is not a TypeScript element`);
  return new BridgePort(def, props, instance, info);
}
