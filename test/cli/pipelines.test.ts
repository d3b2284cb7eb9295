/**
 * Every file in pipelines/ is parsed and run here, with small data in a scratch directory, and
 * its result checked. A new pipeline file without a case below fails the first test.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonLines, ROOT, scratch, xfa } from './helpers.js';

const DIR = join(ROOT, 'pipelines');
const FILES = readdirSync(DIR).filter((f) => f.endsWith('.xfa')).sort();

/** A small tree with a subdirectory, an empty file, binary data and a name with a blank. */
function makeTree(root: string): void {
  mkdirSync(join(root, 'sub dir', 'deeper'), { recursive: true });
  writeFileSync(join(root, 'a.txt'), 'hello\n'.repeat(1000));
  writeFileSync(join(root, 'empty'), '');
  writeFileSync(join(root, 'sub dir', 'deeper', 'bin'), Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 31) & 0xff)));
}

function sameTree(a: string, b: string): void {
  expect(execFileSync('diff', ['-r', a, b], { encoding: 'utf8' })).toBe('');
}

async function runFile(file: string, sets: Record<string, string>, extra: string[] = []): Promise<Awaited<ReturnType<typeof xfa>>> {
  const args = ['run', join(DIR, file), ...Object.entries(sets).flatMap(([k, v]) => ['--set', `${k}=${v}`]), ...extra];
  const out = await xfa(args);
  expect(out.code, out.stderr).toBe(0);
  return out;
}

const CASES: Record<string, () => Promise<void>> = {
  'backup-dir.xfa': async () => {
    const dir = scratch();
    const src = join(dir, 'my src');
    makeTree(src);
    await runFile('backup-dir.xfa', { SRC: src, DEST: join(dir, 'b.tar.gz') });
    expect(readdirSync(dir).sort()).toEqual(['b.tar.gz', 'my src']);
    const restored = join(dir, 'check');
    mkdirSync(restored);
    execFileSync('tar', ['-xzf', join(dir, 'b.tar.gz'), '-C', restored]);
    sameTree(src, restored);
  },
  'restore-dir.xfa': async () => {
    const dir = scratch();
    const src = join(dir, 'src');
    makeTree(src);
    execFileSync('tar', ['-czf', join(dir, 'a.tar.gz'), '-C', src, '.']);
    const dest = join(dir, 'dest dir');
    mkdirSync(dest);
    await runFile('restore-dir.xfa', { SRC: join(dir, 'a.tar.gz'), DEST: dest });
    sameTree(src, dest);
  },
  'copy-file.xfa': async () => {
    const dir = scratch();
    const data = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) & 0xff));
    writeFileSync(join(dir, 'in'), data);
    const out = await runFile('copy-file.xfa', { SRC: join(dir, 'in'), DEST: join(dir, 'out'), SYNC: 'no' }, ['--json']);
    expect(readFileSync(join(dir, 'out')).equals(data)).toBe(true);
    expect(jsonLines(out.stdout)).toContainEqual(expect.objectContaining({ type: 'crc', size: data.length }));
    expect(readdirSync(dir).sort()).toEqual(['in', 'out']);
  },
  'backup-vtape.xfa': async () => {
    const dir = scratch();
    const src = join(dir, 'src');
    makeTree(src);
    for (const s of [1, 2, 3]) mkdirSync(join(dir, 'vt', `slot${s}`), { recursive: true });
    const db = join(dir, 'catalog.db');
    const out = await runFile('backup-vtape.xfa', { SRC: src, VTAPES: join(dir, 'vt'), HOST: 'client', DISK: '/src', DATE: '20261122090000',
      PART_SIZE: '32KiB', VOLUME_SIZE: '1MiB' }, ['--record', '--catalog', db, '-v']);
    expect(out.stdout).toMatch(/recorded dump #1 client:\/src level 0 20261122090000: ok\n/);
    const ls = JSON.parse((await xfa(['ls', '--json', '-c', db])).stdout) as { volumes: unknown[]; dumps: Array<{ indexed: boolean; compression: string; parts: unknown[] }> };
    expect(ls.volumes.length).toBeGreaterThanOrEqual(1);
    expect(ls.dumps).toEqual([expect.objectContaining({ indexed: true, compression: 'zstd' })]);
    expect(ls.dumps[0].parts.length).toBeGreaterThanOrEqual(1);
    expect((await xfa(['verify', '-c', db])).code).toBe(0);
  },
  'mux-backup.xfa': async () => {
    const dir = scratch();
    const [a, b] = [join(dir, 'a'), join(dir, 'b dir')];
    makeTree(a);
    mkdirSync(b);
    writeFileSync(join(b, 'only'), 'one file\n');
    const mux = join(dir, 'all.mux');
    const out = await runFile('mux-backup.xfa', { SRC1: a, SRC2: b, DEST: mux, HOST: 'h1', LENGTH: '300000', SYNC: 'no' }, ['--json']);
    const map = jsonLines(out.stdout).find((m) => m.type === 'stream-map');
    expect(JSON.parse(String(map?.map)).streams.map((s: { host: string; disk: string }) => `${s.host}:${s.disk}`)).toEqual([`h1:${a}`, `h1:${b}`, 'h1:random']);
    for (const [disk, src] of [[a, a], [b, b]]) {
      const restored = join(dir, `r${src === a ? 1 : 2}`);
      mkdirSync(restored);
      const r = await xfa(['launch', `source-file path='${mux}' ! demux streams='h1:${disk}' ! dest-process cmd="tar -xf - -C '${restored}'"`]);
      expect(r.code, r.stderr).toBe(0);
      sameTree(src, restored);
    }
    const r3 = await xfa(['launch', `source-file path='${mux}' ! demux streams=3 ! dest-null seed=3`]);
    expect(r3.code, r3.stderr).toBe(0);
  },
  'verify-random.xfa': async () => {
    const out = await runFile('verify-random.xfa', { LENGTH: '8MiB', SEED: '7' }, ['--json']);
    const crcs = jsonLines(out.stdout).filter((m) => m.type === 'crc');
    expect(crcs.map((m) => m.size)).toEqual([8 << 20, 8 << 20]);
    expect(crcs[0].crc).toBe(crcs[1].crc);
  },
};

describe('pipelines/*.xfa', () => {
  it('has a test case for every pipeline file, and every file documents how to run it', () => {
    expect(FILES.length).toBeGreaterThanOrEqual(4);
    expect(Object.keys(CASES).sort()).toEqual(FILES);
    for (const f of FILES) expect(readFileSync(join(DIR, f), 'utf8'), f).toContain(`xfa run pipelines/${f}`);
  });

  for (const file of FILES) {
    it(`runs ${file}`, async () => {
      const run = CASES[file];
      expect(run, `no test case for ${file}`).toBeDefined();
      await run();
    });
  }
});
