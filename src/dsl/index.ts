/** The pipeline language: `source-file path=/x ! filter-zstd level=3 ! dest-file path=/y`. */
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
