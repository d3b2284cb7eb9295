/**
 * Turns a transfer's messages into output. stdout carries either JSON lines (--json, every
 * message, for other programs) or the human view (progress, linkage, summary); stderr carries
 * errors, warnings and the stderr lines of child processes, in both modes.
 */
import type { ElementStats } from '../xfer.js';
import type { XferMessage } from '../messages.js';
import { readCount, writtenCount } from './counts.js';
import { columns, humanBytes, humanRate, seconds } from './format.js';
import type { Io } from './io.js';
import { ProgressPrinter, ProgressView } from './progress.js';

/** How the progress is shown: not at all, redrawn in place on a terminal, or as log lines. */
export type ProgressMode = 'off' | 'tty' | 'log';

export interface ReportOptions {
  json: boolean;
  progress: ProgressMode;
  verbose: boolean;
  summary: boolean;
  /** The source's size in bytes when known, for the percentage and ETA. */
  total?: number;
  /** "file:line:col: " for the element at a chain index, "" when the pipeline has no file. */
  where(index: number): string;
}

export class Reporter {
  private readonly view: ProgressView;
  private readonly printer: ProgressPrinter;
  private readonly t0 = Date.now();
  private drawPending = false;
  private finished = false;
  private interruptedBy: string | undefined;
  private errors = 0;

  constructor(private readonly io: Io, private readonly opts: ReportOptions) {
    this.view = new ProgressView(opts.total, opts.verbose);
    this.printer = new ProgressPrinter(io, opts.progress === 'tty');
  }

  get elapsedMs(): number {
    return Date.now() - this.t0;
  }

  /** Human lines are for stdout only when it is not taken by JSON. */
  private get human(): boolean {
    return !this.opts.json;
  }

  message(m: XferMessage): void {
    if (this.opts.json) this.io.out(`${JSON.stringify(m)}\n`);
    switch (m.type) {
      case 'progress':
        if (this.opts.progress !== 'off') {
          this.view.update(m);
          this.scheduleDraw();
        }
        return;
      case 'error':
        return this.error(m.index, m.message);
      case 'info':
        return this.info(m.elt, m.message, m.stderr === true, m.warning === true);
      case 'linkage':
        return this.verboseLine(`linkage: ${m.message} (copies ${m.copies}, allocs ${m.allocs}, threads ${m.threads})`);
      case 'crc':
        return this.verboseLine(`${m.elt}: crc ${m.crc}:${m.size}`);
      case 'done':
        this.finished = true;
        return this.printer.clear();
      default:
        return;
    }
  }

  /** A signal arrived: say so once, and keep quiet about the errors the cancel causes. */
  interrupted(signal: string): void {
    if (this.interruptedBy) return;
    this.interruptedBy = signal;
    this.stderr(`xfa: ${signal}: cancelling the transfer\n`);
  }

  /** After a successful transfer: the one-line summary (and per-element statistics with --verbose). */
  succeeded(stats: readonly ElementStats[]): void {
    if (this.opts.verbose && this.human) this.statsTable(stats);
    if (this.opts.summary) this.io.out(`${summaryLine(stats, this.elapsedMs)}\n`);
  }

  /** After a failed or cancelled transfer; errors were printed as they came. */
  failed(): void {
    this.printer.clear();
    if (this.interruptedBy) this.io.err(`xfa: transfer cancelled (${this.interruptedBy})\n`);
    else if (this.errors === 0) this.io.err('xfa: transfer cancelled\n');
  }

  private error(index: number, message: string): void {
    this.errors++;
    if (!this.interruptedBy) this.stderr(`${this.opts.where(index) || 'xfa: '}${message}\n`);
  }

  private info(elt: string, message: string, fromStderr: boolean, warning: boolean): void {
    if (fromStderr) this.stderr(`${elt}: ${message}\n`);
    else if (warning) this.stderr(`${elt}: warning: ${message}\n`);
    else this.verboseLine(`${elt}: ${message}`);
  }

  private verboseLine(line: string): void {
    if (!this.opts.verbose || !this.human) return;
    this.printer.clear();
    this.io.out(`${line}\n`);
  }

  /** stderr shares the terminal with the progress lines: take them away first. */
  private stderr(text: string): void {
    this.printer.clear();
    this.io.err(text);
  }

  /** Draw once per batch of messages (a batch brings one progress per element). */
  private scheduleDraw(): void {
    if (this.drawPending) return;
    this.drawPending = true;
    setImmediate(() => {
      this.drawPending = false;
      if (!this.finished) this.printer.draw(this.view.lines(this.elapsedMs));
    });
  }

  private statsTable(stats: readonly ElementStats[]): void {
    const rows = stats.map((s) => [`  ${s.elt}`, `in ${humanBytes(s.bytesIn)}`, `out ${humanBytes(s.bytesOut)}`, `busy ${seconds(s.busy * 1000)}`]);
    this.io.out(['statistics:', ...columns(rows)].map((l) => `${l}\n`).join(''));
  }
}

/**
 * "xfa: done: 300.0 MiB in 0.35 s (857.1 MiB/s)", or "read 300.0 MiB, wrote 12.0 MiB" when the
 * ends differ (see counts.ts for which counters are used). When nothing was counted — processes
 * feeding each other through pipes — the line says so rather than claim 0 bytes.
 */
export function summaryLine(stats: readonly ElementStats[], elapsedMs: number): string {
  const counters = stats.map((s, index) => ({ ...s, index }));
  const read = readCount(counters)?.bytes;
  const written = writtenCount(counters)?.bytes;
  const time = seconds(elapsedMs);
  if (read === undefined || written === undefined) return `xfa: done in ${time} (no bytes counted)`;
  const rate = humanRate(elapsedMs > 0 ? (read * 1000) / elapsedMs : 0);
  const amount = read === written ? humanBytes(read) : `read ${humanBytes(read)}, wrote ${humanBytes(written)}`;
  return `xfa: done: ${amount} in ${time} (${rate})`;
}
