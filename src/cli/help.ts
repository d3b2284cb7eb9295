/** The help texts of `xfa` and its commands, and the version from package.json. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from './args.js';

const TRANSFER_OPTIONS = `Options:
  -s, --set NAME=VALUE  set the pipeline variable \${NAME} (repeatable); variables not
                        set this way come from the environment
  -v, --verbose         show the linkage, per-element progress and statistics, and the
                        summary even when stdout is not a terminal
  -q, --quiet           no progress and no summary, even on a terminal
      --progress        show progress even when stdout is not a terminal (one line per second)
      --json            print every transfer message as one JSON object per line on stdout
  -h, --help            show this help

Progress (bytes, rate, ETA when the source's size is known) and a one-line summary are shown
when stdout is a terminal. Errors always go to stderr. Ctrl-C or SIGTERM cancels the transfer
cleanly: temporary files are removed and xfa exits 130 (143 for SIGTERM).

Exit status: 0 ok, 1 the transfer failed, 2 usage or pipeline error.`;

const TEXTS: Record<Command | 'main', string> = {
  main: `xfa — move backup data through a chain of transfer elements

Usage:
  xfa run FILE [--set NAME=VALUE ...]       run a pipeline file (pipelines/*.xfa)
  xfa launch 'PIPELINE' [--set NAME=VALUE]  run a pipeline given on the command line
  xfa inspect [ELEMENT]                     list the elements, or describe one
  xfa help [COMMAND]                        help on a command

Options:
  -h, --help      show help (also after any command: xfa run --help)
      --version   print the version

Pipeline:  source-random length=1GiB seed=7 ! filter-crc ! dest-null seed=7
Exit status: 0 ok, 1 the transfer failed, 2 usage or pipeline error, 130 interrupted.`,

  run: `Usage: xfa run FILE [options]

Runs the pipeline in FILE, e.g.
  xfa run pipelines/copy-file.xfa --set SRC=/etc/hosts --set DEST=/tmp/hosts.copy

${TRANSFER_OPTIONS}`,

  launch: `Usage: xfa launch 'PIPELINE' [options]

Runs a pipeline written on the command line, like gst-launch. Quote it as one argument (the
shell would otherwise take "!" and quotes itself); several arguments are joined with spaces.
  xfa launch 'source-random length=64MiB seed=7 ! filter-crc ! dest-null seed=7'

${TRANSFER_OPTIONS}`,

  inspect: `Usage: xfa inspect [ELEMENT] [--json]

Without ELEMENT, lists every element: name, role and description. With ELEMENT, describes it
like gst-inspect: what it does, its mechanism pairs with their costs, every property with type,
default, range and help, and an example.

Options:
      --json      print the element information as JSON instead
  -h, --help      show this help

Exit status: 0 ok, 2 unknown element or usage error.`,

  help: `Usage: xfa help [COMMAND]

Shows help on COMMAND (run, launch, inspect), or the overview without one.`,
};

export function helpText(command: Command | 'main'): string {
  return `${TEXTS[command]}\n`;
}

/** The version in the package.json above this file (src/cli or dist/src/cli). */
export function version(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg: unknown = JSON.parse(readFileSync(file, 'utf8'));
      if (isNamed(pkg, 'xfa')) return pkg.version;
    }
    dir = dirname(dir);
  }
  return 'unknown';
}

function isNamed(pkg: unknown, name: string): pkg is { name: string; version: string } {
  if (typeof pkg !== 'object' || pkg === null) return false;
  const p = pkg as Record<string, unknown>;
  return p.name === name && typeof p.version === 'string';
}
