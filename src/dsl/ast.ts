/**
 * The syntax tree of a pipeline, before element names and properties mean anything.
 *
 * A pipeline is one or more chains, one per logical line. A chain is items joined by `!`; an
 * item is an element (`filter-zstd level=3`) or a reference to a named element (`mux.`).
 * gst-launch's convention gives references their meaning: at the end of a chain (`src ! mux.`)
 * the chain feeds the named element; at the start (`mux. ! sink`) the named element feeds the
 * chain; in the middle it does both. Several chains ending in `mux.` are how a multi-input
 * element gets its inputs.
 */
import type { Source, Span } from './source.js';

export interface PropNode {
  readonly key: string;
  readonly keySpan: Span;
  /** The value as written, quotes and `${}` included. */
  readonly raw: string;
  /** The value after unquoting and expansion: still text; the schema types it at compile time. */
  readonly value: string;
  readonly valueSpan: Span;
}

export interface ElementNode {
  readonly kind: 'element';
  /** The element kind, e.g. "filter-zstd". */
  readonly name: string;
  readonly span: Span;
  /** `name=mux`: the instance name references use. It is not passed on as a property. */
  readonly instance?: { readonly value: string; readonly span: Span };
  readonly props: readonly PropNode[];
}

export interface RefNode {
  readonly kind: 'ref';
  /** "mux" for `mux.`. */
  readonly target: string;
  readonly span: Span;
}

export type ChainItem = ElementNode | RefNode;

export interface ChainNode {
  readonly items: readonly ChainItem[];
  /** The `!` between items[i] and items[i + 1]. */
  readonly links: readonly Span[];
}

export interface PipelineNode {
  readonly chains: readonly ChainNode[];
  /** Kept for error messages raised after parsing (unknown elements, bad values). */
  readonly source: Source;
}
