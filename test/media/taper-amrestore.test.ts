// Amanda's amrestore reads a dump dest-taper spread over 3 vtapes (SPLIT_FILE parts, one of them
// retried after PEOM): each volume restores its parts, named by partnum, and their concatenation
// is the dump.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headerText } from '../../src/media/header.js';
import { element, runClean } from '../helpers.js';
import { asBackup, backupDir, requireAmanda, sharedTmp } from './amanda.js';
import { bytes, dumpHeader, partDone } from './media-helpers.js';

const MiB = 1 << 20;
let root: string;
beforeAll(() => {
  requireAmanda();
  root = sharedTmp('xfa-taper-amrestore-');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('amrestore reads dest-taper volumes', () => {
  it('a 5.5 MiB dump in 1 MiB parts over 3 vtapes (2.5 MiB each, disk cache retries): amrestore restores every part', async () => {
    const dir = join(root, 'vt');
    for (let i = 1; i <= 4; i++) mkdirSync(join(dir, `slot${i}`), { recursive: true });
    const data = bytes(5.5 * MiB, 3);
    const src = join(root, 'dump');
    writeFileSync(src, data);
    const datestamp = '20240102030405';
    const out = await runClean([element('source-file', { path: src }), element('dest-taper', {
      changer: `chg-disk:${dir}`, 'label-template': 'XFA-%%', 'part-size': MiB, 'part-cache': 'disk', 'part-cache-dir': root,
      header: headerText(dumpHeader({ type: 'FILE', datestamp, name: 'client', disk: '/srv/data' })),
      'device-properties': [`MAX_VOLUME_USAGE=${2.5 * MiB}`, 'LEOM=false'],
    })]);
    expect(out.error).toBeUndefined();
    const parts = partDone(out.messages) as Array<{ slot: number; successful: boolean; partnum: number }>;
    expect(parts.filter((p) => !p.successful).length).toBe(2);
    expect(new Set(parts.map((p) => p.slot))).toEqual(new Set([1, 2, 3]));
    const restored: Buffer[] = [];
    for (let slot = 1; slot <= 3; slot++) {
      const o = backupDir(join(root, `restore${slot}`));
      const r = asBackup(`amrestore file:${join(dir, `slot${slot}`)} client /srv/data`, o);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toContain(`Restoring from tape XFA-0${slot} starting with file 1.`);
      expect(r.stderr).toMatch(/restoring split dumpfile: date 20240102030405 host client disk \/srv\/data part \d+\/UNKNOWN lev 0/);
      const files = readdirSync(o).sort();
      const expected = parts.filter((p) => p.successful && p.slot === slot).map((p) => `client._srv_data.${datestamp}.0.${String(p.partnum).padStart(7, '0')}`);
      expect(files).toEqual(expected);
      for (const f of files) restored.push(readFileSync(join(o, f)));
    }
    expect(Buffer.concat(restored).equals(data)).toBe(true);
  });
});
