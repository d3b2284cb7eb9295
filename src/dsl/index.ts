/**
 * The pipeline language (`pipelines/*.xfa`, `xfa launch '...'`), gst-launch style:
 *
 *     # nightly: comments run from a word-initial # to the end of the line
 *     source-file path=${SRC}                    # ${VAR}, ${VAR:-default}
 *       ! filter-zstd level=${LEVEL:-19} \
 *           workers=4                           # trailing \ joins the next line
 *       ! dest-file path="/backup/${HOST}.zst"   # a line starting with ! continues the chain
 *
 * - `element key=value ... ! element ...`; no blanks around `=`; values are text until the
 *   element's schema types them (sizes `4MiB`, durations `1h30m`, booleans `yes`: see props.ts).
 * - A chain continues onto the next line when the line ends in `!` or `\`, or the next non-blank,
 *   non-comment line starts with `!`. Otherwise a new line starts a new chain, which must be joined
 *   to the rest by references; a file holds one pipeline.
 * - `name=foo` names an element (it is not a property); `foo.` refers to it: at a chain's end the
 *   chain feeds foo, at its start foo feeds the chain (several chains may feed one element).
 * - Quoting and expansion: see lexer.ts. Errors: DslError, with file:line:col and a caret.
 *
 * `parsePipeline` is the entry point; `tokenize`, `parse` and `compile` are its stages.
 */
export type { ChainItem, ChainNode, ElementNode, PipelineNode, PropNode, RefNode } from './ast.js';
export {
  compile,
  linearChain,
  parsePipeline,
  type CompiledElement,
  type CompiledLink,
  type CompiledPipeline,
  type ElementAddress,
  type PipelineOptions,
} from './compile.js';
export { tokenize, type LexOptions, type Token, type TokenKind } from './lexer.js';
export { parse, type ParseOptions } from './parser.js';
export { DslError, type Source, type SourcePos, type Span } from './source.js';
export {
  DEMUX,
  GraphShapeError,
  MUX,
  graphOf,
  isGraph,
  planGraph,
  type Endpoint,
  type GraphEdge,
  type GraphNode,
  type GraphPlan,
  type PlannedChain,
  type PlannedChannel,
  type PlannedElement,
} from './graph.js';
