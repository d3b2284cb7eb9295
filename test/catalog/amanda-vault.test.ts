// Importing an Amanda configuration with a vault storage: a dump Amanda wrote on `daily` (chg-disk
// vt) and copied to `vault` (chg-disk vault) is one dump row per storage, the vault's a copy
// (copy_of) of the daily's, each checked against its own volumes; either changer gone, the other
// still serves the restore. The media are xfa's (Amanda's formats), the configuration and logs
// written as Amanda 3.5 writes them; the vault's vtapes are the daily's relabeled.
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { importAmanda } from '../../src/catalog/amanda-import.js';
import { openCatalog, type Catalog, type PartRow } from '../../src/catalog/db.js';
import { restoreDump } from '../../src/restore/dump.js';
import { backup, changer, DUMP, tarTree } from './helpers.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'xfa-amvault-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const VAULT_DATE = '20261122070000';
const vaultLabel = (l: string) => l.replace(/^VOL/, 'VLT'); // same length: the label header keeps its size

/** The daily vtapes copied to DIR with every label renamed (its 00000.LABEL file and header). */
function vaultCopy(vt: string, dir: string): void {
  cpSync(vt, dir, { recursive: true });
  for (const slot of readdirSync(dir)) {
    const f = readdirSync(join(dir, slot)).find((n) => n.startsWith('00000.'));
    if (!f) continue;
    const label = f.slice('00000.'.length);
    const b = readFileSync(join(dir, slot, f));
    const text = b.toString('latin1');
    expect(text).toContain(`TAPE ${label}\n`);
    writeFileSync(join(dir, slot, f), Buffer.from(text.replace(`TAPE ${label}\n`, `TAPE ${vaultLabel(label)}\n`), 'latin1'));
    renameSync(join(dir, slot, f), join(dir, slot, `00000.${vaultLabel(label)}`));
  }
}

/** The taper's lines of one run writing `parts` on storage `st` (labels mapped by `label`). */
function taperLog(st: string, date: string, parts: PartRow[], dump: { size: number; crc: string }, label = (l: string) => l): string {
  const q = `"ST:${st}" "POOL:${st}"`;
  const out = [`START driver date ${date}`];
  let open = '';
  for (const p of parts) {
    if (p.label !== open) out.push(`START taper datestamp ${date} ${q} label ${label(p.label)} tape 1`);
    open = p.label;
    out.push(`PART taper ${q} ${label(p.label)} ${p.fileno} ${DUMP.host} ${DUMP.disk} ${DUMP.datestamp} ${p.partnum}/-1 ${DUMP.level} [sec 0.1 bytes ${p.size} kps 1]`);
  }
  const crc = `${dump.crc}:${dump.size}`;
  out.push(`DONE taper ${q} ${DUMP.host} ${DUMP.disk} ${DUMP.datestamp} ${parts.length} ${DUMP.level} ${crc} ${crc} 00000000:0 [sec 1 bytes ${dump.size} kps 1]`);
  return `${out.join('\n')}\n`;
}

/** A daily backup of a real tree on vt, its vault copy on vault, and an Amanda config naming both. */
async function setup(): Promise<{ conf: string; vt: string; vault: string; files: string[]; parts: PartRow[] }> {
  const vt = changer(join(root, 'daily'), 4);
  const { argv, files } = tarTree(root);
  const scratch = openCatalog(join(root, 'scratch.db'));
  const b = await backup(scratch, vt, argv);
  expect(b.status).toBe('ok');
  const parts = scratch.parts(b.dumpId);
  const dump = scratch.dump(b.dumpId)!;
  scratch.close();
  expect(new Set(parts.map((p) => p.label)).size).toBeGreaterThan(1); // the dump spans volumes
  const vault = join(root, 'vault');
  vaultCopy(vt, vault);

  const conf = join(root, 'conf');
  mkdirSync(join(conf, 'log'), { recursive: true });
  writeFileSync(join(conf, 'amanda.conf'), [
    'tapelist "tapelist"', 'logdir "log"',
    `define storage daily {\n  tpchanger "chg-disk:${vt}"\n}`,
    `define storage vault {\n  tpchanger "chg-disk:${vault}"\n}`,
    'storage "daily"', 'vault-storage "vault"', '',
  ].join('\n'));
  const labels = [...new Set(parts.map((p) => p.label))];
  writeFileSync(join(conf, 'tapelist'), [
    ...labels.map((l) => `${VAULT_DATE} ${vaultLabel(l)} reuse POOL:vault STORAGE:vault CONFIG:conf`),
    ...labels.map((l) => `${DUMP.datestamp} ${l} reuse POOL:daily STORAGE:daily CONFIG:conf`), '',
  ].join('\n'));
  const sum = { size: dump.size!, crc: dump.crc! };
  writeFileSync(join(conf, 'log', `log.${DUMP.datestamp}.0`), taperLog('daily', DUMP.datestamp, parts, sum));
  writeFileSync(join(conf, 'log', `log.${VAULT_DATE}.0`), taperLog('vault', VAULT_DATE, parts, sum, vaultLabel));
  return { conf, vt, vault, files, parts };
}

const rows = (cat: Catalog) => cat.dumps().map((d) => ({ id: d.id, status: d.status, storage: d.storage, copy_of: d.copy_of,
  parts: cat.parts(d.id).map((p) => [p.label, p.device, p.fileno, p.partnum, p.size]) }));

async function restoresFrom(cat: Catalog, files: string[], expectedId: number): Promise<void> {
  const dest = mkdtempSync(join(root, 'restored-'));
  const r = await restoreDump(cat, { host: DUMP.host, disk: DUMP.disk }, { dir: dest });
  expect(r.dump.id).toBe(expectedId);
  for (const f of files.slice(0, 5)) expect(readFileSync(join(dest, f)).equals(readFileSync(join(root, 'src', f)))).toBe(true);
}

it('a dump on daily and vault: a row per storage, the vault\'s a copy of the daily\'s, each with its own parts', async () => {
  const { conf, vt, vault, files, parts } = await setup();
  const cat = openCatalog(join(root, 'catalog.db'));
  const r = await importAmanda(cat, conf);
  expect(r).toMatchObject({ volumes: parts.length && 2 * new Set(parts.map((p) => p.label)).size, missing: [], dumps: 2, ok: 2, failed: 0,
    parts: 2 * parts.length, crcMatched: 2, problems: [] });
  const dev = (dir: string, p: PartRow) => p.device!.replace(vt, dir);
  expect(rows(cat)).toEqual([
    { id: 1, status: 'ok', storage: `chg-disk:${vt}`, copy_of: null, parts: parts.map((p) => [p.label, p.device, p.fileno, p.partnum, p.size]) },
    { id: 2, status: 'ok', storage: `chg-disk:${vault}`, copy_of: 1,
      parts: parts.map((p) => [vaultLabel(p.label), dev(vault, p), p.fileno, p.partnum, p.size]) },
  ]);
  expect(cat.volume('VOL01')).toMatchObject({ device: `file:${join(vt, 'slot1')}`, state: 'written' });
  expect(cat.volume('VLT01')).toMatchObject({ device: `file:${join(vault, 'slot1')}`, state: 'written' });
  await restoresFrom(cat, files, 1);

  // importing again: the same rows
  const before = rows(cat);
  expect(await importAmanda(cat, conf)).toMatchObject({ dumps: 2, ok: 2, problems: [] });
  expect(rows(cat)).toEqual(before);
  cat.close();
}, 60_000);

it('the vault gone: its volumes missing in the vault\'s changer, the daily row still ok and restorable', async () => {
  const { conf, vt, vault, files } = await setup();
  rmSync(vault, { recursive: true });
  const cat = openCatalog(join(root, 'catalog.db'));
  const r = await importAmanda(cat, conf);
  expect(r).toMatchObject({ dumps: 2, ok: 1, failed: 1 });
  expect(r.missing.every((l) => l.startsWith('VLT'))).toBe(true);
  expect(r.problems).toContainEqual({ where: 'VLT01', message: `volume in the tapelist (written ${VAULT_DATE}) not found in chg-disk:${vault}: missing` });
  expect(r.problems).toContainEqual({ where: `client:/data level 0 ${DUMP.datestamp} on chg-disk:${vault}`, message: 'part 1 is on VLT01, which is missing' });
  expect(rows(cat).map((d) => [d.status, d.storage, d.copy_of])).toEqual([['ok', `chg-disk:${vt}`, null], ['failed', `chg-disk:${vault}`, 1]]);
  await restoresFrom(cat, files, 1);
  cat.close();
}, 60_000);

it('the daily vtapes gone: the daily row failed, the restore falls back to the vault copy', async () => {
  const { conf, vt, vault, files } = await setup();
  rmSync(vt, { recursive: true });
  const cat = openCatalog(join(root, 'catalog.db'));
  const r = await importAmanda(cat, conf);
  expect(r).toMatchObject({ dumps: 2, ok: 1, failed: 1 });
  expect(r.problems).toContainEqual({ where: 'VOL01', message: `volume in the tapelist (written ${DUMP.datestamp}) not found in chg-disk:${vt}: missing` });
  expect(rows(cat).map((d) => [d.status, d.storage, d.copy_of])).toEqual([['failed', `chg-disk:${vt}`, null], ['ok', `chg-disk:${vault}`, 1]]);
  await restoresFrom(cat, files, 2);
  cat.close();
}, 60_000);
