/**
 * The pipeline-language lexer. Words are shell-like: a word is a run of unquoted text, 'single
 * quoted' text, "double quoted" text and ${VAR} expansions with no whitespace between them, so
 * `path=/srv/"my dir"/${HOST}.tar` is one key=value. The lexer unquotes and expands; the parser
 * only sees finished values (and their raw text and positions, for errors).
 *
 * Decisions (documented here because the grammar is this file):
 * - Separators: whitespace, `!` and newlines. A `!` or whitespace inside quotes is text; a `\`
 *   makes the next character literal in unquoted text (`\!`, `\ `, `\#`, `\$`).
 * - The first unquoted `=` in a word splits it into key, `=`, value; further `=` belong to the
 *   value (`cmd=a=b` sets cmd to "a=b").
 * - `#` starts a comment to the end of the line when it begins a word; inside a word, or as the
 *   first character of a value (`key=#1`), it is text.
 * - A `\` at the end of a line (trailing blanks allowed) joins the next line as if it were a
 *   space. `\r\n` line ends are accepted.
 * - `${NAME}` expands to the variable's value, `${NAME:-text}` to `text` when NAME is undefined or
 *   empty (shell's `:-`); the default is literal up to the next `}`. Expansion happens in unquoted
 *   and double-quoted text, never in single quotes, and its result is never re-split or
 *   re-expanded. A `$` not followed by `{` is an error (write `\$`), so `$HOME` cannot silently
 *   stay literal.
 * - In double quotes the escapes are `\" \\ \n \t \$` (and `\` newline, a continuation); any
 *   other is an error. Single quotes have no escapes.
 */
import { closest } from '../suggest.js';
import { DslError, LineIndex, type Source, type Span } from './source.js';

export type TokenKind = 'word' | 'eq' | 'bang' | 'newline' | 'eof';

export interface Token {
  readonly kind: TokenKind;
  readonly span: Span;
  /** The source text of the token, with quotes, escapes and `${}` as written. */
  readonly raw: string;
  /** For words: the text after unquoting, unescaping and expansion; otherwise the raw text. */
  readonly value: string;
  /** For words: nothing was quoted, escaped or expanded — the only form element names and keys may take. */
  readonly plain: boolean;
  /** Whitespace, a comment or a continuation separates this token from the one before. */
  readonly spaceBefore: boolean;
}

export interface LexOptions {
  file?: string;
  /** Variables for `${NAME}`; the caller merges `--set K=V` over the environment. */
  vars?: Readonly<Record<string, string>>;
}

const BLANK = new Set([' ', '\t', '\r', '\f', '\v']);
const WORD_END = new Set([' ', '\t', '\r', '\f', '\v', '\n', '!']);
const VAR_NAME_RE = /[A-Za-z_][A-Za-z0-9_]*/y;
const DQ_ESCAPES: ReadonlyMap<string, string> = new Map([
  ['"', '"'], ['\\', '\\'], ['n', '\n'], ['t', '\t'], ['$', '$'],
]);

class Lexer {
  private pos = 0;
  private readonly lines: LineIndex;
  private readonly tokens: Token[] = [];
  private readonly source: Source;
  private readonly vars: Readonly<Record<string, string>>;

  constructor(text: string, opts: LexOptions) {
    this.source = { text, file: opts.file };
    this.lines = new LineIndex(text);
    this.vars = opts.vars ?? {};
    // A byte-order mark from a Windows editor is not part of the pipeline.
    if (text.startsWith('\uFEFF')) this.pos = 1;
  }

  private get text(): string {
    return this.source.text;
  }

  private fail(reason: string, offset: number, end = offset + 1): never {
    throw new DslError(reason, this.lines.span(offset, Math.min(end, this.text.length)), this.source);
  }

  private push(kind: TokenKind, start: number, value: string, plain: boolean, spaceBefore: boolean): void {
    const raw = this.text.slice(start, this.pos);
    this.tokens.push({ kind, span: this.lines.span(start, this.pos), raw, value, plain, spaceBefore });
  }

  /** Length of a `\`-newline continuation at `at` (blanks allowed before the newline), or 0. */
  private continuationAt(at: number): number {
    if (this.text[at] !== '\\') return 0;
    let i = at + 1;
    while (i < this.text.length && BLANK.has(this.text[i])) i++;
    return this.text[i] === '\n' ? i + 1 - at : 0;
  }

  run(): Token[] {
    let space = true;
    // Right after `key=`: the next word is a value, where `=` and a leading `#` are text.
    let valueNext = false;
    while (this.pos < this.text.length) {
      const start = this.pos;
      const c = this.text[start];
      const cont = this.continuationAt(start);
      if (BLANK.has(c) || cont > 0) {
        this.pos += Math.max(1, cont);
        space = true;
        valueNext = false;
      } else if (c === '#' && !valueNext) {
        while (this.pos < this.text.length && this.text[this.pos] !== '\n') this.pos++;
        space = true;
      } else if (c === '\n' || c === '!') {
        this.pos++;
        this.push(c === '\n' ? 'newline' : 'bang', start, c, false, space);
        space = c === '\n';
        valueNext = false;
      } else if (c === '=' && !valueNext) {
        this.pos++;
        this.push('eq', start, c, false, space);
        space = false;
        valueNext = true;
      } else {
        this.word(space, valueNext);
        space = false;
        valueNext = false;
      }
    }
    this.push('eof', this.pos, '', false, space);
    return this.tokens;
  }

  /** One word; `isValue` (right after `key=`) makes `=` ordinary text. */
  private word(spaceBefore: boolean, isValue: boolean): void {
    const start = this.pos;
    let value = '';
    let plain = true;
    while (this.pos < this.text.length) {
      const c = this.text[this.pos];
      if (WORD_END.has(c) || this.continuationAt(this.pos) > 0) break;
      if (c === '=' && !isValue) break;
      if (c === "'") value += this.singleQuoted();
      else if (c === '"') value += this.doubleQuoted();
      else if (c === '$') value += this.variable();
      else if (c === '\\') value += this.escapedChar();
      else {
        value += c;
        this.pos++;
        continue;
      }
      plain = false;
    }
    this.push('word', start, value, plain, spaceBefore);
  }

  private escapedChar(): string {
    if (this.pos + 1 >= this.text.length) this.fail('"\\" at the end of the input escapes nothing', this.pos);
    this.pos += 2;
    return this.text[this.pos - 1];
  }

  private singleQuoted(): string {
    const open = this.pos;
    const close = this.text.indexOf("'", open + 1);
    if (close < 0) this.fail("unterminated ' quote: no closing ' before the end of the input", open);
    this.pos = close + 1;
    return this.text.slice(open + 1, close);
  }

  private doubleQuoted(): string {
    const open = this.pos;
    this.pos++;
    let value = '';
    while (this.pos < this.text.length) {
      const c = this.text[this.pos];
      if (c === '"') {
        this.pos++;
        return value;
      }
      if (c === '$') value += this.variable();
      else if (c === '\\') value += this.doubleQuotedEscape();
      else {
        value += c;
        this.pos++;
      }
    }
    return this.fail('unterminated " quote: no closing " before the end of the input', open);
  }

  private doubleQuotedEscape(): string {
    const cont = this.continuationAt(this.pos);
    if (cont > 0) {
      this.pos += cont;
      return '';
    }
    const next = this.text[this.pos + 1];
    const out = next === undefined ? undefined : DQ_ESCAPES.get(next);
    if (out === undefined) {
      const shown = next === undefined ? '\\' : `\\${next}`;
      this.fail(`unknown escape "${shown}" in double quotes (known: \\" \\\\ \\n \\t \\$)`, this.pos, this.pos + 2);
    }
    this.pos += 2;
    return out;
  }

  /** `${NAME}` or `${NAME:-default}` at `$`, expanded. */
  private variable(): string {
    const start = this.pos;
    if (this.text[start + 1] !== '{') {
      this.fail('"$" must start ${NAME}; write \\$ or use single quotes for a literal $', start);
    }
    VAR_NAME_RE.lastIndex = start + 2;
    const name = VAR_NAME_RE.exec(this.text)?.[0] ?? '';
    let at = start + 2 + name.length;
    if (name === '') this.fail('expected a variable name after "${"', start, at + 1);
    let fallback: string | undefined;
    if (this.text.startsWith(':-', at)) {
      const close = this.text.indexOf('}', at + 2);
      const eol = this.text.indexOf('\n', at + 2);
      if (close < 0 || (eol >= 0 && eol < close)) this.fail(`unterminated "\${${name}:-": no closing "}" on this line`, start, at + 2);
      fallback = this.text.slice(at + 2, close);
      at = close;
    }
    if (this.text[at] !== '}') this.fail(`expected "}" or ":-default" after "\${${name}"`, start, at + 1);
    this.pos = at + 1;
    return this.expand(name, fallback, start);
  }

  private expand(name: string, fallback: string | undefined, start: number): string {
    // hasOwn: a variable named "constructor" must not find Object.prototype.constructor.
    const value = Object.hasOwn(this.vars, name) ? this.vars[name] : undefined;
    if (fallback !== undefined && (value === undefined || value === '')) return fallback;
    if (value !== undefined) return value;
    const guess = closest(name, Object.keys(this.vars));
    const hint = guess !== undefined
      ? `did you mean "${guess}"?`
      : `set it with --set ${name}=... or write \${${name}:-default}`;
    return this.fail(`undefined variable "${name}" (${hint})`, start, this.pos);
  }
}

/** Split pipeline text into tokens, expanding `${}` variables; throws DslError. */
export function tokenize(text: string, opts: LexOptions = {}): Token[] {
  return new Lexer(text, opts).run();
}
