// Choosing a dump and its copies: a copy of a copy belongs to the family; thousands of families
// are grouped with one indexed query each (the selection once took minutes on such a catalog).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { openCatalog } from '../../src/catalog/db.js';
import { selectDump } from '../../src/restore/select.js';

const root = mkdtempSync(join(tmpdir(), 'xfa-select-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

it('a dump, its copy and the copy of that copy are one family, the original first; other families stay apart', () => {
  const cat = openCatalog(join(root, 'c.db'));
  const add = (datestamp: string, extra: Record<string, unknown> = {}, status = 'ok'): number => {
    const id = cat.startDump({ host: 'h', disk: '/d', level: 0, datestamp, ...extra });
    if (status === 'ok') cat.finishDump(id, 10, 'abcd');
    else cat.failDump(id, 'broken');
    return id;
  };
  cat.tx(() => {
    for (let i = 0; i < 2000; i++) {
      const o = add(`2026${String(i).padStart(10, '0')}`);
      add(`2026${String(i).padStart(10, '0')}`, { copyOf: o, origin: 'migrate' });
    }
  });
  const a = add('20270101000000', {}, 'failed');
  const b = add('20270101000000', { copyOf: a, origin: 'migrate' });
  const c = add('20270101000000', { copyOf: b, origin: 'migrate' });
  const t0 = Date.now();
  const s = selectDump(cat, { host: 'h', disk: '/d' });
  const took = Date.now() - t0;
  expect(s.selected.id).toBe(a);
  expect(s.sources.map((d) => d.id)).toEqual([b, c]); // the failed original is not a source
  expect(s.matches).toBe(2001);
  expect(selectDump(cat, { dump: c }).sources.map((d) => d.id)).toEqual([c, b]);
  expect(took).toBeLessThan(30_000); // generous: it is a few seconds at worst on a loaded machine, minutes before
  cat.close();
});
