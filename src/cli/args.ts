/**
 * Command-line parsing with node:util parseArgs: one option table per command, strict (an
 * unknown option is a usage error, with a did-you-mean), and `--set K=V` turned into variables.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { closest } from '../suggest.js';
import { UsageError } from './io.js';

export const COMMANDS = ['run', 'launch', 'inspect', 'help', 'ls', 'label', 'verify', 'reindex', 'restore', 'migrate', 'catalog'] as const;
export type Command = (typeof COMMANDS)[number];

type Options = NonNullable<ParseArgsConfig['options']>;

const HELP: Options = { help: { type: 'boolean', short: 'h' } };

const TRANSFER: Options = {
  ...HELP,
  set: { type: 'string', short: 's', multiple: true },
  json: { type: 'boolean' },
  progress: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  verbose: { type: 'boolean', short: 'v' },
  record: { type: 'boolean' },
  catalog: { type: 'string', short: 'c' },
};

const TABLES: Record<Command, Options> = {
  run: TRANSFER,
  launch: TRANSFER,
  inspect: { ...HELP, json: { type: 'boolean' } },
  help: HELP,
  ls: { ...HELP, json: { type: 'boolean' }, catalog: { type: 'string', short: 'c' }, host: { type: 'string' }, disk: { type: 'string' }, since: { type: 'string' }, status: { type: 'string' } },
  label: { ...HELP, json: { type: 'boolean' }, catalog: { type: 'string', short: 'c' }, force: { type: 'boolean', short: 'f' } },
  verify: { ...HELP, json: { type: 'boolean' }, catalog: { type: 'string', short: 'c' }, 'headers-only': { type: 'boolean' } },
  reindex: { ...HELP, json: { type: 'boolean' }, catalog: { type: 'string', short: 'c' }, force: { type: 'boolean', short: 'f' }, 'no-indexes': { type: 'boolean' } },
  restore: {
    ...HELP, json: { type: 'boolean' }, catalog: { type: 'string', short: 'c' }, verbose: { type: 'boolean', short: 'v' }, quiet: { type: 'boolean', short: 'q' },
    dump: { type: 'string', short: 'd' }, host: { type: 'string', short: 'H' }, disk: { type: 'string', short: 'D' }, date: { type: 'string' }, level: { type: 'string', short: 'l' },
    to: { type: 'string', short: 't' }, output: { type: 'string', short: 'o' }, stdout: { type: 'boolean' }, list: { type: 'boolean' },
    'key-file': { type: 'string' }, 'passphrase-file': { type: 'string' }, 'private-key': { type: 'string' }, tmpdir: { type: 'string' },
  },
  migrate: {
    ...HELP, json: { type: 'boolean' }, catalog: { type: 'string', short: 'c' }, to: { type: 'string', short: 't' }, from: { type: 'string', short: 'f' },
    host: { type: 'string' }, disk: { type: 'string' }, since: { type: 'string' }, 'fulls-only': { type: 'boolean' }, 'latest-fulls': { type: 'boolean' },
    'dry-run': { type: 'boolean', short: 'n' }, 'part-size': { type: 'string' }, 'label-template': { type: 'string' }, labelstr: { type: 'string' },
    'device-property': { type: 'string', short: 'p', multiple: true }, 'part-cache': { type: 'string' },
    's3-endpoint': { type: 'string' }, 's3-region': { type: 'string' }, 's3-access-key': { type: 'string' }, 's3-secret-key': { type: 'string' },
    quiet: { type: 'boolean', short: 'q' },
  },
  catalog: { ...HELP, json: { type: 'boolean' }, catalog: { type: 'string', short: 'c' }, changer: { type: 'string' } },
};

/** What `run` and `launch` were asked for. */
export interface TransferArgs {
  positionals: string[];
  /** From --set, in order; a later K wins. */
  sets: Record<string, string>;
  json: boolean;
  progress: boolean;
  quiet: boolean;
  verbose: boolean;
}

export interface ParsedArgs extends TransferArgs {
  help: boolean;
  /** Every option as parseArgs returned it (the catalog commands' --catalog, --force, ...). */
  values?: Record<string, string | boolean | Array<string | boolean> | undefined>;
}

const VAR_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `--set K=V` pairs to a record; a malformed pair is a usage error naming it. */
export function parseSets(pairs: readonly string[], command: Command): Record<string, string> {
  const sets: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const key = eq < 0 ? pair : pair.slice(0, eq);
    if (eq < 0 || !VAR_NAME_RE.test(key)) {
      throw new UsageError(`--set wants NAME=VALUE with NAME a variable name, got "${pair}"`, command);
    }
    sets[key] = pair.slice(eq + 1);
  }
  return sets;
}

/** The option the user probably meant, from an unknown-option message of parseArgs. */
function unknownOptionHint(message: string, table: Options): string {
  const m = /Unknown option '(-{1,2})([^']*)'/.exec(message);
  if (!m) return '';
  const guess = closest(m[2], Object.keys(table));
  return guess ? ` (did you mean "--${guess}"?)` : '';
}

function strictParse(command: Command, argv: readonly string[]): ReturnType<typeof parseArgs> {
  const table = TABLES[command];
  try {
    return parseArgs({ args: [...argv], options: table, allowPositionals: true, strict: true });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    throw new UsageError(`${message.replace(/\. To specify a positional.*$/s, '').replace(/^Unknown/, 'unknown')}${unknownOptionHint(message, table)}`, command);
  }
}

const flag = (v: unknown): boolean => v === true;

/** A command's arguments after its name, checked against its option table. */
export function parseCommand(command: Command, argv: readonly string[]): ParsedArgs {
  const { values, positionals } = strictParse(command, argv);
  const sets = Array.isArray(values.set) ? values.set.filter((v): v is string => typeof v === 'string') : [];
  return {
    positionals,
    sets: parseSets(sets, command),
    help: flag(values.help),
    json: flag(values.json),
    progress: flag(values.progress),
    quiet: flag(values.quiet),
    verbose: flag(values.verbose),
    values,
  };
}

/** The command a word names, or a usage error with a did-you-mean. */
export function commandOf(word: string): Command {
  const found = COMMANDS.find((c) => c === word);
  if (found) return found;
  const guess = closest(word, COMMANDS);
  const hint = guess ? `did you mean "${guess}"?` : `commands: ${COMMANDS.join(', ')}`;
  throw new UsageError(`unknown command "${word}" (${hint})`);
}
