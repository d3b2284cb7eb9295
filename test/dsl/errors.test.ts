/**
 * Every error the pipeline language gives, with its exact formatted output: the position, the
 * sentence and the caret are the user interface, so they are golden here.
 */
import { describe, expect, it } from 'vitest';
import { DslError, parsePipeline } from '../../src/dsl/index.js';
import { lookup } from './registry.js';

interface BadCase {
  what: string;
  text: string;
  vars?: Record<string, string>;
  /** Defaults to "p.xfa"; undefined tests the `xfa launch` form. */
  file?: string;
  error: string[];
}

function formatted(c: BadCase): string {
  const file = 'file' in c ? c.file : 'p.xfa';
  try {
    parsePipeline(c.text, { lookup, file, vars: c.vars });
  } catch (e) {
    if (e instanceof DslError) return e.format();
    throw e;
  }
  return '(no error)';
}

const BAD: BadCase[] = [
  {
    what: 'unknown element, with a suggestion',
    text: 'source-file path=/x ! dest-fiel path=/y',
    error: [
      'p.xfa:1:23: error: unknown element "dest-fiel" (did you mean "dest-file"?)',
      '  source-file path=/x ! dest-fiel path=/y',
      '                        ^~~~~~~~~',
    ],
  },
  {
    what: 'unknown element, no close match',
    text: 'source-file path=/x ! frobnicate',
    error: [
      'p.xfa:1:23: error: unknown element "frobnicate" ("xfa inspect" lists them)',
      '  source-file path=/x ! frobnicate',
      '                        ^~~~~~~~~~',
    ],
  },
  {
    what: 'unknown element, no file name',
    text: 'sorce-file path=/x ! dest-null',
    file: undefined,
    error: [
      '<pipeline>:1:1: error: unknown element "sorce-file" (did you mean "source-file"?)',
      '  sorce-file path=/x ! dest-null',
      '  ^~~~~~~~~~',
    ],
  },
  {
    what: 'unknown property',
    text: 'source-random ! filter-zstd levle=3 ! dest-null',
    error: [
      'p.xfa:1:29: error: filter-zstd: property "levle" unknown (did you mean "level"?)',
      '  source-random ! filter-zstd levle=3 ! dest-null',
      '                              ^~~~~',
    ],
  },
  {
    what: 'bad size',
    text: 'source-random length=abc ! dest-null',
    error: [
      'p.xfa:1:22: error: source-random: property "length": expected a size like 4MiB, got "abc"',
      '  source-random length=abc ! dest-null',
      '                       ^~~',
    ],
  },
  {
    what: 'value above the maximum',
    text: 'source-random ! filter-zstd level=70000 ! dest-null',
    error: [
      'p.xfa:1:35: error: filter-zstd: property "level": 70000 is above the maximum 22',
      '  source-random ! filter-zstd level=70000 ! dest-null',
      '                                    ^~~~~',
    ],
  },
  {
    what: 'duration below the minimum, plain number is seconds',
    text: 'source-random ! filter-process cmd=gzip timeout=0.5 ! dest-null',
    error: [
      'p.xfa:1:49: error: filter-process: property "timeout": 500ms is below the minimum 1s',
      '  source-random ! filter-process cmd=gzip timeout=0.5 ! dest-null',
      '                                                  ^~~',
    ],
  },
  {
    what: 'missing required property',
    text: 'source-file ! dest-null',
    error: [
      'p.xfa:1:1: error: source-file: property "path" is required',
      '  source-file ! dest-null',
      '  ^~~~~~~~~~~',
    ],
  },
  {
    what: 'bad value from a variable points at the ${}',
    text: 'source-random length=${LEN} ! dest-null',
    vars: {"LEN":"abc"},
    error: [
      'p.xfa:1:22: error: source-random: property "length": expected a size like 4MiB, got "abc"',
      '  source-random length=${LEN} ! dest-null',
      '                       ^~~~~~',
    ],
  },
  {
    what: 'bad value from a default',
    text: 'source-random length="${LEN:-4Mi}" ! dest-null',
    error: [
      'p.xfa:1:22: error: source-random: property "length": expected a size like 4MiB, got "4Mi"',
      '  source-random length="${LEN:-4Mi}" ! dest-null',
      '                       ^~~~~~~~~~~~~',
    ],
  },
  {
    what: 'unterminated double quote',
    text: 'source-file path="/x ! dest-null',
    error: [
      'p.xfa:1:18: error: unterminated " quote: no closing " before the end of the input',
      '  source-file path="/x ! dest-null',
      '                   ^',
    ],
  },
  {
    what: 'unterminated single quote',
    text: 'source-file path=\'/x ! dest-null',
    error: [
      'p.xfa:1:18: error: unterminated \' quote: no closing \' before the end of the input',
      '  source-file path=\'/x ! dest-null',
      '                   ^',
    ],
  },
  {
    what: 'missing ! between elements',
    text: 'source-random dest-null',
    error: [
      'p.xfa:1:15: error: missing "!" between "source-random" and "dest-null"',
      '  source-random dest-null',
      '                ^~~~~~~~~',
    ],
  },
  {
    what: 'missing ! before a reference',
    text: 'source-random ! filter-zstd ! dest-null mux.',
    error: [
      'p.xfa:1:41: error: missing "!" between "dest-null" and "mux."',
      '  source-random ! filter-zstd ! dest-null mux.',
      '                                          ^~~~',
    ],
  },
  {
    what: 'a word that is neither key=value nor an element',
    text: 'source-file path ! dest-null',
    error: [
      'p.xfa:1:13: error: expected key=value or "!" after "source-file", got "path"',
      '  source-file path ! dest-null',
      '              ^~~~',
    ],
  },
  {
    what: 'a stray word after the last element',
    text: 'source-random ! filter-zstd ! dest-null /tmp/x',
    error: [
      'p.xfa:1:41: error: expected key=value or "!" after "dest-null", got "/tmp/x"',
      '  source-random ! filter-zstd ! dest-null /tmp/x',
      '                                          ^~~~~~',
    ],
  },
  {
    what: 'empty pipeline',
    text: '',
    error: [
      'p.xfa:1:1: error: empty pipeline: expected an element, e.g. "source-file path=/x ! dest-file path=/y"',
      '  ',
      '  ^',
    ],
  },
  {
    what: 'comments only',
    text: '# only a comment\n\n',
    error: [
      'p.xfa:1:1: error: empty pipeline: expected an element, e.g. "source-file path=/x ! dest-file path=/y"',
      '  # only a comment',
      '  ^',
    ],
  },
  {
    what: 'dangling !',
    text: 'source-random !',
    error: [
      'p.xfa:1:15: error: dangling "!": nothing follows it',
      '  source-random !',
      '                ^',
    ],
  },
  {
    what: 'dangling ! before a comment',
    text: 'source-random ! dest-null !\n# end\n',
    error: [
      'p.xfa:1:27: error: dangling "!": nothing follows it',
      '  source-random ! dest-null !',
      '                            ^',
    ],
  },
  {
    what: 'dangling ! on a line of its own',
    text: 'source-random\n! filter-zstd\n!\n\n',
    error: [
      'p.xfa:3:1: error: dangling "!": nothing follows it',
      '  !',
      '  ^',
    ],
  },
  {
    what: '! at the start',
    text: '! dest-null',
    error: [
      'p.xfa:1:1: error: "!" with no element before it',
      '  ! dest-null',
      '  ^',
    ],
  },
  {
    what: 'two ! in a row',
    text: 'source-random ! ! dest-null',
    error: [
      'p.xfa:1:17: error: expected an element after "!", got another "!"',
      '  source-random ! ! dest-null',
      '                  ^',
    ],
  },
  {
    what: 'undefined variable',
    text: 'source-file path=${SRC} ! dest-null',
    error: [
      'p.xfa:1:18: error: undefined variable "SRC" (set it with --set SRC=... or write ${SRC:-default})',
      '  source-file path=${SRC} ! dest-null',
      '                   ^~~~~~',
    ],
  },
  {
    what: 'undefined variable, with a suggestion',
    text: 'source-file path=${SRCDIR} ! dest-null',
    vars: {"SRC_DIR":"/srv"},
    error: [
      'p.xfa:1:18: error: undefined variable "SRCDIR" (did you mean "SRC_DIR"?)',
      '  source-file path=${SRCDIR} ! dest-null',
      '                   ^~~~~~~~~',
    ],
  },
  {
    what: 'unknown escape in double quotes',
    text: 'source-file path="\\q" ! dest-null',
    error: [
      'p.xfa:1:19: error: unknown escape "\\q" in double quotes (known: \\" \\\\ \\n \\t \\$)',
      '  source-file path="\\q" ! dest-null',
      '                    ^~',
    ],
  },
  {
    what: 'bare $',
    text: 'source-file path=$HOME/x ! dest-null',
    error: [
      'p.xfa:1:18: error: "$" must start ${NAME}; write \\$ or use single quotes for a literal $',
      '  source-file path=$HOME/x ! dest-null',
      '                   ^',
    ],
  },
  {
    what: '${ without a name',
    text: 'source-file path=${ ! dest-null',
    error: [
      'p.xfa:1:18: error: expected a variable name after "${"',
      '  source-file path=${ ! dest-null',
      '                   ^~~',
    ],
  },
  {
    what: 'variable name starting with a digit',
    text: 'source-file path=${1x} ! dest-null',
    error: [
      'p.xfa:1:18: error: expected a variable name after "${"',
      '  source-file path=${1x} ! dest-null',
      '                   ^~~',
    ],
  },
  {
    what: 'unterminated ${:-',
    text: 'source-file path=${A:-x ! dest-null\n',
    error: [
      'p.xfa:1:18: error: unterminated "${A:-": no closing "}" on this line',
      '  source-file path=${A:-x ! dest-null',
      '                   ^~~~~',
    ],
  },
  {
    what: '${A-x} is not shell\'s -',
    text: 'source-file path=${A-x} ! dest-null',
    error: [
      'p.xfa:1:18: error: expected "}" or ":-default" after "${A"',
      '  source-file path=${A-x} ! dest-null',
      '                   ^~~~',
    ],
  },
  {
    what: '\\ at the end of the input',
    text: 'source-random ! dest-null \\',
    error: [
      'p.xfa:1:27: error: "\\" at the end of the input escapes nothing',
      '  source-random ! dest-null \\',
      '                            ^',
    ],
  },
  {
    what: 'blank before =',
    text: 'source-random ! filter-zstd level = 3 ! dest-null',
    error: [
      'p.xfa:1:35: error: no blank allowed before "=": write level=...',
      '  source-random ! filter-zstd level = 3 ! dest-null',
      '                                    ^',
    ],
  },
  {
    what: 'blank after =',
    text: 'source-random ! filter-zstd level= 3 ! dest-null',
    error: [
      'p.xfa:1:36: error: no blank allowed after "=" (write level="" for an empty value)',
      '  source-random ! filter-zstd level= 3 ! dest-null',
      '                                     ^',
    ],
  },
  {
    what: '= with no key',
    text: 'source-random ! filter-zstd =3 ! dest-null',
    error: [
      'p.xfa:1:29: error: missing property name before "="',
      '  source-random ! filter-zstd =3 ! dest-null',
      '                              ^',
    ],
  },
  {
    what: 'key= at the end',
    text: 'source-random ! dest-file path=',
    error: [
      'p.xfa:1:31: error: missing value after "path=" (write path="" for an empty value)',
      '  source-random ! dest-file path=',
      '                                ^',
    ],
  },
  {
    what: 'property given twice',
    text: 'source-random ! filter-zstd level=3 level=4 ! dest-null',
    error: [
      'p.xfa:1:37: error: property "level" given twice (first at column 29)',
      '  source-random ! filter-zstd level=3 level=4 ! dest-null',
      '                                      ^~~~~',
    ],
  },
  {
    what: 'bad property name',
    text: 'source-random ! filter-zstd a.b=1 ! dest-null',
    error: [
      'p.xfa:1:29: error: bad property name "a.b": use letters, digits, "_" and "-"',
      '  source-random ! filter-zstd a.b=1 ! dest-null',
      '                              ^~~',
    ],
  },
  {
    what: 'quoted property name',
    text: 'source-random ! filter-zstd "level"=1 ! dest-null',
    error: [
      'p.xfa:1:29: error: a property name cannot be quoted, escaped or a ${variable}',
      '  source-random ! filter-zstd "level"=1 ! dest-null',
      '                              ^~~~~~~',
    ],
  },
  {
    what: 'quoted element name',
    text: '"source-file" path=/x ! dest-null',
    error: [
      'p.xfa:1:1: error: an element name cannot be quoted, escaped or a ${variable}',
      '  "source-file" path=/x ! dest-null',
      '  ^~~~~~~~~~~~~',
    ],
  },
  {
    what: 'property on the next line without a continuation',
    text: 'source-file\n  path=/x ! dest-null',
    error: [
      'p.xfa:2:3: error: expected an element name, got "path": a property goes on its element\'s line (or after a trailing "\\")',
      '    path=/x ! dest-null',
      '    ^~~~',
    ],
  },
  {
    what: 'name given twice',
    text: 'source-random name=a name=b ! dest-null',
    error: [
      'p.xfa:1:22: error: name given twice (first "a")',
      '  source-random name=a name=b ! dest-null',
      '                       ^~~~',
    ],
  },
  {
    what: 'bad instance name',
    text: 'source-random name=1x ! dest-null',
    error: [
      'p.xfa:1:20: error: bad element name "1x": use letters, digits, "_" and "-", starting with a letter or "_"',
      '  source-random name=1x ! dest-null',
      '                     ^~',
    ],
  },
  {
    what: 'instance name used twice',
    text: 'source-random name=a ! filter-mux name=a ! dest-null',
    error: [
      'p.xfa:1:40: error: name "a" is already used by source-random on line 1',
      '  source-random name=a ! filter-mux name=a ! dest-null',
      '                                         ^',
    ],
  },
  {
    what: 'reference with properties',
    text: 'source-random ! filter-mux name=mux ! dest-null\nsource-random ! mux. block=1',
    error: [
      'p.xfa:2:22: error: a reference ("mux.") takes no properties; set them where name=mux is defined',
      '  source-random ! mux. block=1',
      '                       ^~~~~',
    ],
  },
  {
    what: 'reference to nothing',
    text: 'source-random ! mux.',
    error: [
      'p.xfa:1:17: error: no element is named "mux" (give an element name=mux)',
      '  source-random ! mux.',
      '                  ^~~~',
    ],
  },
  {
    what: 'reference typo',
    text: 'source-random ! filter-mux name=mux ! dest-null\nsource-random ! muxx.',
    error: [
      'p.xfa:2:17: error: no element is named "muxx" (did you mean "mux."?)',
      '  source-random ! muxx.',
      '                  ^~~~~',
    ],
  },
  {
    what: 'reference alone',
    text: 'source-random ! filter-mux name=mux ! dest-null\nmux.',
    error: [
      'p.xfa:2:1: error: a reference alone does nothing: link it, e.g. "mux. ! dest-file path=..."',
      '  mux.',
      '  ^~~~',
    ],
  },
  {
    what: 'something after a destination',
    text: 'source-random ! dest-null ! filter-zstd',
    error: [
      'p.xfa:1:29: error: "dest-null" is a destination: nothing can follow it',
      '  source-random ! dest-null ! filter-zstd',
      '                              ^~~~~~~~~~~',
    ],
  },
  {
    what: 'a source fed',
    text: 'source-random ! source-file path=/x ! dest-null',
    error: [
      'p.xfa:1:17: error: "source-file" is a source: it cannot take input (from "source-random")',
      '  source-random ! source-file path=/x ! dest-null',
      '                  ^~~~~~~~~~~',
    ],
  },
  {
    what: 'no source',
    text: 'filter-zstd ! dest-null',
    error: [
      'p.xfa:1:1: error: nothing feeds "filter-zstd" (a filter): a pipeline starts with a source',
      '  filter-zstd ! dest-null',
      '  ^~~~~~~~~~~',
    ],
  },
  {
    what: 'no destination',
    text: 'source-random ! filter-zstd',
    error: [
      'p.xfa:1:17: error: "filter-zstd" (a filter) leads nowhere: a pipeline ends with a destination',
      '  source-random ! filter-zstd',
      '                  ^~~~~~~~~~~',
    ],
  },
  {
    what: 'a new line without continuation',
    text: 'source-random\n  ! filter-zstd\ndest-null',
    file: 'pipelines/backup.xfa',
    error: [
      'pipelines/backup.xfa:3:1: error: "dest-null" starts a chain that is not joined to the one above: to continue the line above, end it with "\\" or start this line with "!"',
      '  dest-null',
      '  ^~~~~~~~~',
    ],
  },
  {
    what: 'a loop',
    text: 'source-random ! filter-mux name=m ! filter-zstd name=z ! dest-null\nz. ! m.',
    error: [
      'p.xfa:1:17: error: "filter-mux" is on a loop: its output flows back into it',
      '  source-random ! filter-mux name=m ! filter-zstd name=z ! dest-null',
      '                  ^~~~~~~~~~',
    ],
  },
  {
    what: 'the same link twice',
    text: 'source-random name=r ! filter-mux name=m ! dest-null\nr. ! m.',
    error: [
      'p.xfa:2:6: error: "source-random" already feeds "filter-mux"',
      '  r. ! m.',
      '       ^~',
    ],
  },
  {
    what: 'an element feeding itself',
    text: 'source-random ! filter-zstd name=z ! dest-null\nz. ! z.',
    error: [
      'p.xfa:2:6: error: "filter-zstd" cannot feed itself',
      '  z. ! z.',
      '       ^~',
    ],
  },
  {
    what: 'tabs keep the caret aligned',
    text: '\tsource-random\t! filter-zstd\tlevle=1 ! dest-null',
    error: [
      'p.xfa:1:30: error: filter-zstd: property "levle" unknown (did you mean "level"?)',
      '  \tsource-random\t! filter-zstd\tlevle=1 ! dest-null',
      '  \t             \t             \t^~~~~',
    ],
  },
  {
    what: 'CRLF line ends, error on line 3',
    text: '# backup\r\nsource-random length=1MiB \\\r\n  ! filter-zstd level=0 \\\r\n  ! dest-null\r\n',
    error: [
      'p.xfa:3:23: error: filter-zstd: property "level": 0 is below the minimum 1',
      '    ! filter-zstd level=0 \\',
      '                        ^',
    ],
  },
];

describe('pipeline errors', () => {
  it.each(BAD)('$what', (c) => {
    expect(formatted(c)).toBe(c.error.join('\n'));
  });

  it('gives the position as fields and in the message', () => {
    let caught: unknown;
    try {
      parsePipeline('source-random\n  ! dest-nul', { lookup, file: 'x.xfa' });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(DslError);
    expect(caught).toMatchObject({
      file: 'x.xfa',
      line: 2,
      col: 5,
      reason: 'unknown element "dest-nul" (did you mean "dest-null"?)',
      message: 'x.xfa:2:5: unknown element "dest-nul" (did you mean "dest-null"?)',
      sourceLine: '  ! dest-nul',
    });
  });

  it('keeps the PropError as the cause of a property error', () => {
    let caught: unknown;
    try {
      parsePipeline('source-random length=x ! dest-null', { lookup });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(DslError);
    expect((caught as DslError).cause).toMatchObject({ name: 'PropError', property: 'length', kind: 'value' });
  });
});
