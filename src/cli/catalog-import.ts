/**
 * `xfa catalog SUBCOMMAND`: catalog maintenance. `import-amanda CONFIGDIR` records the volumes and
 * dumps of an Amanda configuration (src/catalog/amanda-import.ts does the work).
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AmandaImportError } from '../catalog/amanda-conf.js';
import { importAmanda } from '../catalog/amanda-import.js';
import { openCatalog, type Catalog } from '../catalog/db.js';
import type { ParsedArgs } from './args.js';
import { catalogPath } from './catalog.js';
import { Exit, UsageError, type Io } from './io.js';

const SUBCOMMANDS = ['import-amanda'] as const;

export function catalogCommand(args: ParsedArgs, io: Io): Promise<number> {
  const [sub, ...rest] = args.positionals;
  if (sub === undefined) throw new UsageError(`catalog wants a subcommand: ${SUBCOMMANDS.join(', ')}`, 'catalog');
  if (sub !== 'import-amanda') throw new UsageError(`unknown catalog subcommand "${sub}" (${SUBCOMMANDS.join(', ')})`, 'catalog');
  return importAmandaCommand(args, rest, io);
}

async function importAmandaCommand(args: ParsedArgs, rest: string[], io: Io): Promise<number> {
  const [dir, extra] = rest;
  if (dir === undefined || extra !== undefined) throw new UsageError('import-amanda wants one CONFIGDIR (e.g. /etc/amanda/daily)', 'catalog');
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`${dir}: no such directory`, 'catalog');
  if (!existsSync(join(dir, 'amanda.conf'))) throw new UsageError(`${dir}: no amanda.conf (not an Amanda configuration directory)`, 'catalog');
  const changer = typeof args.values?.changer === 'string' ? args.values.changer : undefined;
  let cat: Catalog;
  try {
    cat = openCatalog(catalogPath(args, io));
  } catch (e) {
    io.err(`xfa: ${(e as Error).message}\n`);
    return Exit.failed;
  }
  try {
    const r = await importAmanda(cat, dir, { changer });
    if (args.json) {
      io.out(`${JSON.stringify(r, null, 2)}\n`);
    } else {
      for (const p of r.problems) io.out(`${p.where}: ${p.message}\n`);
      for (const w of r.warnings) io.out(`${w.where}: warning: ${w.message}\n`);
      const missing = r.missing.length ? ` (${r.missing.length} missing)` : '';
      io.out(`${r.volumes} volumes${missing}, ${r.dumps} dumps (${r.ok} ok, ${r.failed} failed), ${r.parts} parts; ` +
        `${r.crcMatched} dump CRCs match Amanda's logs: ${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}\n`);
    }
    return r.problems.length ? Exit.failed : Exit.ok;
  } catch (e) {
    if (!(e instanceof AmandaImportError)) throw e;
    io.err(`xfa: ${e.message}\n`);
    return Exit.failed;
  } finally {
    cat.close();
  }
}
