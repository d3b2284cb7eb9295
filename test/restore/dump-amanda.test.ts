// Media written by Debian's Amanda 3.5.1 (amdump/amflush, fixtures/amanda/make-media.sh): the
// vtapes are reindexed into a catalog and each dump restored with restoreDump — the
// server-gzip one (gunzipped as its header says, NATIVE-CRC checked) and the plain one — byte for
// byte the tree Amanda dumped.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { reindex } from '../../src/catalog/reindex.js';
import { scanVolume } from '../../src/media/volume.js';
import { restoreDump } from '../../src/restore/dump.js';
import { makeAmandaMedia, removeAmandaConfig, requireAmanda, sharedTmp } from '../media/amanda.js';
import { open, treeSums } from './helpers-dump.js';

const config = `xfarestore${process.pid}`;
let root: string;
let am: string;

beforeAll(() => {
  requireAmanda();
  root = sharedTmp('xfa-restore-amanda-');
  am = join(root, 'am');
  makeAmandaMedia(am, config);
}, 180_000);

afterAll(() => {
  removeAmandaConfig(config);
  if (root) rmSync(root, { recursive: true, force: true });
});

it('Amanda-written vtapes, reindexed: the gzip and the plain dump restore to the tree Amanda dumped', async () => {
  const cat = open(root);
  const r = await reindex(cat, [`chg-disk:${join(am, 'vtapes')}`]);
  expect(r.problems).toEqual([]);
  // amdump/amflush say what went wrong in their reports when a dump did not reach the vtapes
  const report = (f: string) => (existsSync(join(am, f)) ? readFileSync(join(am, f), 'utf8').slice(-2000) : '');
  expect(r.ok, `${report('report.gz')}\n${report('report.flush')}\n${report('report.plain')}`).toBe(2);
  const gz = await restoreDump(cat, { host: 'localhost', disk: 'gz' }, { dir: join(root, 'gz') });
  // amflush from the holding disk writes NATIVE-CRC (then filter-crc checks the gunzipped tar);
  // a dump Amanda sent straight to tape has none
  const h = scanVolume(cat.parts(gz.dump.id)[0].device!).files[0].header;
  const native = h.nativeCrc !== undefined && h.nativeCrc.crc !== '00000000';
  expect(gz.chain).toEqual(['source-recovery', 'filter-gunzip', ...(native ? ['filter-crc'] : []), 'dest-process']);
  expect(gz.crc).toMatchObject({ status: 'ok', ...(native ? { native: 'ok' } : {}) });
  expect(treeSums(join(root, 'gz'))).toEqual(treeSums(join(am, 'data')));
  const plain = await restoreDump(cat, { host: 'localhost', disk: 'plain' }, { dir: join(root, 'plain') });
  expect(plain.chain).toEqual(['source-recovery', 'dest-process']);
  expect(plain.crc.status).toBe('ok');
  expect(treeSums(join(root, 'plain'))).toEqual(treeSums(join(am, 'data')));
  // one path: no index, tar picks it from the whole stream
  const one = await restoreDump(cat, { host: 'localhost', disk: 'gz' }, { dir: join(root, 'one') }, { paths: ['./sub dir/hello.txt'] });
  expect(one.selective).toBe(false);
  expect(treeSums(join(root, 'one'))).toEqual({ './sub dir/hello.txt': treeSums(join(am, 'data'))['./sub dir/hello.txt'] });
  cat.close();
});
