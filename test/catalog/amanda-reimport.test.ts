// Importing an Amanda configuration again, interrupted half-way (as by kill -9): no dump is left
// 'ok' without its parts; importing once more restores every row.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { importAmanda } from '../../src/catalog/amanda-import.js';
import { openCatalog } from '../../src/catalog/db.js';
import { makeAmandaMedia, removeAmandaConfig, requireAmanda, sharedTmp } from '../media/amanda.js';

const config = `xfareimport${process.pid}`;
const confDir = `/etc/amanda/${config}`;
let root: string;

beforeAll(() => {
  requireAmanda();
  root = sharedTmp('xfa-amreimport-');
  makeAmandaMedia(join(root, 'am'), config); // two dumps: gz (4 parts), plain (6 parts)
}, 240_000);

afterAll(() => {
  removeAmandaConfig(config);
  if (root) rmSync(root, { recursive: true, force: true });
});

it('a re-import that dies after its first dump leaves no ok dump without its parts', async () => {
  const cat = openCatalog(join(root, 'catalog.db'));
  try {
    await importAmanda(cat, confDir);
    const rows = () => cat.dumps().map((d) => [d.disk, d.status, cat.parts(d.id).length]);
    const before = rows();
    expect(before.filter((d) => d[1] === 'ok')).toHaveLength(2);

    // the process dies while recording the first dump's status: nothing after that point happens
    const finish = cat.finishDump.bind(cat);
    cat.finishDump = () => {
      throw new Error('killed');
    };
    await expect(importAmanda(cat, confDir)).rejects.toThrow('killed');
    cat.finishDump = finish;
    for (const d of cat.dumps()) {
      if (d.status === 'ok') expect([d.disk, d.status, cat.parts(d.id).length]).toEqual(before.find((b) => b[0] === d.disk));
      else expect(d).toMatchObject({ status: 'running', error: expect.stringMatching(/interrupted import/) });
    }
    expect(cat.dumps().filter((d) => d.status === 'ok')).toEqual([]);

    const again = await importAmanda(cat, confDir);
    expect(again).toMatchObject({ ok: 2, failed: 0 });
    expect(rows()).toEqual(before);
  } finally {
    cat.close();
  }
}, 240_000);
