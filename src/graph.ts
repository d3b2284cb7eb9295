/**
 * XferGraph: several transfers run as one pipeline — the way mux and demux run (DESIGN.md §5).
 *
 *     const g = parseGraph(`
 *       source-process cmd="tar -cf - -C /home ." ! m.
 *       source-process cmd="tar -cf - -C /etc ."  ! m.
 *       mux name=m map=db1:/home:0:tar,db1:/etc:0:tar ! dest-file path=/backup/db1.mux`);
 *     g.on('message', (m) => ...);   // every chain's messages, each tagged with `chain`
 *     const r = await g.start().done; // r.failed lists the branches that failed
 *
 * The planner (src/dsl/graph.ts) cuts the pipeline at every mux and demux into linear chains;
 * each runs as its own native Transfer, joined to the others through a channel
 * (csrc/core/mux_channel.h). A chain holding a mux or demux is a *trunk*; the others are
 * *branches*, and each branch is its own failure domain:
 *   - a mux input that fails ends its stream ABORTED; the other streams and the multiplexed file
 *     are kept;
 *   - a demux output that fails stops taking its stream; the others go on;
 *   - a trunk that fails makes every branch still joined to it fail, with the reason.
 * `done` resolves once every transfer is done, when every trunk succeeded — `failed` then lists
 * the branches that did not (an empty list is a complete success); it rejects with an
 * XferGraphError (an XferError: the first trunk error) when a trunk failed or the graph was
 * cancelled. `cancel()` (or the signal) cancels the channels, then every transfer (downstream first), so
 * each ends `cancelled` rather than failing on a neighbour's cancel, and nothing still running
 * is committed (a demux output chain that had already finished keeps what it wrote).
 *
 * Threads: every transfer asks the worker pool for all of its threads at once (worker_pool.h),
 * trunks first. The chains of a graph depend on each other, so the pool must be able to hold all
 * of them together: a graph needing more threads than XFA_MAX_THREADS (default 64; a mux input
 * usually takes one) would wait for ever, so the constructor refuses it with an error saying so.
 *
 * Messages: each transfer's messages, in its own order, with `chain` (the index in `chains`);
 * per-stream progress comes as `stream` messages from the mux or demux, the stream map as
 * `stream-map` (for the catalog: it says which host/disk/level each stream id holds). Instead of
 * each transfer's `done` the graph emits a `chain-done` {chain, role, ok, error?}, and one last
 * `done` (chain -1) after every transfer is done.
 */
import { EventEmitter } from 'node:events';
import type { ErrorMessage, XferMessage } from './messages.js';
import { isTsElement } from './bridge.js';
import { MessageLog } from './message-log.js';
import { native, type NativeChannel } from './native.js';
import type { ElementSpec } from './registry.js';
import { Xfer, XferError, type ElementStats, type XferOptions, type XferResult } from './xfer.js';
import { planGraph, type GraphEdge, type GraphNode, type GraphPlan, type PlannedChain } from './dsl/graph.js';

export interface GraphOptions extends XferOptions {
  /** Blocks each mux input / demux output may queue in its channel. Default 4. */
  queueBlocks?: number;
}

/** A message of one chain of the graph. */
export type ChainMessage = XferMessage & { chain: number };
export interface ChainDoneMessage {
  type: 'chain-done';
  elt: '';
  index: -1;
  version: 0;
  chain: number;
  role: 'trunk' | 'branch';
  ok: boolean;
  /** The chain's first error, or "cancelled". */
  error?: string;
}
export type GraphMessage = ChainMessage | ChainDoneMessage;

export interface ChainOutcome {
  chain: number;
  role: 'trunk' | 'branch';
  /** The element labels, in chain order. */
  labels: string[];
  ok: boolean;
  result?: XferResult;
  error?: XferError;
}

export interface GraphResult {
  /** Every element's statistics, chain by chain. */
  stats: ElementStats[];
  chains: ChainOutcome[];
  /** The chains that failed (branches only: a failed trunk rejects `done`). */
  failed: ChainOutcome[];
}

/** A trunk failed, or the graph was cancelled. */
export class XferGraphError extends XferError {
  override name = 'XferGraphError';
  constructor(first: ErrorMessage | undefined, readonly chains: ChainOutcome[]) {
    super(first);
  }
}


export class XferGraph extends EventEmitter {
  readonly done: Promise<GraphResult>;
  readonly plan: GraphPlan;
  private readonly channels: NativeChannel[];
  private readonly xfers: Xfer[] = [];
  private readonly outcomes: (ChainOutcome | undefined)[];
  private readonly log = new MessageLog<GraphMessage>((m) => m.type === 'done' && m.chain === -1);
  private readonly firstErrors: (ErrorMessage | undefined)[];
  private started = false;
  private finished = false;
  private cancelled = false;
  private resolve!: (r: GraphResult) => void;
  private reject!: (e: XferGraphError) => void;

  constructor(plan: GraphPlan, private readonly options: GraphOptions = {}) {
    super();
    this.plan = plan;
    this.done = new Promise<GraphResult>((res, rej) => {
      this.resolve = res;
      this.reject = rej;
    });
    this.done.catch(() => undefined);
    this.outcomes = plan.chains.map(() => undefined);
    this.firstErrors = plan.chains.map(() => undefined);
    checkThreads(plan, options);
    this.channels = plan.channels.map((c) => new native.Channel(c.kind, c.size, options.queueBlocks));
    try {
      plan.chains.forEach((chain, c) => this.xfers.push(this.makeXfer(chain, c)));
    } catch (e) {
      // Elements already built hold channels; let them all go before reporting.
      for (const ch of this.channels) ch.endpointDone(-1);
      throw e;
    }
  }

  /** The planned chains: role and element labels. */
  get chains(): Array<{ role: 'trunk' | 'branch'; labels: string[] }> {
    return this.plan.chains.map((c) => ({ role: c.role, labels: c.elements.map((e) => e.label) }));
  }

  /** The linkage of each chain. */
  get linkage(): string[] {
    return this.xfers.map((x) => x.linkage);
  }

  start(): this {
    if (this.started) throw new Error('xfer graph: start() called twice');
    this.started = true;
    const { signal } = this.options;
    if (signal) {
      if (signal.aborted) queueMicrotask(() => this.cancel());
      else signal.addEventListener('abort', () => this.cancel(), { once: true });
    }
    // Trunks first: they get their worker threads before any branch can queue data for them.
    this.plan.chains.forEach((c, i) => c.role === 'trunk' && this.xfers[i].start());
    this.plan.chains.forEach((c, i) => c.role === 'branch' && this.xfers[i].start());
    return this;
  }

  /** Cancels every transfer (branches first); never blocks. */
  cancel(): void {
    if (!this.started || this.finished) return;
    this.cancelled = true;
    // The channels first: from then on an element that finds its neighbour gone cancels its own
    // transfer rather than failing, and no mux can end all its streams and commit.
    for (const ch of this.channels) ch.markCancelled();
    for (const ch of this.channels) ch.cancel();
    // Downstream first: a demux output cancelled after a mux input could first see that input's
    // stream end ABORTED and fail; a mux input cancelled after its mux would fail on "mux gone".
    const order = (c: PlannedChain): number => (c.role === 'trunk' ? 2 : c.elements[0]?.name === 'demux-output' ? 0 : 1);
    for (const rank of [0, 1, 2]) this.plan.chains.forEach((c, i) => order(c) === rank && this.xfers[i].cancel());
  }

  /** What an element kept (dest-buffer's bytes), by its label, after `done`. */
  result(label: string): Buffer | undefined {
    for (const [c, chain] of this.plan.chains.entries()) {
      const i = chain.elements.findIndex((e) => e.label === label);
      if (i >= 0) return this.xfers[c].result(i);
    }
    return undefined;
  }

  /** Every message so far and then each new one, until the graph's `done` (inclusive). */
  messages(): AsyncGenerator<GraphMessage> {
    return this.log.read();
  }


  private makeXfer(chain: PlannedChain, c: number): Xfer {
    const specs = chainSpecs(chain, this.channels);
    const xfer = new Xfer(specs, { ...this.options, signal: undefined, names: chain.elements.map((e) => e.label) });
    xfer.on('message', (m: XferMessage) => this.onMessage(c, m));
    return xfer;
  }

  private onMessage(c: number, m: XferMessage): void {
    if (m.type === 'error' && !this.firstErrors[c]) this.firstErrors[c] = m;
    if (m.type !== 'done') return this.dispatch({ ...m, chain: c });
    void this.xfers[c].done.then(
      (result) => this.chainDone(c, { ok: true, result }),
      (error: XferError) => this.chainDone(c, { ok: false, error }),
    );
  }

  private chainDone(c: number, o: { ok: boolean; result?: XferResult; error?: XferError }): void {
    const chain = this.plan.chains[c];
    // The safety net for elements that never ran (a link or setup failure elsewhere in the chain).
    for (const ep of chain.endpoints) this.channels[ep.channel].endpointDone(ep.endpoint);
    this.outcomes[c] = { chain: c, role: chain.role, labels: chain.elements.map((e) => e.label), ...o };
    const msg: ChainDoneMessage = { type: 'chain-done', elt: '', index: -1, version: 0, chain: c, role: chain.role, ok: o.ok };
    if (!o.ok) msg.error = o.error?.cancelled ? 'cancelled' : o.error?.message;
    this.dispatch(msg);
    if (this.outcomes.every((x) => x !== undefined)) this.finish();
  }

  private dispatch(m: GraphMessage): void {
    this.log.push(m);
    this.emit('message', m);
  }

  private finish(): void {
    const chains = this.outcomes as ChainOutcome[];
    const stats = chains.flatMap((o) => o.result?.stats ?? []);
    const trunkFailed = chains.filter((o) => o.role === 'trunk' && !o.ok);
    this.dispatch({ type: 'done', elt: '', index: -1, version: 0, chain: -1 } as ChainMessage);
    this.finished = true;
    this.log.close();
    if (trunkFailed.length > 0 || this.cancelled) {
      const first = trunkFailed.map((o) => this.firstErrors[o.chain]).find((e) => e !== undefined);
      this.reject(new XferGraphError(this.cancelled ? undefined : first, chains));
      return;
    }
    this.resolve({ stats, chains, failed: chains.filter((o) => !o.ok) });
  }
}

/**
 * A graph from elements and edges, for programs (the pipeline language builds it with
 * parseGraph). `edges` are [from, to] indices into `elements`; labels default to kind#n.
 *
 *     graph([src1, src2, element('mux'), element('dest-file', {path})], [[0, 2], [1, 2], [2, 3]])
 */
/** A planned chain's element specs, its channel elements joined to `channels`. */
function chainSpecs(chain: PlannedChain, channels: readonly NativeChannel[]): ElementSpec[] {
  return chain.elements.map((e) => ({
    name: e.name,
    props: e.channel === undefined ? e.props : { ...e.props, channel: channels[e.channel].id },
  }));
}

/**
 * The chains hold each other: if the pool cannot run all of them at once, the graph would wait
 * for ever. Linked on probe channels of their own (a channel element ends its stream when it
 * goes away, so the real channels are not used for this).
 */
function checkThreads(plan: GraphPlan, options: GraphOptions): void {
  const probe = plan.channels.map((c) => new native.Channel(c.kind, c.size, options.queueBlocks));
  let need = 0;
  try {
    for (const chain of plan.chains) {
      // TypeScript elements cannot be linked without their ports: each takes one thread (a lower
      // bound for the chain, so a graph that fits is never refused).
      const ts = chain.elements.filter((e) => isTsElement(e.name)).length;
      need += ts > 0 ? ts : native.linkPreview(chainSpecs(chain, probe)).cost?.threads ?? 0;
    }
  } finally {
    for (const ch of probe) ch.endpointDone(-1);
  }
  const max = native.poolStats().maxThreads;
  if (need > max) {
    throw new Error(`xfer graph: its ${plan.chains.length} chains need ${need} worker threads at once, the pool has ${max} (XFA_MAX_THREADS): use fewer mux inputs or demux outputs, or raise XFA_MAX_THREADS`);
  }
}

export function graph(elements: readonly (ElementSpec & { label?: string })[], edges: ReadonlyArray<readonly [number, number]>, options: GraphOptions = {}): XferGraph {
  const nodes: GraphNode[] = elements.map((e, i) => ({ name: e.name, label: e.label ?? `${e.name}#${i + 1}`, props: e.props }));
  const list: GraphEdge[] = edges.map(([from, to]) => ({ from, to }));
  return new XferGraph(planGraph(nodes, list), options);
}
