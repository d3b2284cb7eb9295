/**
 * Choosing the dump a restore reads: by id, or by host/disk/level and a datestamp prefix (the
 * newest of several). A dump and its copies (`copy_of`) are one restorable dump: its ok members
 * are the sources, the original first. A stream of a multiplexed file is read from that file's
 * dump (`container`) or one of its copies.
 */
import type { Catalog, DumpRow } from '../catalog/db.js';
import { dumpName } from '../catalog/verify.js';
import { RestoreError, type DumpSelector } from './types.js';

export interface Selection {
  selected: DumpRow;
  /** ok members of the selected dump's group, in the order they are tried. */
  sources: DumpRow[];
  matches: number;
}

export const rootOf = (cat: Catalog, d: DumpRow): number => {
  let cur = d;
  for (let i = 0; i < 32 && cur.copy_of !== null; i++) {
    const up = cat.dump(cur.copy_of);
    if (!up) break;
    cur = up;
  }
  return cur.id;
};

/** The dump `root` and every copy made from it or from its copies (one indexed query). */
function groupOf(cat: Catalog, root: number): DumpRow[] {
  return cat.db.prepare(`WITH RECURSIVE family(id) AS (SELECT ? UNION SELECT d.id FROM dumps d JOIN family f ON d.copy_of = f.id)
                         SELECT dumps.* FROM dumps JOIN family USING (id) ORDER BY dumps.id`).all(root) as DumpRow[];
}

function orderSources(group: DumpRow[], root: number, first?: number): DumpRow[] {
  const ok = group.filter((d) => d.status === 'ok');
  const rank = (d: DumpRow) => (d.id === first ? 0 : d.id === root ? 1 : 2);
  return ok.sort((a, b) => rank(a) - rank(b) || a.id - b.id);
}

const describe = (d: DumpRow) => `#${d.id} level ${d.level} ${d.datestamp} ${d.status}${d.copy_of !== null ? ` (copy of #${d.copy_of})` : ''}`;

/** The dump a selector names, and the ok copies that can serve it; RestoreError 'no-dump' otherwise. */
export function selectDump(cat: Catalog, s: DumpSelector): Selection {
  if (s.dump !== undefined) {
    const d = cat.dump(s.dump);
    if (!d) throw new RestoreError(`no dump #${s.dump} in the catalog`, 'no-dump');
    const root = rootOf(cat, d);
    const sources = orderSources(groupOf(cat, root), root, d.id);
    if (sources.length === 0) throw new RestoreError(`dump #${d.id} (${dumpName(d)}) is not restorable: ${d.status}${d.error ? ` (${d.error})` : ''}, and no good copy of it exists`, 'no-dump');
    return { selected: cat.dump(root) ?? d, sources, matches: 1 };
  }
  const rows = cat.db.prepare(`SELECT * FROM dumps WHERE (@host IS NULL OR host = @host) AND (@disk IS NULL OR disk = @disk)
                               AND (@level IS NULL OR level = @level) AND (@date IS NULL OR substr(datestamp, 1, length(@date)) = @date)
                               ORDER BY datestamp, id`)
    .all({ host: s.host ?? null, disk: s.disk ?? null, level: s.level ?? null, date: s.date ?? null }) as DumpRow[];
  const groups = new Map<number, DumpRow[]>();
  for (const d of rows) {
    const root = rootOf(cat, d);
    if (!groups.has(root)) groups.set(root, groupOf(cat, root));
  }
  const usable = [...groups.entries()].map(([root, g]) => ({ root, sources: orderSources(g, root) })).filter((g) => g.sources.length > 0);
  if (usable.length === 0) throw new RestoreError(noMatch(cat, s, rows), 'no-dump');
  const dated = usable.map((g) => ({ ...g, row: cat.dump(g.root) ?? g.sources[0] }));
  dated.sort((a, b) => (a.row.datestamp < b.row.datestamp ? -1 : a.row.datestamp > b.row.datestamp ? 1 : a.root - b.root));
  const pick = dated[dated.length - 1];
  return { selected: pick.row, sources: pick.sources, matches: usable.length };
}

/** The multiplexed file a stream dump lives in, and its ok copies. */
export function containerOf(cat: Catalog, stream: DumpRow): Selection {
  try {
    return selectDump(cat, { dump: stream.container! });
  } catch (e) {
    if (!(e instanceof RestoreError)) throw e;
    throw new RestoreError(`dump #${stream.id} (${dumpName(stream)}) is stream ${stream.stream} of dump #${stream.container}: ${e.message}`, 'no-dump');
  }
}

function noMatch(cat: Catalog, s: DumpSelector, rows: DumpRow[]): string {
  const want = [s.host && `host ${s.host}`, s.disk && `disk ${s.disk}`, s.level !== undefined && `level ${s.level}`, s.date && `date ${s.date}*`]
    .filter(Boolean).join(', ') || 'any dump';
  if (rows.length) return `no restorable dump matches ${want}; the matching ones are: ${rows.map(describe).join('; ')}`;
  const near = cat.db.prepare('SELECT * FROM dumps WHERE (@host IS NULL OR host = @host) AND (@disk IS NULL OR disk = @disk) ORDER BY host, disk, datestamp, id')
    .all({ host: s.host ?? null, disk: s.disk ?? null }) as DumpRow[];
  if ((s.level !== undefined || s.date) && near.length && (s.host || s.disk)) {
    return `no dump matches ${want}; the catalog has for ${s.host ?? '*'}:${s.disk ?? '*'}: ${near.map(describe).join('; ')}`;
  }
  const pairs = cat.db.prepare("SELECT DISTINCT host || ':' || disk AS hd FROM dumps ORDER BY hd").all() as Array<{ hd: string }>;
  return `no dump matches ${want}; the catalog has ${pairs.length ? `dumps of ${pairs.map((p) => p.hd).join(', ')}` : 'no dumps'}`;
}
