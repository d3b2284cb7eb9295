/**
 * Ctrl-C and SIGTERM in the middle of a transfer: the transfer is cancelled (cancel → done),
 * dest-file removes its .tmp, no file appears, and xfa exits 130 / 143.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { finished, jsonLines, scratch, startXfa, untilOutput } from './helpers.js';

async function untilExists(path: string, ms = 20_000): Promise<void> {
  const t0 = Date.now();
  while (!existsSync(path)) {
    if (Date.now() - t0 > ms) throw new Error(`${path} never appeared`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('signals', () => {
  for (const [signal, status] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    it(`${signal} during an endless transfer to dest-file leaves no file and no .tmp, exit ${status}`, async () => {
      const dir = scratch();
      const x = join(dir, 'X');
      const child = startXfa(['launch', `source-random length=0 seed=1 ! dest-file path=${x}`]);
      const out = finished(child);
      await untilExists(`${x}.tmp`);
      child.kill(signal);
      const { code, signal: killedBy, stderr } = await out;
      expect(killedBy).toBeNull();
      expect(code).toBe(status);
      expect(readdirSync(dir)).toEqual([]);
      expect(stderr).toContain(`xfa: transfer cancelled (${signal})`);
    });
  }

  it('reports cancel then done with --json, and a second SIGINT only waits', async () => {
    const dir = scratch();
    const x = join(dir, 'X');
    const child = startXfa(['launch', '--json', `source-random length=0 seed=1 ! filter-process cmd=cat ! dest-file path=${x}`]);
    const out = finished(child);
    await untilOutput(child, /"type":"progress"/);
    child.kill('SIGINT');
    child.kill('SIGINT');
    const { code, stdout } = await out;
    expect(code).toBe(130);
    const types = jsonLines(stdout).map((m) => m.type);
    expect(types.at(-1)).toBe('done');
    expect(types).toContain('cancel');
    expect(types.filter((t) => t === 'done')).toHaveLength(1);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('Ctrl-C to the whole process group (child programs too) still ends in a clean cancel, exit 130', async () => {
    const dir = scratch();
    const x = join(dir, 'X');
    const child = startXfa(['launch', `source-random length=0 seed=1 ! filter-process cmd="gzip -1 -c" ! dest-file path=${x}`], { detached: true });
    const out = finished(child);
    await untilExists(`${x}.tmp`);
    process.kill(-(child.pid ?? 0), 'SIGINT');
    const { code, stderr } = await out;
    expect(code).toBe(130);
    expect(readdirSync(dir)).toEqual([]);
    expect(stderr).toContain('xfa: transfer cancelled (SIGINT)');
  });
});
