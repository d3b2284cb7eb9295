/**
 * What a dump holds, from its slice index in the catalog — no volume is read (`xfa restore
 * --list`, Amanda's amrecover `ls`). A copy without an index of its own uses the original's.
 * A dump without an index cannot be listed this way: the error says how to list it by reading it.
 */
import type { Catalog, DumpRow } from '../catalog/db.js';
import { dumpName } from '../catalog/verify.js';
import type { ObjectEntry } from '../slice-index.js';
import { storedIndex } from './inverse.js';
import { selectDump } from './select.js';
import { RestoreError, type DumpSelector } from './types.js';

export interface DumpListing {
  dump: DumpRow;
  /** How many restorable dumps matched (the newest was taken). */
  matches: number;
  /** The members in archive order, those under `prefix` when one was given. */
  members: ObjectEntry[];
}

export function listDump(cat: Catalog, selector: DumpSelector, prefix?: string): DumpListing {
  const sel = selectDump(cat, selector);
  const index = [sel.selected, ...sel.sources].map((d) => storedIndex(cat, d.id)).find((x) => x !== undefined);
  if (!index) {
    throw new RestoreError(`dump #${sel.selected.id} (${dumpName(sel.selected)}) has no slice index in the catalog: list it by reading it, e.g. xfa restore --dump ${sel.selected.id} --stdout | tar -tvf -`, 'path');
  }
  const under = prefix?.replace(/\/+$/, '');
  const members = index.objects.filter((o) => under === undefined || under === '' || o.path === under || o.path.replace(/\/+$/, '') === under || o.path.startsWith(`${under}/`));
  return { dump: sel.selected, matches: sel.matches, members };
}
