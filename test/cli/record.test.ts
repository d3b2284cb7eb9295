// xfa run --record: a pipeline's dest-taper dump recorded in the catalog (with its slice index).
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { openCatalog } from '../../src/catalog/db.js';
import { chainCodecs, dumpOfChain } from '../../src/cli/record.js';
import { element } from '../../src/registry.js';
import { changer, tarTree } from '../catalog/helpers.js';
import { scratch, xfa } from './helpers.js';

const HEADER = 'AMANDA: SPLIT_FILE 20261122080000 client /data part 1/-1 lev 1 comp .zst program /bin/tar';


it('records an ok dump with its parts and slice index; xfa ls shows it', async () => {
  const dir = scratch();
  const vt = changer(dir);
  const db = join(dir, 'catalog.db');
  const { argv } = tarTree(dir);
  const text = `source-process cmd="${argv.join(' ')}" ! filter-tar-index slice-on=member ! filter-zstd seekable=true ! ` +
    `dest-taper changer=chg-disk:${vt} label-template=VOL%% part-size=128KiB device-properties=MAX_VOLUME_USAGE=400KiB header="${HEADER}"`;
  const r = await xfa(['launch', text, '--record', '--catalog', db, '-v']);
  expect(r.stderr).toBe('');
  expect(r.stdout).not.toMatch(/no slice index/);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/recorded dump #1 client:\/data level 1 20261122080000: ok/);
  const cat = openCatalog(db);
  try {
    const [d] = cat.dumps();
    expect(d).toMatchObject({ host: 'client', disk: '/data', level: 1, status: 'ok', compression: 'zstd', encryption: null, storage: `chg-disk:${vt}` });
    const parts = cat.parts(d.id);
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.every((p) => p.crc !== null && p.device?.startsWith('file:'))).toBe(true);
    expect(cat.sliceIndex(d.id)).toBeDefined();
  } finally {
    cat.close();
  }
});

it('a failing backup is recorded failed and exits 1; a pipeline without dest-taper is a usage error', async () => {
  const dir = scratch();
  const vt = changer(dir);
  const db = join(dir, 'catalog.db');
  const bad = await xfa(['launch', `source-process cmd="sh -c 'head -c 300000 /dev/zero; exit 3'" ! dest-taper changer=chg-disk:${vt} label-template=VOL%% part-size=128KiB header="${HEADER}"`, '--record', '-c', db]);
  expect(bad.code).toBe(1);
  expect(bad.stderr).toMatch(/recorded dump #1 client:\/data level 1 20261122080000: failed \(.*exit.*3/);
  const cat = openCatalog(db);
  expect(cat.dumps().map((d) => d.status)).toEqual(['failed']);
  cat.close();
  const usage = await xfa(['launch', `source-random length=1KiB seed=1 ! dest-file path=${join(dir, 'x')}`, '--record', '-c', db]);
  expect(usage.code).toBe(2);
  expect(usage.stderr).toMatch(/--record needs a pipeline ending in dest-taper \(it ends in dest-file\)/);
});

it('dumpOfChain reads the header; chainCodecs names what the filters did', () => {
  const taper = element('dest-taper', { changer: 'chg-disk:/v', header: HEADER });
  expect(dumpOfChain([element('source-random', { seed: 1 }), element('filter-encrypt', { 'key-file': '/k' }), taper]))
    .toMatchObject({ host: 'client', disk: '/data', level: 1, datestamp: '20261122080000', program: '/bin/tar', compression: '.zst', encryption: 'aes-256-gcm' });
  expect(dumpOfChain([element('source-random', { seed: 1 }), element('dest-taper', { changer: 'chg-disk:/v', header: 'AMANDA: TAPESTART DATE X TAPE Y' })]))
    .toMatch(/TAPESTART header, not a dump's/);
  expect(dumpOfChain([element('source-random', { seed: 1 }), element('dest-taper', { changer: 'chg-disk:/v', header: 'garbage' })])).toMatch(/header/);
  expect(chainCodecs([element('filter-process', { cmd: 'gzip -c -6' })])).toEqual({ compression: 'gzip' });
  expect(chainCodecs([element('filter-process', { cmd: 'zstd -d' })])).toEqual({});
});
