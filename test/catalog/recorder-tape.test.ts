// The Recorder reads parts back at their exact sizes: a dump written to (emulated) tapes, whose
// files end in a zero-padded block, is recorded ok with the writer's CRC; a damaged part is not.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { recordTransfer } from '../../src/catalog/recorder.js';
import { element } from '../../src/registry.js';
import { Xfer } from '../../src/xfer.js';
import { DUMP, KiB, open } from './helpers.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'xfa-recorder-tape-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const HEADER = `AMANDA: SPLIT_FILE ${DUMP.datestamp} ${DUMP.host} ${DUMP.disk} part 1/-1 lev 0 comp N program /bin/tar`;

function tapes(n: number): string {
  for (let i = 1; i <= n; i++) writeFileSync(join(root, `t-${i}`), `XFATAPE1 ${1 << 20} ${600_000}\n`.padEnd(64, ' '));
  return `chg-multi:tape:emu:${root}/t-{1..${n}}`;
}

async function backupToTape(length: number) {
  const changer = tapes(2);
  const devices = [1, 2].map((i) => `tape:emu:${root}/t-${i}`);
  const cat = open(root);
  const xfer = new Xfer([element('source-random', { length, seed: 5 }),
    element('dest-taper', { changer, header: HEADER, 'part-size': 256 * KiB, 'label-template': 'TAPE-$s', 'device-properties': ['LEOM=true'] })]);
  const r = await recordTransfer(cat, xfer, DUMP, { deviceOf: (m) => (m.slot ? devices[m.slot - 1] : undefined) });
  return { cat, ...r };
}

it('a dump whose last tape block is padded is recorded ok, part sizes exact', async () => {
  const length = 700 * KiB + 13;
  const { cat, dumpId, status } = await backupToTape(length);
  const d = cat.dump(dumpId)!;
  expect([status, d.error]).toEqual(['ok', null]);
  expect(d.size).toBe(length);
  const parts = cat.parts(dumpId);
  expect(parts.reduce((s, p) => s + p.size, 0)).toBe(length);
  expect(new Set(parts.map((p) => p.label)).size).toBe(2); // spanned both tapes
  expect(parts.every((p) => /^[0-9a-f]{8}$/.test(p.crc ?? ''))).toBe(true);
  cat.close();
});

it('a part damaged on the tape before the read-back: the dump is recorded failed', async () => {
  // damage lands between the write and the read-back: corrupt every tape image's data region as
  // soon as the writer is done (the part-done of the last part), before `done` triggers the read-back
  const changer = tapes(1);
  const cat = open(root);
  const xfer = new Xfer([element('source-random', { length: 200 * KiB + 1, seed: 6 }),
    element('dest-taper', { changer, header: HEADER, 'part-size': 0, 'label-template': 'TAPE-$s' })]);
  xfer.on('message', (m) => {
    if (m.type === 'crc' && m.elt.startsWith('dest-taper')) {
      const f = join(root, 't-1');
      const b = readFileSync(f);
      b[b.length - 50_000] ^= 0x55;
      writeFileSync(f, b);
    }
  });
  const r = await recordTransfer(cat, xfer, DUMP, { deviceOf: () => `tape:emu:${root}/t-1` });
  expect(r.status).toBe('failed');
  expect(cat.dump(r.dumpId)!.error).toMatch(/CRC|read back/);
  cat.close();
});
