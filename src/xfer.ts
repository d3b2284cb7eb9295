/**
 * Xfer: a transfer — one chain of elements, source first — run by the native engine.
 *
 *     const xfer = new Xfer([element('source-file', { path: 'a' }), element('dest-file', { path: 'b' })]);
 *     xfer.on('message', (m) => ...);        // or: for await (const m of xfer.messages())
 *     xfer.start();
 *     const stats = await xfer.done;         // rejects with XferError if the transfer failed
 *
 * Messages arrive on the event loop in batches. `done` settles after the `done` message: it
 * resolves when the transfer completed, and rejects with XferError after an error or a cancel.
 */
import { EventEmitter } from 'node:events';
import type { ErrorMessage, StatsMessage, XferMessage, XferState } from './messages.js';
import { isTsElement, makePort } from './bridge.js';
import { MessageLog } from './message-log.js';
import { native, type NativeMessage, type NativeTransfer } from './native.js';
import type { ElementSpec } from './registry.js';

export interface XferOptions {
  /** Block size for buffer edges (bytes). Default 256 KiB. */
  blockSize?: number;
  /** Minimum interval between `progress` messages, ms; 0 disables them. Default 250. */
  progressMs?: number;
  /** Cancels the transfer when aborted. */
  signal?: AbortSignal;
  /** Testing: put a glue element between every two neighbours, even where none is needed. */
  forceGlue?: boolean;
  /** Instance names of the elements, in chain order, for messages and errors (default kind#n). */
  names?: readonly string[];
}

export interface ElementStats {
  elt: string;
  bytesIn: number;
  bytesOut: number;
  busy: number;
}

export interface XferResult {
  stats: ElementStats[];
  linkage: string;
}

/** Why a transfer did not complete: the first error (element, operation, errno), or a cancel. */
export class XferError extends Error {
  override name = 'XferError';
  readonly element: string;
  readonly op: string;
  readonly errno: number;
  readonly code?: string;
  readonly cancelled: boolean;

  constructor(first: ErrorMessage | undefined) {
    super(first ? first.message : 'transfer cancelled');
    this.element = first?.elt ?? '';
    this.op = first?.op ?? 'cancel';
    this.errno = first?.errno ?? 0;
    this.code = first?.code;
    this.cancelled = !first;
  }
}


export class Xfer extends EventEmitter {
  readonly done: Promise<XferResult>;
  private readonly handle: NativeTransfer;
  private readonly log = new MessageLog<XferMessage>((m) => m.type === 'done');
  private readonly stats: ElementStats[] = [];
  private firstError: ErrorMessage | undefined;
  private sawCancel = false;
  private finished = false;
  private started = false;
  private resolve!: (r: XferResult) => void;
  private reject!: (e: XferError) => void;

  constructor(elements: readonly ElementSpec[], private readonly options: XferOptions = {}) {
    super();
    this.done = new Promise<XferResult>((res, rej) => {
      this.resolve = res;
      this.reject = rej;
    });
    // A caller that never awaits `done` must not crash the process with an unhandled rejection.
    this.done.catch(() => undefined);
    const specs = elements.map((e, i) => {
      const base = { name: e.name, props: { ...e.props } };
      if (!isTsElement(e.name)) return base;
      const port = makePort(e.name, `${e.name}#${i + 1}`, e.props, (elt, message) => this.localInfo(elt, i, message));
      return { ...base, ...port.spec() };
    });
    this.handle = new native.Transfer(specs, { blockSize: options.blockSize, progressMs: options.progressMs, forceGlue: options.forceGlue, names: options.names ? [...options.names] : undefined },
      (batch) => this.onBatch(batch));
  }

  start(): this {
    if (this.started) throw new Error('xfer: start() called twice');
    this.started = true;
    const { signal } = this.options;
    if (signal) {
      if (signal.aborted) queueMicrotask(() => this.cancel());
      else signal.addEventListener('abort', () => this.cancel(), { once: true });
    }
    this.handle.start();
    return this;
  }

  /** Cancels from any state; never blocks. The transfer still ends with `cancel` then `done`. */
  cancel(): void {
    if (this.started && !this.finished) this.handle.cancel();
  }

  get state(): XferState {
    return this.handle.state() as XferState;
  }

  /** The chosen linkage, e.g. "source-file#1 -READFD-> glue -WRITEFD-> dest-file#2". */
  get linkage(): string {
    return this.handle.linkage();
  }

  /** What an element kept for the caller (dest-buffer's bytes), after `done`. */
  result(index: number): Buffer | undefined {
    return this.handle.result(index);
  }

  /** Every message so far and then each new one, until `done` (inclusive). */
  messages(): AsyncGenerator<XferMessage> {
    return this.log.read();
  }


  /** An `info` from a TypeScript element, delivered like the engine's own messages. */
  private localInfo(elt: string, index: number, message: string): void {
    if (!this.finished) this.dispatch({ type: 'info', elt, index, version: 0, message });
  }

  private onBatch(batch: NativeMessage[]): void {
    for (const raw of batch) this.dispatch(raw as unknown as XferMessage);
  }

  private dispatch(m: XferMessage): void {
    if (m.type === 'error' && !this.firstError) this.firstError = m;
    if (m.type === 'cancel') this.sawCancel = true;
    if (m.type === 'stats') this.stats.push(statsOf(m));
    this.log.push(m);
    this.emit('message', m);
    if (m.type === 'done') this.finish();
  }

  private finish(): void {
    this.finished = true;
    this.log.close();
    if (this.firstError || this.sawCancel) this.reject(new XferError(this.firstError));
    else this.resolve({ stats: this.stats, linkage: this.linkage });
  }
}

function statsOf(m: StatsMessage): ElementStats {
  return { elt: m.elt, bytesIn: m.bytesIn, bytesOut: m.bytesOut, busy: m.busy };
}

/** Worker-pool and block-pool counters (for leak checks and monitoring). */
export function engineStats() {
  return native.poolStats();
}
