/**
 * The `xfa` command: dispatch to run, launch, inspect and help. Every command answers --help;
 * usage mistakes print one line and a pointer to the help, and exit 2.
 */
import { readFileSync } from 'node:fs';
import { registry } from '../registry.js';
import { commandOf, parseCommand, type Command, type ParsedArgs } from './args.js';
import { helpText, version } from './help.js';
import { describeElement, findElement, listElements } from './inspect.js';
import { Exit, UsageError, type Io } from './io.js';
import { runPipeline } from './transfer.js';
import { label, ls, reindex, verify } from './catalog.js';
import { restore } from './restore.js';
import { migrate } from './migrate.js';
import { catalogCommand } from './catalog-import.js';

function readPipelineFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    const reason = e instanceof Error && 'code' in e && e.code === 'ENOENT' ? 'no such file' : String(e);
    throw new UsageError(`cannot read pipeline file "${file}": ${reason}`, 'run');
  }
}

function run(args: ParsedArgs, io: Io): Promise<number> {
  if (args.positionals.length !== 1) throw new UsageError('run wants exactly one pipeline FILE', 'run');
  const file = args.positionals[0];
  return runPipeline(readPipelineFile(file), file, args, io);
}

function launch(args: ParsedArgs, io: Io): Promise<number> {
  const text = args.positionals.join(' ');
  if (text.trim() === '') throw new UsageError("launch wants a PIPELINE, e.g. 'source-random length=1MiB seed=1 ! dest-null'", 'launch');
  return runPipeline(text, undefined, args, io);
}

function inspect(args: ParsedArgs, io: Io): number {
  const [name, extra] = args.positionals;
  if (extra !== undefined) throw new UsageError('inspect takes at most one ELEMENT', 'inspect');
  if (name === undefined) {
    io.out(args.json ? `${JSON.stringify(registry.all(), null, 2)}\n` : listElements(registry.all()));
  } else {
    const info = findElement(registry, name);
    io.out(args.json ? `${JSON.stringify(info, null, 2)}\n` : describeElement(info, io.columns));
  }
  return Exit.ok;
}

function help(args: ParsedArgs, io: Io): number {
  const [topic] = args.positionals;
  io.out(helpText(topic === undefined ? 'main' : commandOf(topic)));
  return Exit.ok;
}

async function dispatch(argv: readonly string[], io: Io): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    io.err(helpText('main'));
    return Exit.usage;
  }
  if (first === '--version' || first === '-V') {
    io.out(`xfa ${version()}\n`);
    return Exit.ok;
  }
  if (first === '--help' || first === '-h') return help({ ...parseCommand('help', []) }, io);
  if (first.startsWith('-')) throw new UsageError(`unknown option "${first}" (options come after the command)`);
  const command: Command = commandOf(first);
  const args = parseCommand(command, rest);
  if (args.help) {
    io.out(helpText(command));
    return Exit.ok;
  }
  const handlers: Record<Command, (a: ParsedArgs, io: Io) => number | Promise<number>> = { run, launch, inspect, help, ls, label, verify, reindex, restore, migrate, catalog: catalogCommand };
  return handlers[command](args, io);
}

/** Runs `xfa ARGV...` and returns the exit status. */
export async function runCli(argv: readonly string[], io: Io): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    const more = e.command ? `xfa ${e.command} --help` : 'xfa --help';
    io.err(`xfa: ${e.message}\nTry "${more}".\n`);
    return Exit.usage;
  }
}
