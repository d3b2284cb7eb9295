// dest-taper: parts across vtapes from a changer — Amanda's installcheck vectors (Amanda_Xfer.pl,
// test_taper_dest: seed 0xFACADE, vtapes of MAX_VOLUME_USAGE 2.5 MiB, 1 MiB parts), LEOM cuts,
// PEOM retries from memory, disk and holding caches, PEOM without a cache (NOT-RETRYING), label
// checks, cancel; every written dump is read back part by part and compared.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { HEADER_SIZE, headerText, parseHeader } from '../../src/media/header.js';
import { labelVolume, scanVolume } from '../../src/media/volume.js';
import type { PartDoneMessage, XferMessage } from '../../src/messages.js';
import { Xfer } from '../../src/xfer.js';
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

  it('disk cache, no LEOM: the same sequence, the retry read from an unlinked file', async () => {
    const dir = changer('disk');
    const cacheDir = mkdirp(join(root, 'cache'));
    const out = await taper(element('source-random', { length: AMANDA_41, seed: SEED }),
      { changer: `chg-disk:${dir}`, 'part-size': MiB, 'part-cache': 'disk', 'part-cache-dir': cacheDir, 'device-properties': [MVU, 'LEOM=false'] });
    expect(out.error).toBeUndefined();
    expect(amandaSeq(out.messages)).toEqual(['PART-1-OK', 'PART-2-OK', 'PART-3-FAILED', 'EOM', 'PART-3-OK', 'PART-4-OK', 'PART-5-OK', 'DONE']);
    expect(out.messages.some((m) => m.type === 'info' && /retrying failed parts from a disk cache/.test(m.message))).toBe(true);
    expect(readdirSync(cacheDir)).toEqual([]);
    const data = await readParts(dir, partDone(out.messages));
    expectCrc(out, data);
  });

  it('no cache, exact multiple of part size: 2 parts, no empty third part (Amanda writes one)', async () => {
    const dir = changer('exact');
    const out = await taper(element('source-random', { length: 2 * MiB, seed: SEED }),
      { changer: `chg-disk:${dir}`, 'part-size': MiB, 'device-properties': [MVU] });
    expect(amandaSeq(out.messages)).toEqual(['PART-1-OK', 'PART-2-OK', 'DONE']);
    expect(partDone(out.messages).map((p) => [p.size, p.eof, p.reason])).toEqual([[MiB, false, 'part-size'], [MiB, true, 'eof']]);
    expectCrc(out, await readParts(dir, partDone(out.messages)));
  });

  it('no splitting, fits: one part', async () => {
    const dir = changer('nosplit');
    const out = await taper(element('source-random', { length: 2 * MiB, seed: SEED }), { changer: `chg-disk:${dir}`, 'device-properties': [MVU] });
    expect(amandaSeq(out.messages)).toEqual(['PART-1-OK', 'DONE']);
    expectCrc(out, await readParts(dir, partDone(out.messages)));
  });

  it("no splitting, doesn't fit: PART-1-FAILED, EOM, NOT-RETRYING (error), CANCELLED; the volume keeps only its label", async () => {
    const dir = changer('nosplit-big');
    const out = await taper(element('source-random', { length: AMANDA_41, seed: SEED }), { changer: `chg-disk:${dir}`, 'device-properties': [MVU] });
    expect(amandaSeq(out.messages)).toEqual(['PART-1-FAILED', 'EOM', 'ERROR', 'CANCELLED', 'DONE']);
    expect(out.error?.message).toMatch(/part 1 hit the end of the volume and there is no part cache to retry it from \(NOT-RETRYING/);
    expect(partDone(out.messages)[0]).toMatchObject({ successful: false, eom: true, eof: false, reason: 'peom' });
    expect(scanVolume(`file:${join(dir, 'slot1')}`).files.map((f) => f.file)).toEqual([]);
    expect(readdirSync(join(dir, 'slot2'))).toEqual([]);
  });

  it('splitting without LEOM or cache: PEOM is fatal (PART-3-FAILED, EOM, NOT-RETRYING); parts 1-2 stay readable', async () => {
    const dir = changer('peom-fatal');
    const out = await taper(element('source-random', { length: AMANDA_41, seed: SEED }),
      { changer: `chg-disk:${dir}`, 'part-size': MiB, 'device-properties': [MVU, 'LEOM=false'] });
    expect(amandaSeq(out.messages)).toEqual(['PART-1-OK', 'PART-2-OK', 'PART-3-FAILED', 'EOM', 'ERROR', 'CANCELLED', 'DONE']);
    expect(out.messages.some((m) => m.type === 'info' && /PEOM will be fatal/.test(m.message))).toBe(true);
    const data = await readParts(dir, partDone(out.messages));
    const full = (await runClean([element('source-random', { length: 2 * MiB, seed: SEED }), element('dest-buffer', { 'max-size': 4 * MiB })])).xfer.result(1)!;
    expect(data.equals(full)).toBe(true);
  });

  it('splitting with LEOM (default on vtapes): part 3 ends early at the warning, part 4 starts volume 2; nothing fails', async () => {
    const dir = changer('leom');
    const out = await taper(element('source-random', { length: AMANDA_41, seed: SEED }),
      { changer: `chg-disk:${dir}`, 'part-size': MiB, 'device-properties': [MVU] });
    expect(out.error).toBeUndefined();
    expect(amandaSeq(out.messages)).toEqual(['PART-1-OK', 'PART-2-OK', 'PART-3-OK', 'EOM', 'PART-4-OK', 'PART-5-OK', 'DONE']);
    const parts = partDone(out.messages) as Array<PartDoneMessage & { slot: number }>;
    expect(parts[2]).toMatchObject({ reason: 'leom', eom: true, slot: 1 });
    expect(parts[2].size).toBeLessThan(MiB);
    expect(parts[2].size % 32768).toBe(0);
    expect(parts[3]).toMatchObject({ slot: 2, fileno: 1, size: MiB });
    const data = await readParts(dir, parts);
    expect(data.length).toBe(AMANDA_41);
    expectCrc(out, data);
  });

  it('LEOM hits in the file-2 header: PART-2-0-OK, EOM (the empty part removed), then part 2 on volume 2', async () => {
    const dir = changer('leom-header');
    const P = 74 * 32768; // part 1 ends exactly where the next 32 KiB header enters the warning zone
    const out = await taper(element('source-random', { length: 2 * P + 1000, seed: SEED }),
      { changer: `chg-disk:${dir}`, 'part-size': P, 'device-properties': [MVU] });
    expect(out.error).toBeUndefined();
    expect(amandaSeq(out.messages)).toEqual(['PART-1-OK', 'PART-2-OK', 'EOM', 'PART-2-OK', 'PART-3-OK', 'EOM', 'PART-3-OK', 'DONE']); // and again on volume 2
    const parts = partDone(out.messages) as Array<PartDoneMessage & { slot: number }>;
    expect(parts[1]).toMatchObject({ partnum: 2, size: 0, successful: true, eom: true, reason: 'leom', slot: 1 });
    expect(scanVolume(`file:${join(dir, 'slot1')}`).files.map((f) => f.file)).toEqual([1]);
    expect(parts[2]).toMatchObject({ partnum: 2, size: P, slot: 2, fileno: 1 });
    expectCrc(out, await readParts(dir, parts));
  });

  it('cancellation after part 4: CANCELLED, DONE; the part in progress is removed, every finished part reads back', async () => {
    const dir = changer('cancel', 40);
    let cancelled = false;
    // endless data: only the cancel ends it (messages reach JavaScript asynchronously, so the
    // writer may be a few parts further by then)
    const out = await taper(element('source-random', { length: 0, seed: SEED }),
      { changer: `chg-disk:${dir}`, 'part-size': MiB, 'part-cache': 'memory', 'device-properties': [MVU, 'LEOM=false'] },
      (x) => x.on('message', (m: XferMessage) => {
        if (m.type === 'part-done' && m.partnum === 4 && m.successful && !cancelled) {
          cancelled = true;
          x.cancel();
        }
      }));
    expect(out.error?.cancelled).toBe(true);
    const seq = amandaSeq(out.messages);
    expect(seq.slice(0, 6)).toEqual(['PART-1-OK', 'PART-2-OK', 'PART-3-FAILED', 'EOM', 'PART-3-OK', 'PART-4-OK']);
    // the part in progress is reported after the cancel (xfa: reason "cancelled"; Amanda says nothing)
    const parts = partDone(out.messages);
    const last = parts.at(-1)!;
    expect(seq.slice(-3)).toEqual(['CANCELLED', `PART-${last.partnum}-FAILED`, 'DONE']);
    expect(last).toMatchObject({ successful: false, reason: 'cancelled' });
    const ok = parts.filter((p) => p.successful);
    expect(ok.at(-1)!.partnum).toBe(last.partnum - 1);
    const data = await readParts(dir, ok);
    const full = (await runClean([element('source-random', { length: data.length, seed: SEED }), element('dest-buffer', { 'max-size': 1 << 30 })])).xfer.result(1)!;
    expect(data.equals(full)).toBe(true);
    // the volume of the cancelled part holds exactly the finished parts
    const slot = (last as PartDoneMessage & { slot: number }).slot;
    const there = ok.filter((p) => (p as PartDoneMessage & { slot: number }).slot === slot).map((p) => p.fileno);
    expect(scanVolume(`file:${join(dir, `slot${slot}`)}`).files.map((f) => f.file)).toEqual(there);
  });
});

describe('dest-taper: retries from the holding file (cache_inform)', () => {
  const data = bytes(6 * MiB + 12345, 77);
  it('source-holding -> dest-taper part-cache=holding, no LEOM: parts 3 and 5 fail and are re-read from the chunks', async () => {
    const hdir = mkdirp(join(root, 'holding'));
    const path = join(hdir, 'localhost._home.0');
    expect((await hold(path, data, { chunksize: '1MiB' })).error).toBeUndefined();
    const dir = changer('holding');
    const out = await taper(element('source-holding', { path }),
      { changer: `chg-disk:${dir}`, 'part-size': MiB, 'part-cache': 'holding', 'holding-file': path, 'device-properties': [MVU, 'LEOM=false'] });
    expect(out.error).toBeUndefined();
    expect(amandaSeq(out.messages)).toEqual(['PART-1-OK', 'PART-2-OK', 'PART-3-FAILED', 'EOM', 'PART-3-OK', 'PART-4-OK',
      'PART-5-FAILED', 'EOM', 'PART-5-OK', 'PART-6-OK', 'PART-7-OK', 'DONE']);
    expect(out.messages.filter((m) => m.type === 'info' && /will retry part \d+ on the next volume from the holding file/.test(m.message))).toHaveLength(2);
    const back = await readParts(dir, partDone(out.messages));
    expect(back.equals(data)).toBe(true);
  });

  it('a holding file that is not the data fed in: the retry notices (CRC) and fails, naming the holding file', async () => {
    const hdir = mkdirp(join(root, 'holding-other'));
    const path = join(hdir, 'localhost._home.0');
    expect((await hold(path, bytes(6 * MiB, 5), { chunksize: '1MiB' })).error).toBeUndefined();
    const dir = changer('holding-other');
    const out = await taper(element('source-random', { length: 6 * MiB, seed: SEED }),
      { changer: `chg-disk:${dir}`, 'part-size': MiB, 'part-cache': 'holding', 'holding-file': path, 'device-properties': [MVU, 'LEOM=false'] });
    expect(out.error?.message).toMatch(new RegExp(`retry part 3 from ${path}: the bytes read back differ from the part's .*the holding file changed`));
  });
});

describe('dest-taper: volumes and labels', () => {
  it('a volume with another configuration\'s label is refused and left alone; chg-multi brace list', async () => {
    const dir = changer('labels', 3);
    labelVolume(`file:${join(dir, 'slot1')}`, 'OTHERCONF07', { timestamp: '20240101000000' });
    const before = readFileSync(join(dir, 'slot1', '00000.OTHERCONF07'));
    const out = await taper(element('source-random', { length: 3 * MiB, seed: SEED }),
      { changer: `chg-multi:file:${dir}/slot{1..3}`, 'part-size': MiB, labelstr: '^TESTCONF[0-9]+$', 'device-properties': [MVU] });
    expect(out.error).toBeUndefined();
    expect(out.messages.some((m) => m.type === 'info' && m.message.includes('slot 1') &&
      m.message.includes('volume "OTHERCONF07" does not match labelstr "^TESTCONF[0-9]+$"'))).toBe(true);
    expect(readdirSync(join(dir, 'slot1'))).toEqual(['00000.OTHERCONF07']);
    expect(readFileSync(join(dir, 'slot1', '00000.OTHERCONF07')).equals(before)).toBe(true);
    const parts = partDone(out.messages) as Array<PartDoneMessage & { slot: number; label: string }>;
    expect(parts[0]).toMatchObject({ slot: 2, label: 'TESTCONF02', fileno: 1 });
    expect(parts.at(-1)).toMatchObject({ slot: 3, label: 'TESTCONF03', fileno: 1 });
    expect(parts.every((p) => p.label === `TESTCONF0${p.slot}`)).toBe(true);
    expectCrc(out, await readParts(dir, parts));
  });

  it('running out of volumes fails, naming each refused slot; completed parts stay', async () => {
    const dir = changer('few', 2);
    labelVolume(`file:${join(dir, 'slot2')}`, 'OTHER', {});
    const out = await taper(element('source-random', { length: 4 * MiB, seed: SEED }),
      { changer: `chg-disk:${dir}`, 'part-size': MiB, labelstr: '^TESTCONF', 'device-properties': [MVU] });
    expect(out.error?.message).toMatch(/load the next volume from chg-disk:.*: no usable volume left \(slot 2 .*: volume "OTHER" does not match labelstr/);
    expect(scanVolume(`file:${join(dir, 'slot1')}`).files.length).toBe(3);
  });

  it('mode=append adds parts after the files a labeled volume has; mode=write relabels it', async () => {
    const dir = changer('append', 2);
    const first = await taper(element('source-random', { length: 100_000, seed: SEED }), { changer: `chg-disk:${dir}`, 'part-size': MiB });
    expect(partDone(first.messages).map((p) => p.fileno)).toEqual([1]);
    const second = await taper(element('source-random', { length: 100_000, seed: 7 }), { changer: `chg-disk:${dir}`, 'part-size': MiB });
    expect(partDone(second.messages).map((p) => [p.fileno, (p as PartDoneMessage & { label: string }).label])).toEqual([[2, 'TESTCONF01']]);
    const third = await taper(element('source-random', { length: 100_000, seed: 9 }), { changer: `chg-disk:${dir}`, 'part-size': MiB, mode: 'write' });
    expect(partDone(third.messages).map((p) => p.fileno)).toEqual([1]);
    expect(scanVolume(`file:${join(dir, 'slot1')}`).files.map((f) => f.file)).toEqual([1]);
  });

  it('mode=append refuses a labeled volume that cannot be appended to (diskflat) instead of erasing it', async () => {
    const dir = mkdirp(join(root, 'flat'));
    for (const v of ['v1.img', 'v2.img']) writeFileSync(join(dir, v), ''); // blank volumes
    const changerSpec = `chg-multi:diskflat:${dir}/v{1,2}.img`;
    const first = await taper(element('source-random', { length: 50_000, seed: SEED }), { changer: changerSpec });
    expect(first.error).toBeUndefined();
    const second = await taper(element('source-random', { length: 50_000, seed: 5 }), { changer: changerSpec });
    expect(second.error).toBeUndefined();
    expect(second.messages.some((m) => m.type === 'info' && /slot 1 .*volume "TESTCONF01" cannot be appended to \(a diskflat device\)/.test(m.message))).toBe(true);
    expect(partDone(second.messages)).toMatchObject([{ slot: 2, label: 'TESTCONF02', fileno: 1 }]);
    const back = await readFile(`diskflat:${dir}/v1.img`, 1);
    expect(back.data!.equals((await runClean([element('source-random', { length: 50_000, seed: SEED }), element('dest-buffer', {})])).xfer.result(1)!)).toBe(true);
  });

  it('bad properties are refused when the transfer is built', () => {
    const mk = (props: Record<string, unknown>) => () =>
      new Xfer([element('source-random', { length: 10, seed: 1 }), element('dest-taper', { header, ...props })]);
    expect(mk({ changer: 'chg-nope:/x' })).toThrow(/unknown changer type/);
    expect(mk({ changer: `chg-disk:${join(root, 'absent')}` })).toThrow(/ENOENT/);
    expect(mk({ changer: 'file:/x/slot{1..3', 'part-size': 1 })).toThrow(/without its '}'/);
    expect(mk({ changer: 'file:/x', 'part-cache': 'memory' })).toThrow(/needs a part-size/);
    expect(mk({ changer: 'file:/x', 'part-cache': 'holding' })).toThrow(/holding-file/);
  });
});
