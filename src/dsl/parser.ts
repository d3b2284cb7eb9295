/**
 * The pipeline-language parser: tokens to a PipelineNode, with no element registry.
 *
 *   pipeline := NL* chain (NL+ chain)* NL*
 *   chain    := item ( NL* "!" NL* item )*
 *   item     := ref | element
 *   ref      := WORD ending in "."           (mux.)
 *   element  := WORD prop*                  (filter-zstd level=3 name=z)
 *   prop     := WORD "=" WORD               (no blanks around "=")
 *
 * A newline ends a chain unless the chain goes on: a line ending in `!` (or `\`) continues on
 * the next line, and so does a line whose first token is `!` — blank and comment lines may sit in
 * between, so a stage can be commented out. A new line that starts with an element starts a new
 * chain, which only makes sense joined to the others by references (see ast.ts).
 *
 * `name` is reserved: `name=x` names the instance for references instead of setting a property.
 */
import type { ChainItem, ChainNode, ElementNode, PipelineNode, PropNode } from './ast.js';
import { tokenize, type LexOptions, type Token } from './lexer.js';
import { DslError, type Source, type Span } from './source.js';

const IDENT_RE = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const ELEMENT_LIKE_RE = /^(source|filter|dest)-[A-Za-z0-9_-]+$/;
const REF_RE = /^([A-Za-z_][A-Za-z0-9_-]*)\.$/;

function shown(t: Token): string {
  if (t.kind === 'newline') return 'the end of the line';
  if (t.kind === 'eof') return 'the end of the input';
  return `"${t.raw}"`;
}

class Parser {
  private i = 0;

  constructor(private readonly tokens: readonly Token[], private readonly source: Source) {}

  private peek(ahead = 0): Token {
    return this.tokens[Math.min(this.i + ahead, this.tokens.length - 1)];
  }

  private next(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.i++;
    return t;
  }

  private fail(reason: string, span: Span): never {
    throw new DslError(reason, span, this.source);
  }

  private skipNewlines(): void {
    while (this.peek().kind === 'newline') this.i++;
  }

  pipeline(): PipelineNode {
    const chains: ChainNode[] = [];
    this.skipNewlines();
    while (this.peek().kind !== 'eof') {
      chains.push(this.chain());
      this.skipNewlines();
    }
    if (chains.length === 0) {
      this.fail('empty pipeline: expected an element, e.g. "source-file path=/x ! dest-file path=/y"', {
        offset: 0, end: 0, line: 1, col: 1,
      });
    }
    return { chains, source: this.source };
  }

  private chain(): ChainNode {
    const items: ChainItem[] = [this.item(undefined)];
    const links: Span[] = [];
    for (;;) {
      const bang = this.continuation();
      if (!bang) break;
      links.push(bang.span);
      this.skipNewlines();
      items.push(this.item(bang));
    }
    return { items, links };
  }

  /** The `!` that continues the current chain, possibly on a later line; the position is kept otherwise. */
  private continuation(): Token | undefined {
    const save = this.i;
    this.skipNewlines();
    if (this.peek().kind === 'bang') return this.next();
    this.i = save;
    return undefined;
  }

  /** An element or a reference; `after` is the `!` before it, for a clearer message when it is missing. */
  private item(after: Token | undefined): ChainItem {
    const t = this.peek();
    if (t.kind === 'eof' && after) this.fail('dangling "!": nothing follows it', after.span);
    if (t.kind === 'bang') {
      this.fail(after ? 'expected an element after "!", got another "!"' : '"!" with no element before it', t.span);
    }
    if (t.kind !== 'word') this.fail(`expected an element name, got ${shown(t)}`, t.span);
    if (!t.plain) this.fail('an element name cannot be quoted, escaped or a ${variable}', t.span);
    const ref = REF_RE.exec(t.raw);
    if (ref) {
      this.next();
      this.noPropsAfterRef(ref[1]);
      return { kind: 'ref', target: ref[1], span: t.span };
    }
    if (this.peek(1).kind === 'eq' && !this.peek(1).spaceBefore) {
      this.fail(`expected an element name, got ${shown(t)}: a property goes on its element's line (or after a trailing "\\")`, t.span);
    }
    if (!IDENT_RE.test(t.raw)) this.fail(`expected an element name, got ${shown(t)}`, t.span);
    this.next();
    return this.element(t);
  }

  private noPropsAfterRef(target: string): void {
    const t = this.peek();
    if (t.kind === 'word' && this.peek(1).kind === 'eq') {
      this.fail(`a reference ("${target}.") takes no properties; set them where name=${target} is defined`, t.span);
    }
    this.expectChainEnd(`${target}.`);
  }

  private element(head: Token): ElementNode {
    const props: PropNode[] = [];
    const byKey = new Map<string, PropNode>();
    let instance: ElementNode['instance'];
    while (this.peek().kind === 'eq' || (this.peek().kind === 'word' && this.peek(1).kind === 'eq')) {
      const prop = this.prop();
      if (prop.key !== 'name') {
        const dup = byKey.get(prop.key);
        if (dup) this.fail(`property "${prop.key}" given twice (first at column ${dup.keySpan.col})`, prop.keySpan);
        byKey.set(prop.key, prop);
        props.push(prop);
      } else if (instance) {
        this.fail(`name given twice (first "${instance.value}")`, prop.keySpan);
      } else if (!IDENT_RE.test(prop.value)) {
        this.fail(`bad element name "${prop.value}": use letters, digits, "_" and "-", starting with a letter or "_"`, prop.valueSpan);
      } else {
        instance = { value: prop.value, span: prop.valueSpan };
      }
    }
    this.expectChainEnd(head.raw);
    return { kind: 'element', name: head.raw, span: head.span, instance, props };
  }

  /** After an item: only `!`, a newline or the end may follow. */
  private expectChainEnd(after: string): void {
    const t = this.peek();
    if (t.kind === 'word') {
      // Element names are role-kind (DESIGN.md §1), which tells a forgotten "!" from a forgotten "=".
      const what = ELEMENT_LIKE_RE.test(t.raw) || REF_RE.test(t.raw)
        ? `missing "!" between "${after}" and "${t.raw}"`
        : `expected key=value or "!" after "${after}", got ${shown(t)}`;
      this.fail(what, t.span);
    }
  }

  /** key=value; called with the key (or a stray "=") at the cursor and "=" after it. */
  private prop(): PropNode {
    const key = this.peek();
    if (key.kind === 'eq') this.fail(`missing property name before "="`, key.span);
    const eq = this.peek(1);
    if (!key.plain) this.fail('a property name cannot be quoted, escaped or a ${variable}', key.span);
    if (!IDENT_RE.test(key.value)) this.fail(`bad property name ${shown(key)}: use letters, digits, "_" and "-"`, key.span);
    if (eq.spaceBefore) this.fail(`no blank allowed before "=": write ${key.raw}=...`, eq.span);
    this.i += 2;
    const value = this.peek();
    if (value.kind !== 'word' || value.spaceBefore) {
      const hint = value.kind === 'word' ? `no blank allowed after "="` : `missing value after "${key.raw}="`;
      this.fail(`${hint} (write ${key.raw}="" for an empty value)`, value.kind === 'word' ? value.span : eq.span);
    }
    this.i++;
    return { key: key.value, keySpan: key.span, raw: value.raw, value: value.value, valueSpan: value.span };
  }
}

export type ParseOptions = LexOptions;

/** Parse pipeline text to its syntax tree, expanding variables; throws DslError. */
export function parse(text: string, opts: ParseOptions = {}): PipelineNode {
  const tokens = tokenize(text, opts);
  return new Parser(tokens, { text, file: opts.file }).pipeline();
}
