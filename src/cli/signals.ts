/**
 * Ctrl-C and SIGTERM for long-running commands: while trapped, the first signal cancels the
 * work (through an AbortSignal or a callback) instead of killing the process, so temporary files
 * are removed and children stopped; later signals only wait for that. The exit status after a
 * signal is 128 + its number (130 for SIGINT, 143 for SIGTERM).
 */
import { constants } from 'node:os';

export type Signal = 'SIGINT' | 'SIGTERM';
const SIGNALS: readonly Signal[] = ['SIGINT', 'SIGTERM'];

/** Routes SIGINT and SIGTERM to `on` (instead of killing the process) until the returned undo. */
export function trapSignals(on: (signal: Signal) => void): () => void {
  const handlers = SIGNALS.map((signal) => {
    const handler = (): void => on(signal);
    process.on(signal, handler);
    return { signal, handler };
  });
  return () => handlers.forEach(({ signal, handler }) => process.off(signal, handler));
}

/** The exit status after `signal`. */
export const signalExit = (signal: Signal): number => 128 + constants.signals[signal];

/**
 * Runs work(abortSignal) with the signals trapped: the first one aborts. `signal()` tells which
 * signal came (if any), for the exit status.
 */
export async function cancellable<R>(work: (abort: AbortSignal) => Promise<R>): Promise<{ value: R; signal?: Signal } | { error: unknown; signal?: Signal }> {
  const ac = new AbortController();
  let got: Signal | undefined;
  const untrap = trapSignals((s) => {
    got ??= s;
    ac.abort(new Error(`interrupted by ${s}`));
  });
  try {
    return { value: await work(ac.signal), signal: got };
  } catch (error) {
    return { error, signal: got };
  } finally {
    untrap();
  }
}
