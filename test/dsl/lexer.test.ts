import { describe, expect, it } from 'vitest';
import { tokenize, type Token } from '../../src/dsl/index.js';

/** Tokens in a line-noise-free form: words as their value, others as the symbol; EOF left out. */
function lex(text: string, vars?: Record<string, string>): string[] {
  return tokenize(text, { vars }).flatMap((t): string[] => {
    if (t.kind === 'eof') return [];
    if (t.kind === 'newline') return ['⏎'];
    return t.kind === 'word' ? [`w:${t.value}`] : [t.value];
  });
}

function word(text: string, vars?: Record<string, string>): Token {
  const words = tokenize(text, { vars }).filter((t) => t.kind === 'word');
  expect(words).toHaveLength(1);
  return words[0];
}

describe('tokenize', () => {
  it('splits elements, key=value and !', () => {
    expect(lex('source-file path=/x ! dest-file path=/y')).toEqual([
      'w:source-file', 'w:path', '=', 'w:/x', '!', 'w:dest-file', 'w:path', '=', 'w:/y',
    ]);
  });

  it('needs no blanks around !', () => {
    expect(lex('a!b')).toEqual(['w:a', '!', 'w:b']);
  });

  it('splits a word at its first = only', () => {
    expect(lex('cmd=a=b')).toEqual(['w:cmd', '=', 'w:a=b']);
    expect(lex('a==b')).toEqual(['w:a', '=', 'w:=b']);
  });

  it('records line, column and raw text of every token', () => {
    const tokens = tokenize('a k="v w"\n  ! b');
    expect(tokens.map((t) => [t.kind, t.raw, t.span.line, t.span.col, t.spaceBefore])).toEqual([
      ['word', 'a', 1, 1, true],
      ['word', 'k', 1, 3, true],
      ['eq', '=', 1, 4, false],
      ['word', '"v w"', 1, 5, false],
      ['newline', '\n', 1, 10, false],
      ['bang', '!', 2, 3, true],
      ['word', 'b', 2, 5, true],
      ['eof', '', 2, 6, false],
    ]);
  });

  it('marks only unquoted, unescaped, unexpanded words plain', () => {
    expect(word('abc').plain).toBe(true);
    expect(word('"abc"').plain).toBe(false);
    expect(word("'abc'").plain).toBe(false);
    expect(word('a\\bc').plain).toBe(false);
    expect(word('${X}', { X: 'abc' }).plain).toBe(false);
  });
});

describe('quoting and escapes', () => {
  it('joins quoted and unquoted pieces into one word, shell style', () => {
    const w = word('/srv/"my dir"/x\'!#\'');
    expect(w.value).toBe('/srv/my dir/x!#');
    expect(w.raw).toBe('/srv/"my dir"/x\'!#\'');
  });

  it('keeps ! and # and = inside quotes', () => {
    expect(lex('"a ! b" \'# c\' "x=y"')).toEqual(['w:a ! b', 'w:# c', 'w:x=y']);
  });

  it('reads the double-quote escapes', () => {
    expect(word('"a\\"b\\\\c\\nd\\te\\$f"').value).toBe('a"b\\c\nd\te$f');
  });

  it('has no escapes in single quotes', () => {
    expect(word("'a\\nb\\'").value).toBe('a\\nb\\');
  });

  it('makes the next character literal after an unquoted backslash', () => {
    expect(lex('a\\!b \\#c \\ d x\\=y')).toEqual(['w:a!b', 'w:#c', 'w: d', 'w:x=y']);
  });

  it('allows newlines inside quotes', () => {
    expect(lex('"a\nb" c')).toEqual(['w:a\nb', 'w:c']);
  });

  it('joins lines with a backslash-newline inside double quotes', () => {
    expect(word('"ab\\\ncd"').value).toBe('abcd');
  });

  it('takes empty quotes as an empty word', () => {
    expect(lex('k=""')).toEqual(['w:k', '=', 'w:']);
    expect(lex("k=''")).toEqual(['w:k', '=', 'w:']);
  });
});

describe('comments', () => {
  it('runs from # to the end of the line, keeping the newline', () => {
    expect(lex('a # comment ! b\nc')).toEqual(['w:a', '⏎', 'w:c']);
    expect(lex('# whole line\na')).toEqual(['⏎', 'w:a']);
  });

  it('starts a comment right after !', () => {
    expect(lex('a !# c\nb')).toEqual(['w:a', '!', '⏎', 'w:b']);
  });

  it('is text inside a word and as the first character of a value', () => {
    expect(lex('a#b k=#1')).toEqual(['w:a#b', 'w:k', '=', 'w:#1']);
  });
});

describe('line continuation', () => {
  it('joins the next line at a trailing backslash', () => {
    expect(lex('a \\\n  b')).toEqual(['w:a', 'w:b']);
  });

  it('allows blanks after the backslash', () => {
    expect(lex('a \\  \t\n  b')).toEqual(['w:a', 'w:b']);
  });

  it('acts as a blank, not a join, directly after a word', () => {
    expect(lex('a\\\nb')).toEqual(['w:a', 'w:b']);
  });

  it('accepts CRLF line ends', () => {
    expect(lex('a\r\nb \\\r\nc')).toEqual(['w:a', '⏎', 'w:b', 'w:c']);
  });

  it('skips a byte-order mark', () => {
    expect(lex('\uFEFFa')).toEqual(['w:a']);
  });
});

describe('variables', () => {
  const vars = { HOST: 'db1', EMPTY: '', SPACED: 'x y', TRICKY: '${HOST}"!' };

  it.each([
    ['${HOST}', 'db1'],
    ['/srv/${HOST}.tar', '/srv/db1.tar'],
    ['"${HOST} ok"', 'db1 ok'],
    ["'${HOST}'", '${HOST}'],
    ['\\${HOST}', '${HOST}'],
    ['"\\${HOST}"', '${HOST}'],
    ['${MISSING:-dflt}', 'dflt'],
    ['${MISSING:-a b!}', 'a b!'],
    ['${MISSING:-}', ''],
    ['${EMPTY:-dflt}', 'dflt'],
    ['${EMPTY}', ''],
    ['${HOST:-dflt}', 'db1'],
    ['${MISSING:-${HOST}', '${HOST'],
  ])('%s expands to %j', (text, value) => {
    expect(word(text, vars).value).toBe(value);
  });

  it('never re-splits or re-expands a value', () => {
    expect(lex('k=${SPACED} ${TRICKY}', vars)).toEqual(['w:k', '=', 'w:x y', 'w:${HOST}"!']);
  });

  it('does not find Object.prototype members as variables', () => {
    expect(() => tokenize('${constructor}', { vars })).toThrow('undefined variable "constructor"');
    expect(word('${toString:-x}', vars).value).toBe('x');
  });

  it('reports an undefined variable at the ${...}', () => {
    expect(() => tokenize('a k=${NOPE}', { vars })).toThrow(/^<pipeline>:1:5: undefined variable "NOPE"/);
  });
});
