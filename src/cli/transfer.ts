/**
 * `xfa run` and `xfa launch`: pipeline text to a running transfer, its messages to the
 * terminal, signals to a clean cancel, and the outcome to an exit status.
 */
import { statSync } from 'node:fs';
import type { ElementInfo } from '../element-info.js';
import { DslError, isGraph, linearChain, parsePipeline, type CompiledElement, type CompiledPipeline } from '../dsl/index.js';
import type { XferMessage } from '../messages.js';
import { parseSize } from '../props.js';
import { registry } from '../registry.js';
import { Xfer, XferError, type XferResult } from '../xfer.js';
import type { ParsedArgs, TransferArgs } from './args.js';
import { Exit, type Io } from './io.js';
import { Reporter, type ProgressMode, type ReportOptions } from './reporter.js';
import { startRecording } from './record.js';
import { signalExit, trapSignals, type Signal } from './signals.js';
import { runGraph } from './graph-run.js';

/** Variables for ${NAME}: --set first, then the environment. */
export function pipelineVars(env: Io['env'], sets: Readonly<Record<string, string>>): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) vars[k] = v;
  return { ...vars, ...sets };
}

function lengthProp(info: ElementInfo, el: CompiledElement): number | undefined {
  const spec = info.props.find((p) => p.name === 'length' && p.type === 'size');
  if (!spec) return undefined;
  const given = el.props.length;
  if (typeof given === 'number') return given;
  return spec.default === undefined ? undefined : parseSize(spec.default);
}

function fileSize(path: unknown): number | undefined {
  if (typeof path !== 'string') return undefined;
  try {
    const st = statSync(path);
    return st.isFile() ? st.size : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What the source will produce, when that can be known before it runs: a `length` size property
 * (0 means endless: unknown) or the size of source-file's regular file.
 */
export function sourceTotal(source: CompiledElement): number | undefined {
  const info = registry.find(source.name);
  const length = info ? lengthProp(info, source) : undefined;
  if (length !== undefined) return length > 0 ? length : undefined;
  return source.name === 'source-file' ? fileSize(source.props.path) : undefined;
}

export function progressMode(args: TransferArgs, tty: boolean): ProgressMode {
  if (args.json || args.quiet) return 'off';
  if (tty) return 'tty';
  return args.progress ? 'log' : 'off';
}

/** The engine's progress interval: none when nobody looks, once a second in a log. */
export function progressMs(mode: ProgressMode, json: boolean): number {
  if (json || mode === 'tty') return 250;
  return mode === 'log' ? 1000 : 0;
}

function reportOptions(args: TransferArgs, io: Io, elements: readonly CompiledElement[], file: string | undefined): ReportOptions {
  const where = (index: number): string => {
    const pos = elements[index]?.pos;
    return file !== undefined && pos ? `${file}:${pos.line}:${pos.col}: ` : '';
  };
  return {
    json: args.json,
    progress: progressMode(args, io.tty),
    verbose: args.verbose,
    summary: !args.json && !args.quiet && (io.tty || args.verbose),
    total: elements[0] ? sourceTotal(elements[0]) : undefined,
    where,
  };
}

/** Compiles the text; a DslError is printed with its caret and becomes undefined. */
function compilePipeline(text: string, file: string | undefined, args: TransferArgs, io: Io): CompiledElement[] | CompiledPipeline | undefined {
  try {
    const compiled = parsePipeline(text, { file, vars: pipelineVars(io.env, args.sets), lookup: registry });
    return isGraph(compiled) ? compiled : linearChain(compiled);  // mux/demux graphs: graph-run.ts
  } catch (e) {
    if (!(e instanceof DslError)) throw e;
    io.err(`${e.format()}\n`);
    return undefined;
  }
}

/** Runs the transfer to its `done`; the first signal cancels it, later ones only wait. */
async function runToDone(xfer: Xfer, reporter: Reporter, tail?: () => Promise<number>): Promise<{ result?: XferResult; signal?: Signal; tail: number }> {
  let signal: Signal | undefined;
  const untrap = trapSignals((s) => {
    signal ??= s;
    reporter.interrupted(s);
    xfer.cancel();
  });
  let result: XferResult | undefined;
  try {
    xfer.start();
    result = await xfer.done;
  } catch (e) {
    if (!(e instanceof XferError)) throw e;
  }
  try {
    // still trapped: a signal during the catalog's read-back must not leave the dump 'running'
    return { result, signal, tail: tail ? await tail() : Exit.ok };
  } finally {
    untrap();
  }
}

function exitStatus(outcome: { result?: XferResult; signal?: Signal }): number {
  if (outcome.result) return Exit.ok;
  if (outcome.signal) return signalExit(outcome.signal);
  return Exit.failed;
}

/** Builds the transfer; an element that cannot be set up (a bad fd...) is a failed transfer. */
function createXfer(elements: readonly CompiledElement[], opts: ReportOptions, io: Io): Xfer | undefined {
  const specs = elements.map((e) => ({ name: e.name, props: e.props }));
  try {
    return new Xfer(specs, { progressMs: progressMs(opts.progress, opts.json) });
  } catch (e) {
    io.err(`xfa: ${e instanceof Error ? e.message : String(e)}\n`);
    return undefined;
  }
}

/** Runs pipeline text (from FILE, or the command line when file is undefined); returns the exit status. */
export async function runPipeline(text: string, file: string | undefined, args: ParsedArgs, io: Io): Promise<number> {
  const elements = compilePipeline(text, file, args, io);
  if (!elements) return Exit.usage;
  if (!Array.isArray(elements)) return runGraph(elements, file, args, io);
  const opts = reportOptions(args, io, elements, file);
  const xfer = createXfer(elements, opts, io);
  if (!xfer) return Exit.failed;
  const recording = args.values?.record === true ? startRecording(args, io, elements.map((e) => ({ name: e.name, props: e.props })), xfer) : undefined;
  if (recording && 'error' in recording) {
    io.err(`xfa: ${recording.error}\n`);
    return recording.exit;
  }
  const reporter = new Reporter(io, opts);
  xfer.on('message', (m: XferMessage) => reporter.message(m));
  const outcome = await runToDone(xfer, reporter, recording ? () => recording.finish() : undefined);
  if (outcome.result) reporter.succeeded(outcome.result.stats);
  else reporter.failed();
  return outcome.result && !outcome.signal && outcome.tail !== Exit.ok ? outcome.tail : exitStatus(outcome);
}
