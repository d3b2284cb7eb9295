// Several processes writing one catalog at once: `xfa launch ... --record` backups in parallel, and
// processes opening (creating, migrating) a brand-new catalog at the same time.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { openCatalog, SCHEMA_VERSION } from '../../src/catalog/db.js';
import { finished, ROOT, scratch, xfa } from '../cli/helpers.js';

const HEADER = (disk: string) => `AMANDA: SPLIT_FILE 20261122080000 client ${disk} part 1/-1 lev 0 comp N program /bin/tar`;

function vtapes(dir: string, name: string, slots = 4): string {
  const vt = join(dir, name);
  for (let i = 1; i <= slots; i++) mkdirSync(join(vt, `slot${i}`), { recursive: true });
  return vt;
}

it('three xfa launch --record at once against one catalog: every dump ok with all its parts', async () => {
  const dir = scratch();
  const db = join(dir, 'catalog.db');
  const runs = ['a', 'b', 'c'].map((n, i) => {
    const vt = vtapes(dir, `vt-${n}`);
    // many small parts: many catalog writes racing each other
    const text = `source-random length=1536KiB seed=${i + 1} ! dest-taper changer=chg-disk:${vt} label-template=${n.toUpperCase()}-%%% ` +
      `part-size=32KiB device-properties=MAX_VOLUME_USAGE=1MiB header="${HEADER(`/data-${n}`)}"`;
    return xfa(['launch', text, '--record', '--catalog', db]);
  });
  const outs = await Promise.all(runs);
  for (const r of outs) {
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/recorded dump #\d+ client:\/data-\w level 0 20261122080000: ok/);
  }
  const cat = openCatalog(db);
  try {
    const dumps = cat.dumps();
    expect(dumps.map((d) => [d.disk, d.status, d.size]).sort()).toEqual([
      ['/data-a', 'ok', 1536 * 1024], ['/data-b', 'ok', 1536 * 1024], ['/data-c', 'ok', 1536 * 1024],
    ]);
    for (const d of dumps) {
      const parts = cat.parts(d.id);
      expect(parts.map((p) => p.partnum)).toEqual(Array.from({ length: parts.length }, (_, i) => i + 1));
      expect(parts.reduce((s, p) => s + p.size, 0)).toBe(1536 * 1024);
      expect(parts.every((p) => p.crc !== null && p.label.startsWith(d.disk.slice(-1).toUpperCase()))).toBe(true);
    }
    const vols = cat.volumes();
    expect([...new Set(vols.map((v) => v.label[0]))]).toEqual(['A', 'B', 'C']);
    for (const v of vols) expect(v.device).toContain(`/vt-${v.label[0].toLowerCase()}/`);
  } finally {
    cat.close();
  }
});

it('processes opening a brand-new catalog at once all succeed (one creates it, the others wait)', async () => {
  const dir = scratch();
  const script = `
    const { openCatalog } = await import(${JSON.stringify(join(ROOT, 'src/catalog/db.ts'))});
    const cat = openCatalog(process.argv[1]);
    cat.addPart(cat.startDump({ host: 'h', disk: process.argv[2], level: 0, datestamp: '20260101' }),
      { label: 'V' + process.argv[2], device: 'file:/x/' + process.argv[2], fileno: 1, partnum: 1, size: 1 });
    cat.close();
  `;
  for (let round = 0; round < 3; round++) {
    const db = join(dir, `new-${round}`, 'catalog.db');
    const outs = await Promise.all([1, 2, 3, 4].map((n) => finished(spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, db, String(n)],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }))));
    for (const o of outs) {
      expect(o.stderr).toBe('');
      expect(o.code).toBe(0);
    }
    const cat = openCatalog(db);
    expect(cat.version()).toBe(SCHEMA_VERSION);
    expect(cat.dumps().map((d) => d.disk).sort()).toEqual(['1', '2', '3', '4']);
    expect(cat.parts()).toHaveLength(4);
    cat.close();
  }
});
