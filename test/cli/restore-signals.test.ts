// Ctrl-C during `xfa restore --output FILE`: the read is cancelled, FILE.tmp removed, FILE never
// appears, exit 130 — and a restore to stdout that nobody reads is cancelled as well (no hang).
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { finished, scratch, startXfa, xfa } from './helpers.js';

const HEADER = 'AMANDA: SPLIT_FILE 20261122100000 client /big part 1/-1 lev 0 comp N program /bin/tar';

async function bigDump(dir: string): Promise<string> {
  mkdirSync(join(dir, 'vt', 'slot1'), { recursive: true });
  const db = join(dir, 'catalog.db');
  const r = await xfa(['launch', `source-random length=256MiB seed=3 ! dest-taper changer=chg-disk:${join(dir, 'vt')} label-template=BIG%% part-size=64MiB sync=false header="${HEADER}"`,
    '--record', '-c', db]);
  expect(r.code, r.stderr).toBe(0);
  return db;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('SIGINT during a restore to a file: exit 130, no FILE, no FILE.tmp', async () => {
  const dir = scratch();
  const db = await bigDump(dir);
  const outDir = join(dir, 'out');
  mkdirSync(outDir);
  const file = join(outDir, 'dump.raw');
  const child = startXfa(['restore', '-c', db, '--dump', '1', '--output', file]);
  const done = finished(child);
  for (let i = 0; i < 500 && !existsSync(`${file}.tmp`); i++) await sleep(10);
  expect(existsSync(`${file}.tmp`)).toBe(true);
  child.kill('SIGINT');
  const out = await done;
  expect(out.code, out.stderr).toBe(130);
  expect(out.stderr).toMatch(/cancel|interrupt/i);
  expect(readdirSync(outDir)).toEqual([]);
}, 120_000);

it('SIGTERM while stdout is not read: the blocked write is cancelled, exit 143', async () => {
  const dir = scratch();
  const db = await bigDump(dir);
  const child = startXfa(['restore', '-c', db, '--dump', '1', '--stdout']);
  child.stdout?.pause(); // nobody reads: the pipe fills and the writer blocks
  await sleep(1500);
  child.kill('SIGTERM');
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  child.stdout?.destroy();
  expect(code).toBe(143);
}, 120_000);
