// A multiplexed backup recorded in the catalog (xfa run --record on a mux pipeline into vtapes):
// the multiplexed file is one dump with parts, every stream of its map a dump of its own that
// `xfa restore` brings back alone (demux picks it out of the container's parts); a stream whose
// source failed is recorded failed while the others stay good; verify passes.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { openCatalog } from '../../src/catalog/db.js';
import { scratch, xfa } from './helpers.js';

const HEADER = 'AMANDA: SPLIT_FILE 20261122110000 bighost mux part 1/-1 lev 0 comp N program MUX';

function tree(root: string, name: string, n: number): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < n; i++) execFileSync('sh', ['-c', `head -c ${10_000 + i * 3_001} /dev/urandom > '${join(dir, `f${i}`)}'`]);
  return dir;
}

it('records the container and its streams; restores one stream alone; a failed source fails only its stream', async () => {
  const dir = scratch();
  for (const s of [1, 2, 3]) mkdirSync(join(dir, 'vt', `slot${s}`), { recursive: true });
  const db = join(dir, 'catalog.db');
  const a = tree(dir, 'a', 12);
  const b = tree(dir, 'b', 5);
  const text = [
    `source-process cmd="tar -cf - -C ${a} ." ! m.`,
    `source-process cmd="sh -c 'head -c 70000 /dev/zero; exit 4'" ! m.`,
    `source-process cmd="tar -cf - -C ${b} ." ! filter-zstd ! m.`,
    `source-random length=3MiB seed=9 rate=20MB ! m.`,
    `mux name=m map=db1:/a:0:tar,db1:/broken:0,db1:/b:1:tar,db1:/random:0 ! dest-taper changer=chg-disk:${join(dir, 'vt')} label-template=MX%% part-size=256KiB device-properties=MAX_VOLUME_USAGE=2MiB header="${HEADER}"`,
  ].join('\n');
  const run = await xfa(['launch', text, '--record', '-c', db]);
  expect(run.code).toBe(1); // one chain failed
  expect(run.stderr).toMatch(/stream 2: dump #\d+ db1:\/broken level 0 20261122110000: failed \(its source failed: .*status 4/);
  expect(run.stderr).toMatch(/stream 1: dump #\d+ db1:\/a level 0 .*: ok/);

  const cat = openCatalog(db);
  const rows = cat.dumps();
  const container = rows.find((d) => d.disk === 'mux')!;
  expect(container).toMatchObject({ status: 'ok', host: 'bighost', container: null });
  expect(cat.parts(container.id).length).toBeGreaterThan(4);
  expect(new Set(cat.parts(container.id).map((p) => p.label)).size).toBeGreaterThan(1); // spanned vtapes
  const streams = rows.filter((d) => d.container === container.id).sort((x, y) => x.stream! - y.stream!).map((d) => [d.disk, d.stream, d.status, d.compression]);
  expect(streams).toEqual([['/a', 1, 'ok', null], ['/broken', 2, 'failed', null], ['/b', 3, 'ok', 'zstd'], ['/random', 4, 'ok', null]]);
  cat.close();

  // one stream back, alone: a tar tree, and a zstd-compressed one
  const outA = join(dir, 'ra');
  const ra = await xfa(['restore', '-c', db, '--host', 'db1', '--disk', '/a', '--to', outA]);
  expect(ra.code, ra.stderr).toBe(0);
  expect(ra.stdout).toMatch(/stream 1 of #\d+/);
  expect(execFileSync('diff', ['-r', a, outA], { encoding: 'utf8' })).toBe('');
  const outB = join(dir, 'rb');
  expect((await xfa(['restore', '-c', db, '--host', 'db1', '--disk', '/b', '--to', outB])).code).toBe(0);
  expect(execFileSync('diff', ['-r', b, outB], { encoding: 'utf8' })).toBe('');
  // the generated stream byte for byte (source-random seed=9 regenerates it)
  const raw = join(dir, 'random.raw');
  expect((await xfa(['restore', '-c', db, '--host', 'db1', '--disk', '/random', '--output', raw])).code).toBe(0);
  const again = await xfa(['launch', `source-random length=3MiB seed=9 ! dest-file path=${join(dir, 'expect.raw')}`]);
  expect(again.code).toBe(0);
  expect(readFileSync(raw).equals(readFileSync(join(dir, 'expect.raw')))).toBe(true);
  // the failed stream is not restorable
  const broken = await xfa(['restore', '-c', db, '--host', 'db1', '--disk', '/broken', '--output', join(dir, 'x')]);
  expect(broken.code).toBe(1);
  expect(broken.stderr).toMatch(/failed|no restorable/);
  // ls names the streams; verify checks the container (the streams have no parts of their own)
  const ls = await xfa(['ls', '-c', db]);
  expect(ls.stdout).toMatch(/db1:\/a level 0 20261122110000 {2}ok .* stream 1 of #\d+/);
  const v = await xfa(['verify', '-c', db]);
  expect(v.stdout + v.stderr).toMatch(/0 problems\n$/);
  expect(v.code).toBe(0);
  // migrate moves the multiplexed file as a whole; a stream is then restored from the copy
  for (const s of [1, 2, 3, 4]) mkdirSync(join(dir, 'vt2', `slot${s}`), { recursive: true });
  const dry = await xfa(['migrate', '-c', db, '--to', `chg-disk:${join(dir, 'vt2')}`, '--dry-run', '--json']);
  expect(dry.code, dry.stderr).toBe(0);
  expect(dry.stdout).toContain('"disk":"mux"');
  expect(dry.stdout).not.toContain('"disk":"/a"');
  const mig = await xfa(['migrate', '-c', db, '--to', `chg-disk:${join(dir, 'vt2')}`, '--label-template', 'CP%%', '--part-size', '1MiB']);
  expect(mig.code, mig.stderr).toBe(0);
  execFileSync('rm', ['-rf', join(dir, 'vt')]); // the original vtapes are gone
  const outA2 = join(dir, 'ra2');
  const ra2 = await xfa(['restore', '-c', db, '--host', 'db1', '--disk', '/a', '--to', outA2]);
  expect(ra2.code, ra2.stderr).toBe(0);
  expect(ra2.stdout).toMatch(/stream 1 of #\d+, from its copy #\d+/);
  expect(execFileSync('diff', ['-r', a, outA2], { encoding: 'utf8' })).toBe('');
}, 120_000);
