/**
 * What a command needs from the process, passed in so the commands never reach for globals:
 * where output goes, whether stdout is a terminal, and the environment.
 */

/** The exit statuses of `xfa`: 0 ok, 1 the transfer failed, 2 usage or pipeline error; 128+N after signal N. */
export const Exit = { ok: 0, failed: 1, usage: 2 } as const;

export interface Io {
  /** Writes to stdout. */
  out(text: string): void;
  /** Writes to stderr. */
  err(text: string): void;
  /** stdout is a terminal: progress and the summary are shown by default. */
  readonly tty: boolean;
  /** Terminal width, for wrapping and for cutting the progress line. */
  readonly columns: number;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export function processIo(): Io {
  // A reader that went away (`xfa ls | head -1`): what follows is dropped, as a shell tool's
  // output would be, instead of an unhandled EPIPE crashing the command mid-way.
  let gone = false;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    gone = true;
  });
  return {
    out: (text) => void (gone || process.stdout.write(text)),
    err: (text) => void process.stderr.write(text),
    tty: process.stdout.isTTY === true,
    columns: process.stdout.columns || 80,
    env: process.env,
  };
}

/** A mistake on the command line: printed with a pointer to --help, exit status 2. */
export class UsageError extends Error {
  override name = 'UsageError';
  constructor(message: string, readonly command?: string) {
    super(message);
  }
}
