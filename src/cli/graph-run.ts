/**
 * `xfa run` / `xfa launch` of a pipeline that is a graph (mux, demux, references; src/graph.ts):
 * every chain runs as its own transfer, their messages go to one Reporter, signals cancel the
 * whole graph.
 *
 * Output: as for a single chain (progress and summary of the trunk — the multiplexed stream),
 * errors of every chain with the element's place in the file, and with --verbose one line per
 * stream end (`m: stream 2 (source-random#2): eos, 1.0 MiB in 5 packets`). --json prints every
 * message with its `chain`, each chain's end as `chain-done`, and one last `done`.
 *
 * Exit status: 0 when every chain succeeded. 1 when any failed — also when only branches failed:
 * the good streams are still kept (a mux's file holds them, a demux's other outputs are
 * written) and a line on stderr says how many chains failed. 130/143 after SIGINT/SIGTERM.
 */
import type { CompiledPipeline } from '../dsl/index.js';
import { DslError, graphOf, type GraphPlan } from '../dsl/index.js';
import { XferGraph, type GraphMessage, type GraphResult } from '../graph.js';
import type { XferMessage } from '../messages.js';
import { XferError } from '../xfer.js';
import type { ParsedArgs } from './args.js';
import { humanBytes } from './format.js';
import { Exit, type Io } from './io.js';
import { Reporter } from './reporter.js';
import { startGraphRecording } from './record.js';
import { progressMode, progressMs, sourceTotal } from './transfer.js';
import { signalExit, trapSignals, type Signal } from './signals.js';

export async function runGraph(compiled: CompiledPipeline, file: string | undefined, args: ParsedArgs, io: Io): Promise<number> {
  let plan: GraphPlan;
  try {
    plan = graphOf(compiled);
  } catch (e) {
    if (!(e instanceof DslError)) throw e;
    io.err(`${e.format()}\n`);
    return Exit.usage;
  }
  const progress = progressMode(args, io.tty);
  let chain = -1;  // the chain of the message being reported, for where()
  const where = (index: number): string => {
    const pos = plan.chains[chain]?.elements[index]?.pos;
    return file !== undefined && pos ? `${file}:${pos.line}:${pos.col}: ` : '';
  };
  const trunk = plan.chains.find((c) => c.role === 'trunk');
  const first = trunk?.elements[0];
  const reporter = new Reporter(io, {
    json: args.json,
    progress,
    verbose: args.verbose,
    summary: !args.json && !args.quiet && (io.tty || args.verbose),
    total: first && first.node >= 0 ? sourceTotal({ name: first.name, label: first.label, props: first.props, pos: first.pos ?? { line: 1, col: 1 } }) : undefined,
    where,
  });
  let g: XferGraph;
  try {
    g = new XferGraph(plan, { progressMs: progressMs(progress, args.json) });
  } catch (e) {
    io.err(`xfa: ${e instanceof Error ? e.message : String(e)}\n`);
    return Exit.failed;
  }
  const recording = args.values?.record === true ? startGraphRecording(args, io, plan, g) : undefined;
  if (recording && 'error' in recording) {
    io.err(`xfa: ${recording.error}\n`);
    return recording.exit;
  }
  g.on('message', (m: GraphMessage) => {
    chain = m.chain;
    if (m.type === 'chain-done') {
      if (args.json) io.out(`${JSON.stringify(m)}\n`);
      return;
    }
    if (m.type === 'progress' && plan.chains[m.chain]?.role !== 'trunk') {
      if (args.json) io.out(`${JSON.stringify(m)}\n`);
      return;
    }
    if (m.type === 'stream' && m.state !== 'open' && args.verbose && !args.json) {
      const label = m.label ? ` (${m.label})` : '';
      io.out(`${m.elt}: stream ${m.stream}${label}: ${m.state}, ${humanBytes(m.bytes)} in ${m.packets} packets\n`);
    }
    reporter.message(m as XferMessage);
  });

  let signal: Signal | undefined;
  const untrap = trapSignals((s) => {
    signal ??= s;
    reporter.interrupted(s);
    g.cancel();
  });
  let result: GraphResult | undefined;
  let recorded: number = Exit.ok;
  try {
    g.start();
    result = await g.done;
  } catch (e) {
    if (!(e instanceof XferError)) throw e;
  }
  try {
    // still trapped: a signal during the catalog's read-back must not leave the dumps 'running'
    if (recording) recorded = await recording.finish();
  } finally {
    untrap();
  }
  if (signal) {
    reporter.failed();
    return signalExit(signal);
  }
  if (!result) {
    reporter.failed();
    return Exit.failed;
  }
  const trunkLabels = new Set(plan.chains.filter((c) => c.role === 'trunk').flatMap((c) => c.elements.map((e) => e.label)));
  reporter.succeeded(result.stats.filter((s) => trunkLabels.has(s.elt)));
  if (result.failed.length === 0) return recorded;
  const n = plan.chains.length;
  io.err(`xfa: ${result.failed.length} of ${n} chains failed (${result.failed.map((f) => f.labels[0]).join(', ')}); the other chains completed and their data was kept\n`);
  return Exit.failed;
}
