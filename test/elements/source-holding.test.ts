// source-holding: follows the CONT_FILENAME chain of a holding file and refuses broken chains —
// a missing chunk, a moved holding disk (relocate), a chunk of another dump, a loop, a CONT_FILE
// given first, a truncated chunk — naming the chunk that pointed to the bad one. Reading what
// dest-holding wrote is in dest-holding.test.ts, reading Amanda's in amanda-interop.test.ts.
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { HEADER_SIZE, headerText, parseHeader, type AmandaHeader } from '../../src/media/header.js';
import { bytes, hold, mkdirp, tmp, unhold } from '../media/media-helpers.js';

let root: string;
beforeAll(() => {
  root = tmp('xfa-source-holding-');
});

describe('source-holding: broken chains', () => {
  const data = bytes(200_000, 31);
  /** A fresh 7-chunk holding file in root/name: its first chunk's path. */
  async function fresh(name: string): Promise<string> {
    const path = join(mkdirp(join(root, name)), 'h._d.0');
    expect((await hold(path, data)).error).toBeUndefined();
    return path;
  }
  const rewrite = (chunk: string, change: Partial<AmandaHeader>) => {
    const raw = readFileSync(chunk);
    const h = parseHeader(raw.subarray(0, HEADER_SIZE));
    Buffer.from(headerText({ ...h, ...change }).padEnd(HEADER_SIZE, '\0'), 'latin1').copy(raw);
    writeFileSync(chunk, raw);
  };

  it('a missing chunk names the chunk that pointed to it', async () => {
    const path = await fresh('missing');
    rmSync(`${path}.3`);
    expect((await unhold(path)).error?.message).toBe(
      `source-holding#1: open ${path}.3: ENOENT: no such file or directory: chunk 4, named by CONT_FILENAME in ${path}.2`);
  });

  it('moved chunks are found next to the one naming them (info), or not with relocate=false', async () => {
    const old = await fresh('moved-from');
    const dir = join(root, 'moved-to');
    renameSync(join(root, 'moved-from'), dir);
    const r = await unhold(join(dir, 'h._d.0'));
    expect(r.error).toBeUndefined();
    expect(r.data!.equals(data)).toBe(true);
    const infos = r.messages.filter((m) => m.type === 'info').map((m) => (m as { message: string }).message);
    expect(infos).toHaveLength(6);
    expect(infos[0]).toBe(`holding chunk ${old}.1 not found; using ${dir}/h._d.0.1 (relocated)`);
    expect((await unhold(join(dir, 'h._d.0'), { relocate: false })).error?.message).toBe(
      `source-holding#1: open ${old}.1: ENOENT: no such file or directory: chunk 2, named by CONT_FILENAME in ${dir}/h._d.0`);
  });

  it('a chunk of another dump', async () => {
    const path = await fresh('other');
    rewrite(`${path}.1`, { dumplevel: 5 });
    expect((await unhold(path)).error?.message).toBe(
      `source-holding#1: open ${path}.1: named by CONT_FILENAME in ${path}, it is not a continuation of client:/home 20240102030405 level 1 but a CONT_FILE of client:/home 20240102030405 level 5`);
  });

  it('a loop in the chain', async () => {
    const path = await fresh('loop');
    rewrite(`${path}.2`, { contFilename: `${path}.1` });
    expect((await unhold(path)).error?.message).toBe(
      `source-holding#1: open ${path}.1: the CONT_FILENAME chain loops back to this chunk (chunk 4, named by CONT_FILENAME in ${path}.2)`);
  });

  it('a CONT_FILE given as the first chunk, a truncated chunk, no file at all', async () => {
    const path = await fresh('firsts');
    expect((await unhold(`${path}.2`)).error?.message).toBe(
      `source-holding#1: open ${path}.2: not the first chunk of a holding file: its header is CONT_FILE, not FILE`);
    writeFileSync(`${path}.1`, readFileSync(`${path}.1`).subarray(0, 100));
    expect((await unhold(path)).error?.message).toBe(
      `source-holding#1: read ${path}.1: truncated: 100 bytes, less than the 32768-byte header (chunk 2, named by CONT_FILENAME in ${path})`);
    expect((await unhold(join(root, 'nothing-here'))).error?.message).toBe(`source-holding#1: open ${join(root, 'nothing-here')}: ENOENT: no such file or directory`);
  });
});
