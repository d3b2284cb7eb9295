/**
 * The progress display: what to show (ProgressView, pure, so it is tested without a terminal)
 * and how (ProgressPrinter: redrawn in place on a terminal, one line per update in a log).
 */
import type { ProgressMessage } from '../messages.js';
import { readCount } from './counts.js';
import { clock, columns, humanBytes, humanRate } from './format.js';
import type { Io } from './io.js';

/** The latest progress of every element, and the source's total size when it is known. */
export class ProgressView {
  private readonly latest = new Map<number, ProgressMessage>();

  /** total: the bytes the source will produce, undefined when unknown (pipes, endless sources). */
  constructor(private readonly total: number | undefined, private readonly perElement: boolean) {}

  update(m: ProgressMessage): void {
    this.latest.set(m.index, m);
  }

  /**
   * "1.2 GiB / 4.0 GiB  30%  850.0 MiB/s  ETA 0:04"; without a total (or when only a filter's
   * output was counted, which the source's size says nothing about) "1.2 GiB  850.0 MiB/s  0:03".
   */
  mainLine(elapsedMs: number): string {
    const head = readCount([...this.latest.values()]);
    const done = head?.bytes ?? 0;
    const rate = humanRate(head?.from.rate ?? 0);
    if (!this.total || (head && !head.sourceStream)) return `${humanBytes(done)}  ${rate}  ${clock(elapsedMs)}`;
    const pct = Math.min(100, Math.floor((done / this.total) * 100));
    return `${humanBytes(done)} / ${humanBytes(this.total)}  ${pct}%  ${rate}  ETA ${eta(done, this.total, elapsedMs)}`;
  }

  /** Per element: "dest-file#3  in 1.2 GiB  out 0 B  850.0 MiB/s". */
  elementLines(): string[] {
    const rows = [...this.latest.values()].sort((a, b) => a.index - b.index)
      .map((m) => [`  ${m.elt}`, `in ${humanBytes(m.bytesIn)}`, `out ${humanBytes(m.bytesOut)}`, humanRate(m.rate)]);
    return columns(rows);
  }

  lines(elapsedMs: number): string[] {
    const main = this.mainLine(elapsedMs);
    return this.perElement ? [main, ...this.elementLines()] : [main];
  }
}

/** Time left at the average rate so far; "--:--" before any byte moved. */
export function eta(done: number, total: number, elapsedMs: number): string {
  if (done <= 0 || elapsedMs <= 0) return '--:--';
  const left = Math.max(0, total - done);
  return clock((left / done) * elapsedMs);
}

const CSI = '\x1b[';

/**
 * Draws the view. On a terminal the lines are rewritten in place (cursor up, clear to end of
 * line) and cut to the terminal width so they never wrap; elsewhere each update is printed as
 * plain lines, which suits a log file.
 */
export class ProgressPrinter {
  private drawn = 0;
  private last = '';

  constructor(private readonly io: Io, private readonly inPlace: boolean) {}

  draw(lines: readonly string[]): void {
    if (!this.inPlace) {
      const text = lines.map((l) => `${l}\n`).join('');
      if (text !== this.last) this.io.out(text);
      this.last = text;
      return;
    }
    const width = Math.max(20, this.io.columns - 1);
    const body = lines.map((l) => `${l.slice(0, width)}${CSI}K`).join('\n');
    this.io.out(`${this.home()}${body}`);
    this.drawn = lines.length;
  }

  /** Erases what draw() drew, leaving the cursor where it began. */
  clear(): void {
    if (!this.inPlace || this.drawn === 0) return;
    this.io.out(`${this.home()}${CSI}J`);
    this.drawn = 0;
  }

  /** Back to the first column of the first drawn line. */
  private home(): string {
    return this.drawn > 1 ? `\r${CSI}${this.drawn - 1}A` : '\r';
  }
}
