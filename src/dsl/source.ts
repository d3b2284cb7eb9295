/**
 * Source text, positions and the one error type of the pipeline language. Every error points at
 * the text that caused it, compiler style, so an operator can fix a pipeline file without
 * reading the grammar.
 */

/** A pipeline's text and where it came from (undefined for `xfa launch '...'`). */
export interface Source {
  readonly text: string;
  readonly file?: string;
}

/** A half-open range [offset, end) of the source, with the 1-based line and column of `offset`. */
export interface Span {
  readonly offset: number;
  readonly end: number;
  readonly line: number;
  readonly col: number;
}

/** Where a compiled element was written, for engine messages that want to point back at it. */
export interface SourcePos {
  readonly file?: string;
  readonly line: number;
  readonly col: number;
}

/** Offsets of line starts, so spans are computed on demand rather than tracked while lexing. */
export class LineIndex {
  private readonly starts: number[] = [0];

  constructor(readonly text: string) {
    for (let i = 0; i < text.length; i++) {
      if (text[i] === '\n') this.starts.push(i + 1);
    }
  }

  /** 0-based line number holding `offset`. */
  lineOf(offset: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  span(offset: number, end: number): Span {
    const line = this.lineOf(offset);
    return { offset, end, line: line + 1, col: offset - this.starts[line] + 1 };
  }

  /** The text of 1-based `line`, without its line ending. */
  lineText(line: number): string {
    const start = this.starts[line - 1] ?? this.text.length;
    const next = this.starts[line];
    const raw = this.text.slice(start, next === undefined ? undefined : next - 1);
    return raw.endsWith('\r') ? raw.slice(0, -1) : raw;
  }
}

const DEFAULT_FILE = '<pipeline>';

/** The caret line: the source's own tabs are kept so the caret lines up in a terminal. */
function caretLine(lineText: string, col: number, length: number): string {
  const pad = lineText.slice(0, col - 1).replace(/[^\t]/g, ' ');
  const width = Math.max(1, Math.min(length, lineText.length - (col - 1)));
  return `${pad}^${'~'.repeat(width - 1)}`;
}

/**
 * A syntax or validation error in a pipeline. `message` is `file:line:col: reason`; `format()`
 * adds the source line and a caret under the offending text.
 */
export class DslError extends Error {
  override name = 'DslError';
  readonly file: string | undefined;
  readonly line: number;
  readonly col: number;
  /** The message without the position. */
  readonly reason: string;
  /** The source line the error is on, for format(). */
  readonly sourceLine: string;
  private readonly length: number;

  constructor(reason: string, span: Span, source: Source, options?: { cause?: unknown }) {
    super(`${source.file ?? DEFAULT_FILE}:${span.line}:${span.col}: ${reason}`, options);
    this.file = source.file;
    this.line = span.line;
    this.col = span.col;
    this.reason = reason;
    this.sourceLine = new LineIndex(source.text).lineText(span.line);
    this.length = span.end - span.offset;
  }

  /** `file:line:col: error: reason`, the source line and a caret, indented by two spaces. */
  format(): string {
    const where = `${this.file ?? DEFAULT_FILE}:${this.line}:${this.col}`;
    return [
      `${where}: error: ${this.reason}`,
      `  ${this.sourceLine}`,
      `  ${caretLine(this.sourceLine, this.col, this.length)}`,
    ].join('\n');
  }
}
