/** `xfa catalog SUBCOMMAND` (being written). */
import type { ParsedArgs } from './args.js';
import { Exit, type Io } from './io.js';

export function catalogCommand(_args: ParsedArgs, io: Io): Promise<number> {
  io.err('xfa: catalog is not written yet\n');
  return Promise.resolve(Exit.failed);
}
