// source-recovery: reassembles what dest-taper spread over vtapes — scanning the changer or from a
// part list, verified against Amanda's generator (dest-null seed), byte ranges (segment-done),
// and every header mismatch or missing part named precisely.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { HEADER_SIZE, headerText, parseHeader, type AmandaHeader } from '../../src/media/header.js';
import type { PartDoneMessage, XferMessage } from '../../src/messages.js';
import { element, runClean } from '../helpers.js';
import { crc32c, crcOf, dumpHeader, partDone, tmp } from '../media/media-helpers.js';

const SEED = 0xfacade;
const MiB = 1 << 20;
const LEN = Math.trunc(MiB * 4.1);
const dump = dumpHeader({ type: 'FILE', name: 'installcheck', disk: '/', datestamp: '20080102030405', program: 'INSTALLCHECK' });
const header = headerText(dump);
type Part = PartDoneMessage & { slot: number; label: string };

let root: string;
let expected: Buffer;
beforeAll(async () => {
  root = tmp('xfa-source-recovery-');
  expected = (await runClean([element('source-random', { length: LEN, seed: SEED }), element('dest-buffer', { 'max-size': 8 * MiB })])).xfer.result(1)!;
});

/** dest-taper writes the Amanda vector dump (1 MiB parts, PEOM retry from memory) to a fresh changer. */
async function written(name: string): Promise<{ dir: string; parts: Part[] }> {
  const dir = join(root, name);
  for (let i = 1; i <= 3; i++) mkdirSync(join(dir, `slot${i}`), { recursive: true });
  const out = await runClean([element('source-random', { length: LEN, seed: SEED }), element('dest-taper', {
    changer: `chg-disk:${dir}`, header, 'label-template': 'TESTCONF%%', 'part-size': MiB, 'part-cache': 'memory',
    'device-properties': [`MAX_VOLUME_USAGE=${2.5 * MiB}`, 'LEOM=false'] })]);
  expect(out.error).toBeUndefined();
  return { dir, parts: (partDone(out.messages) as Part[]).filter((p) => p.successful) };
}

/** One set of media shared by the range tests (written on first use). */
let rangeMedia: { dir: string; parts: Part[] } | undefined;

const recover = (props: Record<string, unknown>, dest = element('dest-buffer', { 'max-size': 8 * MiB })) =>
  runClean([element('source-recovery', { header, ...props }), dest]);
const kb = (ms: XferMessage[]) => partDone(ms).map((p) => `KB-${Math.floor(p.size / 1024)}`);

describe('source-recovery: reassembly', () => {
  it("scans the changer: Amanda's read-back (vol1 [1,2], vol2 [1,2,3]) verified by dest-null with the seed", async () => {
    const { dir } = await written('scan');
    const out = await recover({ changer: `chg-disk:${dir}` }, element('dest-null', { seed: SEED }));
    expect(out.error).toBeUndefined();
    expect(kb(out.messages)).toEqual(['KB-1024', 'KB-1024', 'KB-1024', 'KB-1024', 'KB-102']);
    expect(partDone(out.messages).map((p) => [(p as Part).label, p.fileno, p.partnum])).toEqual([
      ['TESTCONF01', 1, 1], ['TESTCONF01', 2, 2], ['TESTCONF02', 1, 3], ['TESTCONF02', 2, 4], ['TESTCONF02', 3, 5]]);
    expect(crcOf(out.messages)).toMatchObject({ crc: crc32c(expected), size: LEN });
    expect(out.messages.find((m) => m.type === 'segment-done')).toMatchObject({ size: LEN, partnum: 5, fileno: 3, successful: true });
  });

  it('from a part list (chg-multi): the same bytes', async () => {
    const { dir, parts } = await written('list');
    const out = await recover({ changer: `chg-multi:file:${dir}/slot{1..3}`, parts: parts.map((p) => `${p.label}:${p.fileno}`) });
    expect(out.error).toBeUndefined();
    expect(out.xfer.result(1)!.equals(expected)).toBe(true);
  });

  for (const [offset, size] of [[0, 100], [MiB - 10, 20], [1.5 * MiB, 2 * MiB + 7], [4 * MiB + 5, 0], [LEN - 1, 1], [3 * MiB, 32768]]) {
    it(`byte range offset=${offset} size=${size}: exactly those bytes, segment-done, parts before skipped`, async () => {
      const { dir, parts } = rangeMedia ??= await written('range');
      for (const withSize of [true, false]) {
        const list = parts.map((p) => `${p.label}:${p.fileno}${withSize ? `:${p.size}` : ''}`);
        const out = await recover({ changer: `chg-disk:${dir}`, parts: list, offset, size });
        expect(out.error).toBeUndefined();
        const want = expected.subarray(offset, size ? offset + size : undefined);
        expect(out.xfer.result(1)!.equals(want)).toBe(true);
        expect(out.messages.find((m) => m.type === 'segment-done')).toMatchObject({ size: want.length, successful: true });
        const first = Math.floor(offset / MiB) + 1;
        const opened = out.messages.filter((m) => m.type === 'info' && /^part \d+:/.test(m.message)).map((m) => Number(/^part (\d+)/.exec(m.message)![1]));
        if (withSize) expect(opened[0]).toBe(first);
      }
    });
  }

  it('a range past the end of the dump is an error', async () => {
    const { dir } = rangeMedia ??= await written('range');
    const out = await recover({ changer: `chg-disk:${dir}`, offset: LEN - 10, size: 20 });
    expect(out.error?.message).toMatch(/source-recovery#1: read the range: the dump ends 10 bytes before offset\+size/);
  });
});

describe('source-recovery: bad parts', () => {
  const rewrite = (path: string, change: Partial<AmandaHeader>) => {
    const raw = readFileSync(path);
    const h = parseHeader(raw.subarray(0, HEADER_SIZE));
    Buffer.from(headerText({ ...h, ...change }).padEnd(HEADER_SIZE, '\0'), 'latin1').copy(raw);
    writeFileSync(path, raw);
  };
  const fileOf = (dir: string, n: number) => join(dir, readdirSync(dir).find((f) => f.startsWith(`${String(n).padStart(5, '0')}.`))!);

  for (const [field, change, got, want] of [
    ['host', { name: 'otherhost' }, 'otherhost', 'installcheck'],
    ['disk', { disk: '/var' }, '/var', '/'],
    ['datestamp', { datestamp: '20080102030406' }, '20080102030406', '20080102030405'],
    ['level', { dumplevel: 1 }, '1', '0'],
    ['partnum', { partnum: 7 }, '7', '2'],
  ] as const) {
    it(`a part with another ${field}: "verify part 2 (TESTCONF01 file 2): ${field} is ..."`, async () => {
      const { dir, parts } = await written(`bad-${field}`);
      rewrite(fileOf(join(dir, 'slot1'), 2), change);
      const out = await recover({ changer: `chg-disk:${dir}`, parts: parts.map((p) => `${p.label}:${p.fileno}`) }, element('dest-null', {}));
      expect(out.error?.message).toBe(`source-recovery#1: verify part 2 (TESTCONF01 file 2): ${field} is "${got}", expected "${want}"`);
      expect(partDone(out.messages).map((p) => p.partnum)).toEqual([1]);
    });
  }

  it('a missing part: scanning says which part is missing; a listed part that is gone names the volume and file', async () => {
    const { dir, parts } = await written('missing');
    rmSync(fileOf(join(dir, 'slot2'), 1));  // part 3
    const scan = await recover({ changer: `chg-disk:${dir}` }, element('dest-null', {}));
    expect(scan.error?.message).toBe('source-recovery#1: verify part 3 (TESTCONF02 file 2): partnum is "4", expected "3" (part 3 is missing)');
    const listed = await recover({ changer: `chg-disk:${dir}`, parts: parts.map((p) => `${p.label}:${p.fileno}`) }, element('dest-null', {}));
    expect(listed.error?.message).toMatch(/source-recovery#1: seek_file .*slot2.*ENOENT/);
  });

  it('a volume not in the changer; a dump not on any volume', async () => {
    const { dir } = await written('novol');
    const a = await recover({ changer: `chg-disk:${dir}`, parts: ['NOSUCH:1'] });
    expect(a.error?.message).toMatch(/find volume "NOSUCH" in chg-disk:.*: not found \(slot 1 "TESTCONF01", slot 2 "TESTCONF02", slot 3 without a label\)/);
    const b = await runClean([element('source-recovery', { changer: `chg-disk:${dir}`, header: headerText({ ...dump, disk: '/nothing' }) }), element('dest-null', {})]);
    expect(b.error?.message).toMatch(/no part of this dump on any volume/);
  });
});
