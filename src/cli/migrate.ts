/** `xfa migrate` (being written). */
import type { ParsedArgs } from './args.js';
import { Exit, type Io } from './io.js';

export function migrate(_args: ParsedArgs, io: Io): Promise<number> {
  io.err('xfa: migrate is not written yet\n');
  return Promise.resolve(Exit.failed);
}
