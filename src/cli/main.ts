/** Entry point of the `xfa` command (bin/xfa.js imports this). */
import '../../elements/index.js'; // registers the TypeScript elements before anything looks one up
import { runCli } from './cli.js';
import { processIo } from './io.js';

process.exitCode = await runCli(process.argv.slice(2), processIo());
