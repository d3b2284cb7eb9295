/**
 * From syntax tree to something the engine can build: element names resolved against the
 * registry, every property converted and checked by its schema, references resolved to links.
 *
 * The result is a graph kept as close to the text as possible: `chains` are the runs of
 * elements written next to each other with `!`, and `links` are the extra edges references add
 * (`src ! mux.` links src's chain to mux). A plain `a ! b ! c` is one chain and no links, which
 * is all the engine runs today; `linearChain` says so clearly when a pipeline is more than that.
 *
 * Checks that need the whole graph are done here too, because only here can they point at the
 * text: a destination feeding something, a source being fed, an element with no input or no
 * output, a loop, and chains that nothing joins (usually a forgotten continuation).
 */
import type { ElementInfo, ElementLookup, PropValue } from '../element-info.js';
import { PropError, validateProps } from '../props.js';
import { closest } from '../suggest.js';
import type { ChainNode, ElementNode, PipelineNode, PropNode, RefNode } from './ast.js';
import { parse } from './parser.js';
import { DslError, type Source, type SourcePos, type Span } from './source.js';

export interface CompiledElement {
  /** The element kind: "filter-zstd". */
  name: string;
  /** The instance name when `name=` gave one, else kind#n with n its 1-based place in the file. */
  label: string;
  instance?: string;
  /** Only the properties written, converted; the engine fills in defaults. */
  props: Record<string, PropValue>;
  pos: SourcePos;
}

export interface ElementAddress {
  chain: number;
  index: number;
}

/** An edge a reference made, from one chain's element to another's. */
export interface CompiledLink {
  from: ElementAddress;
  to: ElementAddress;
  pos: SourcePos;
}

export interface CompiledPipeline {
  chains: CompiledElement[][];
  links: CompiledLink[];
  source: Source;
}

interface Node {
  element: CompiledElement;
  info: ElementInfo;
  addr: ElementAddress;
  span: Span;
}

type Endpoint = { node: number; span: Span } | { ref: RefNode };

interface Edge {
  from: number;
  to: number;
  /** Where the downstream end is written: the element, or the reference standing for it. */
  toSpan: Span;
  /** Written as `a ! b` inside one chain, so the chain itself expresses it. */
  implicit: boolean;
}

function pos(span: Span, source: Source): SourcePos {
  return source.file === undefined ? { line: span.line, col: span.col } : { file: source.file, line: span.line, col: span.col };
}

class Compiler {
  private readonly nodes: Node[] = [];
  private readonly names = new Map<string, number>();
  private readonly pending: Array<{ from: Endpoint; to: Endpoint; bang: Span }> = [];
  private readonly chains: CompiledElement[][] = [];
  private readonly source: Source;

  constructor(private readonly ast: PipelineNode, private readonly lookup: ElementLookup) {
    this.source = ast.source;
  }

  private fail(reason: string, span: Span, cause?: unknown): never {
    throw new DslError(reason, span, this.source, cause === undefined ? undefined : { cause });
  }

  run(): CompiledPipeline {
    this.ast.chains.forEach((chain) => this.chain(chain));
    const edges = this.pending.map((p) => this.resolve(p.from, p.to));
    this.checkEdges(edges);
    this.checkConnected(edges);
    this.checkEnds(edges);
    this.checkLoops(edges);
    const links = edges.filter((e) => !e.implicit).map((e) => ({
      from: this.nodes[e.from].addr,
      to: this.nodes[e.to].addr,
      pos: pos(e.toSpan, this.source),
    }));
    return { chains: this.chains, links, source: this.source };
  }

  private chain(chain: ChainNode): void {
    const only = chain.items[0];
    if (chain.items.length === 1 && only.kind === 'ref') {
      this.fail(`a reference alone does nothing: link it, e.g. "${only.target}. ! dest-file path=..."`, only.span);
    }
    let prev: Endpoint | undefined;
    let run: CompiledElement[] | undefined;
    chain.items.forEach((item, k) => {
      let here: Endpoint;
      if (item.kind === 'ref') {
        here = { ref: item };
        run = undefined;
      } else {
        if (!run) this.chains.push((run = []));
        here = { node: this.element(item, this.chains.length - 1, run.length), span: item.span };
        run.push(this.nodes[here.node].element);
      }
      if (prev) this.pending.push({ from: prev, to: here, bang: chain.links[k - 1] });
      prev = here;
    });
  }

  private element(node: ElementNode, chain: number, index: number): number {
    const info = this.lookup.find(node.name);
    if (!info) {
      const guess = closest(node.name, this.lookup.all().map((e) => e.name));
      const hint = guess !== undefined ? `did you mean "${guess}"?` : '"xfa inspect" lists them';
      this.fail(`unknown element "${node.name}" (${hint})`, node.span);
    }
    const id = this.nodes.length;
    const label = node.instance?.value ?? `${node.name}#${id + 1}`;
    const element: CompiledElement = { name: node.name, label, props: this.props(info, node), pos: pos(node.span, this.source) };
    if (node.instance) {
      this.claimName(node.instance.value, node.instance.span, id);
      element.instance = node.instance.value;
    }
    this.nodes.push({ element, info, addr: { chain, index }, span: node.span });
    return id;
  }

  private claimName(name: string, span: Span, id: number): void {
    const taken = this.names.get(name);
    if (taken !== undefined) {
      const other = this.nodes[taken];
      this.fail(`name "${name}" is already used by ${other.info.name} on line ${other.span.line}`, span);
    }
    this.names.set(name, id);
  }

  private props(info: ElementInfo, node: ElementNode): Record<string, PropValue> {
    // fromEntries, not assignment: a key "__proto__" must stay a key (and be rejected as unknown).
    const input = Object.fromEntries(node.props.map((p) => [p.key, p.value]));
    try {
      return validateProps(info, input, info.name);
    } catch (e) {
      if (!(e instanceof PropError)) throw e;
      this.fail(e.message, this.propErrorSpan(e, node), e);
    }
  }

  private propErrorSpan(e: PropError, node: ElementNode): Span {
    const prop: PropNode | undefined = node.props.find((p) => p.key === e.property);
    if (!prop) return node.span;
    return e.kind === 'unknown' ? prop.keySpan : prop.valueSpan;
  }

  private resolve(from: Endpoint, to: Endpoint): Edge {
    const implicit = 'node' in from && 'node' in to;
    return { from: this.endpoint(from), to: this.endpoint(to), toSpan: 'node' in to ? to.span : to.ref.span, implicit };
  }

  private endpoint(e: Endpoint): number {
    if ('node' in e) return e.node;
    const id = this.names.get(e.ref.target);
    if (id !== undefined) return id;
    const guess = closest(e.ref.target, this.names.keys());
    const hint = guess !== undefined ? `did you mean "${guess}."?` : `give an element name=${e.ref.target}`;
    return this.fail(`no element is named "${e.ref.target}" (${hint})`, e.ref.span);
  }

  private kind(id: number): string {
    return this.nodes[id].info.name;
  }

  private checkEdges(edges: readonly Edge[]): void {
    const seen = new Set<string>();
    for (const e of edges) {
      const key = `${e.from}>${e.to}`;
      if (e.from === e.to) this.fail(`"${this.kind(e.to)}" cannot feed itself`, e.toSpan);
      if (seen.has(key)) this.fail(`"${this.kind(e.from)}" already feeds "${this.kind(e.to)}"`, e.toSpan);
      seen.add(key);
      if (this.nodes[e.from].info.role === 'dest') {
        this.fail(`"${this.kind(e.from)}" is a destination: nothing can follow it`, e.toSpan);
      }
      if (this.nodes[e.to].info.role === 'source') {
        this.fail(`"${this.kind(e.to)}" is a source: it cannot take input (from "${this.kind(e.from)}")`, e.toSpan);
      }
    }
  }

  /** One file, one pipeline: a chain nothing joins is nearly always a line meant to continue the one above. */
  private checkConnected(edges: readonly Edge[]): void {
    const parent = this.nodes.map((_, i) => i);
    // Iterative with path halving: a chain of many thousand elements must not overflow the stack.
    const root = (i: number): number => {
      let r = i;
      while (parent[r] !== r) r = parent[r] = parent[parent[r]];
      return r;
    };
    for (const e of edges) parent[root(e.from)] = root(e.to);
    const stray = this.nodes.findIndex((_, i) => root(i) !== root(0));
    if (stray > 0) {
      this.fail(
        `"${this.kind(stray)}" starts a chain that is not joined to the one above: ` +
          'to continue the line above, end it with "\\" or start this line with "!"',
        this.nodes[stray].span,
      );
    }
  }

  private checkEnds(edges: readonly Edge[]): void {
    const fed = new Set(edges.map((e) => e.to));
    const feeds = new Set(edges.map((e) => e.from));
    this.nodes.forEach((n, i) => {
      if (!fed.has(i) && n.info.role !== 'source') {
        this.fail(`nothing feeds "${n.info.name}" (a ${n.info.role}): a pipeline starts with a source`, n.span);
      }
      if (!feeds.has(i) && n.info.role !== 'dest') {
        this.fail(`"${n.info.name}" (a ${n.info.role}) leads nowhere: a pipeline ends with a destination`, n.span);
      }
    });
  }

  /** Kahn's algorithm: whatever cannot be ordered sits on a loop. */
  private checkLoops(edges: readonly Edge[]): void {
    const indegree = this.nodes.map(() => 0);
    const next: number[][] = this.nodes.map(() => []);
    for (const e of edges) {
      indegree[e.to]++;
      next[e.from].push(e.to);
    }
    const ready = indegree.flatMap((d, i) => (d === 0 ? [i] : []));
    for (let id = ready.pop(); id !== undefined; id = ready.pop()) {
      for (const to of next[id]) {
        if (--indegree[to] === 0) ready.push(to);
      }
    }
    const looped = indegree.findIndex((d) => d > 0);
    if (looped >= 0) {
      this.fail(`"${this.kind(looped)}" is on a loop: its output flows back into it`, this.nodes[looped].span);
    }
  }
}

/** Resolve and validate a parsed pipeline against the element registry; throws DslError. */
export function compile(ast: PipelineNode, lookup: ElementLookup): CompiledPipeline {
  return new Compiler(ast, lookup).run();
}

/**
 * The single chain of a pipeline that has no references, which is what the engine runs today;
 * a DslError at the first reference otherwise.
 */
export function linearChain(p: CompiledPipeline): CompiledElement[] {
  const first = p.links[0];
  if (!first && p.chains.length === 1) return p.chains[0];
  const at = first?.pos ?? p.chains[1]?.[0]?.pos ?? { line: 1, col: 1 };
  // DslError needs only the line, column and width of the caret.
  const span: Span = { offset: 0, end: 1, line: at.line, col: at.col };
  throw new DslError(
    `this pipeline joins ${p.chains.length} chains with references; only a single linear chain can run yet`,
    span,
    p.source,
  );
}

export interface PipelineOptions {
  file?: string;
  vars?: Readonly<Record<string, string>>;
  lookup: ElementLookup;
}

/** Text to a validated pipeline graph: tokenize, parse, compile. Throws DslError only. */
export function parsePipeline(text: string, opts: PipelineOptions): CompiledPipeline {
  return compile(parse(text, { file: opts.file, vars: opts.vars }), opts.lookup);
}
