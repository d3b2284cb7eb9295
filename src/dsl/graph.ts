/**
 * From a pipeline graph to the transfers that run it (DESIGN.md §5, multiplexing).
 *
 * The engine runs one linear chain per transfer. A pipeline whose references join several chains
 * runs as a graph of transfers joined by channels (csrc/core/mux_channel.h), cut at every `mux`
 * and `demux`:
 *
 *     source-random seed=1 ! m.          branch  [source-random#1, m.in1]      (mux-input)
 *     source-random seed=2 ! m.          branch  [source-random#2, m.in2]
 *     mux name=m ! dest-file path=x      trunk   [m, dest-file#4]
 *
 *     source-file path=x ! demux name=d  trunk   [source-file#1, d]
 *     d. ! dest-file path=a              branch  [d.out1, dest-file#3]          (demux-output)
 *     d. ! dest-file path=b              branch  [d.out2, dest-file#4]
 *
 * A chain holding a mux or demux is a *trunk*, the others are *branches* (a pipeline without
 * either is a single trunk). Inputs of a mux are numbered 1..N in the order their upstream
 * elements are written; outputs of a demux likewise by their downstream elements. Every other
 * element has at most one input and one output. `mux-input` and `demux-output` are internal
 * elements the planner adds; their labels are MUX.inK and DEMUX.outJ.
 *
 * This module is pure (no engine): `planGraph` works on any node/edge list and throws
 * GraphShapeError naming the node; `graphOf` plans a compiled pipeline and turns those into
 * DslErrors with file:line:col.
 */
import type { PropValue } from '../element-info.js';
import type { CompiledElement, CompiledPipeline } from './compile.js';
import { DslError, type SourcePos, type Span } from './source.js';

/** Element kinds that join chains. */
export const MUX = 'mux';
export const DEMUX = 'demux';

export interface GraphNode {
  name: string;
  label: string;
  props: Readonly<Record<string, PropValue>>;
  /** Where it is written, when it comes from pipeline text. */
  pos?: SourcePos;
}

export interface GraphEdge {
  from: number;
  to: number;
}

/** One element of a planned chain. `channel`/`endpoint` are set for the elements that use one. */
export interface PlannedElement {
  name: string;
  label: string;
  props: Record<string, PropValue>;
  /** The graph node it comes from; -1 for the internal elements the planner added. */
  node: number;
  /** Where it is written; for mux-input and demux-output, where their mux or demux is. */
  pos?: SourcePos;
  /** The channel (index in GraphPlan.channels) a mux, demux, mux-input or demux-output uses. */
  channel?: number;
}

/** A channel endpoint a chain holds: -1 is the trunk's side (mux, demux), k >= 0 stream/slot k. */
export interface Endpoint {
  channel: number;
  endpoint: number;
}

export interface PlannedChain {
  role: 'trunk' | 'branch';
  elements: PlannedElement[];
  endpoints: Endpoint[];
}

export interface PlannedChannel {
  kind: 'mux' | 'demux';
  /** Inputs of a mux, outputs of a demux. */
  size: number;
  /** The mux or demux node. */
  node: number;
  label: string;
}

export interface GraphPlan {
  chains: PlannedChain[];
  channels: PlannedChannel[];
}

/** A graph the engine cannot run; `node` is where to point. */
export class GraphShapeError extends Error {
  override name = 'GraphShapeError';
  constructor(readonly node: number, message: string) {
    super(message);
  }
}

function before(a?: SourcePos, b?: SourcePos): number {
  if (!a || !b) return 0;
  return a.line !== b.line ? a.line - b.line : a.col - b.col;
}

/** Plans the transfers of a graph; throws GraphShapeError. Edges keep their order among equals. */
export function planGraph(nodes: readonly GraphNode[], edges: readonly GraphEdge[]): GraphPlan {
  const ins: number[][] = nodes.map(() => []);
  const outs: number[][] = nodes.map(() => []);
  for (const e of edges) {
    ins[e.to].push(e.from);
    outs[e.from].push(e.to);
  }
  // Inputs in the order the upstream elements are written; outputs by the downstream ones.
  ins.forEach((l) => l.sort((a, b) => before(nodes[a].pos, nodes[b].pos)));
  outs.forEach((l) => l.sort((a, b) => before(nodes[a].pos, nodes[b].pos)));
  const isMux = (i: number): boolean => nodes[i].name === MUX;
  const isDemux = (i: number): boolean => nodes[i].name === DEMUX;

  nodes.forEach((n, i) => {
    if (isMux(i)) {
      if (outs[i].length > 1) throw new GraphShapeError(i, `"mux" has one output (it feeds ${outs[i].length} chains); put a demux after it to split`);
      if (ins[i].length === 0) throw new GraphShapeError(i, '"mux" has no inputs: link chains to it with "src ! NAME."');
    } else if (isDemux(i)) {
      if (ins[i].length > 1) throw new GraphShapeError(i, `"demux" reads one multiplexed stream (it has ${ins[i].length} inputs); put a mux before it to join`);
      if (outs[i].length === 0) throw new GraphShapeError(i, '"demux" has no outputs: start chains with "NAME. ! dest..."');
    } else {
      if (ins[i].length > 1) throw new GraphShapeError(i, `"${n.name}" has ${ins[i].length} inputs; only mux takes several`);
      if (outs[i].length > 1) throw new GraphShapeError(i, `"${n.name}" feeds ${outs[i].length} chains; only demux feeds several`);
    }
  });

  const channels: PlannedChannel[] = [];
  const channelOf = new Map<number, number>();
  nodes.forEach((n, i) => {
    if (!isMux(i) && !isDemux(i)) return;
    channelOf.set(i, channels.length);
    channels.push({ kind: isMux(i) ? 'mux' : 'demux', size: isMux(i) ? ins[i].length : outs[i].length, node: i, label: n.label });
  });

  const chains: PlannedChain[] = [];
  const visited = new Set<number>();
  const plain = (i: number): PlannedElement => ({ name: nodes[i].name, label: nodes[i].label, props: { ...nodes[i].props }, node: i, pos: nodes[i].pos });

  const walk = (prefix: PlannedElement[], endpoints: Endpoint[], first: number, from: number | undefined): void => {
    const chain: PlannedChain = { role: 'branch', elements: prefix, endpoints };
    let cur = first;
    let prev = from;
    for (;;) {
      if (isMux(cur) && chain.elements.length > 0) {
        const ch = channelOf.get(cur)!;
        const k = ins[cur].indexOf(prev!);
        chain.elements.push({ name: 'mux-input', label: `${nodes[cur].label}.in${k + 1}`, props: { stream: k, peer: nodes[cur].label }, node: -1, channel: ch, pos: nodes[cur].pos });
        chain.endpoints.push({ channel: ch, endpoint: k });
        break;
      }
      if (visited.has(cur)) throw new GraphShapeError(cur, `"${nodes[cur].name}" is reached twice`);
      visited.add(cur);
      chain.elements.push(plain(cur));
      if (isMux(cur) || isDemux(cur)) chain.elements[chain.elements.length - 1].channel = channelOf.get(cur);
      if (isMux(cur)) {
        chain.role = 'trunk';
        chain.endpoints.push({ channel: channelOf.get(cur)!, endpoint: -1 });
      }
      if (isDemux(cur)) {
        chain.role = 'trunk';
        chain.endpoints.push({ channel: channelOf.get(cur)!, endpoint: -1 });
        break;
      }
      if (outs[cur].length === 0) break;
      prev = cur;
      cur = outs[cur][0];
    }
    chains.push(chain);
  };

  // Sources first (in node order), then each mux, then each demux output.
  nodes.forEach((_, i) => {
    if (ins[i].length === 0 && !isMux(i)) walk([], [], i, undefined);
  });
  nodes.forEach((_, i) => {
    if (isMux(i)) walk([], [], i, undefined);
  });
  nodes.forEach((n, i) => {
    if (!isDemux(i)) return;
    outs[i].forEach((to, j) => {
      const head: PlannedElement = { name: 'demux-output', label: `${n.label}.out${j + 1}`, props: { slot: j, peer: n.label }, node: -1, channel: channelOf.get(i), pos: n.pos };
      walk([head], [{ channel: channelOf.get(i)!, endpoint: j }], to, i);
    });
  });
  const stray = nodes.findIndex((_, i) => !visited.has(i));
  if (stray >= 0) throw new GraphShapeError(stray, `"${nodes[stray].name}" is on no chain from a source (a loop?)`);

  const joined = channels.length > 0;
  for (const c of chains) if (!joined) c.role = 'trunk';
  // The mux names each input in its stream map by the input chain's first element.
  channels.forEach((ch, c) => {
    if (ch.kind !== 'mux') return;
    const labels = Array.from({ length: ch.size }, (_, k) => {
      const feeding = chains.find((x) => x.endpoints.some((e) => e.channel === c && e.endpoint === k));
      return feeding?.elements[0]?.label ?? '';
    });
    const trunk = chains.find((x) => x.elements.some((e) => e.node === ch.node))!;
    trunk.elements.find((e) => e.node === ch.node)!.props.labels = labels;
  });
  return { chains, channels };
}

function spanAt(pos: SourcePos | undefined, width: number): Span {
  const at = pos ?? { line: 1, col: 1 };
  return { offset: 0, end: Math.max(1, width), line: at.line, col: at.col };
}

/** True when the pipeline needs a graph: several chains, references, or a mux/demux. */
export function isGraph(p: CompiledPipeline): boolean {
  return p.chains.length > 1 || p.links.length > 0 || p.chains.some((c) => c.some((e) => e.name === MUX || e.name === DEMUX));
}

/** Plans a compiled pipeline; a shape the engine cannot run is a DslError at the element. */
export function graphOf(p: CompiledPipeline): GraphPlan {
  const nodes: GraphNode[] = [];
  const index = new Map<CompiledElement, number>();
  const edges: GraphEdge[] = [];
  p.chains.forEach((chain) => {
    chain.forEach((e, i) => {
      index.set(e, nodes.length);
      nodes.push({ name: e.name, label: e.label, props: e.props, pos: e.pos });
      if (i > 0) edges.push({ from: nodes.length - 2, to: nodes.length - 1 });
    });
  });
  for (const l of p.links) edges.push({ from: index.get(p.chains[l.from.chain][l.from.index])!, to: index.get(p.chains[l.to.chain][l.to.index])! });
  try {
    return planGraph(nodes, edges);
  } catch (e) {
    if (!(e instanceof GraphShapeError)) throw e;
    const n = nodes[e.node];
    throw new DslError(e.message, spanAt(n.pos, n.name.length), p.source, { cause: e });
  }
}
