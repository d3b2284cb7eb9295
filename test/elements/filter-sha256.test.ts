import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import '../../src/index.js';
import { element, run, runClean, types } from '../helpers.js';

describe('filter-sha256 (the TypeScript element example)', () => {
  it('reports the SHA-256 that node:crypto computes, and passes the bytes through', async () => {
    const { messages, xfer } = await runClean([element('source-pattern', { length: 1_000_003, pattern: 'backup' }), element('filter-sha256'),
      element('dest-buffer', { 'max-size': '2MiB' })]);
    const data = Buffer.from('backup'.repeat(166_668)).subarray(0, 1_000_003);
    const hex = createHash('sha256').update(data).digest('hex');
    expect(messages.some((m) => m.type === 'info' && m.message === `sha256 ${hex}  1000003 bytes`)).toBe(true);
    expect(xfer.result(2)?.equals(data)).toBe(true);
  });

  it('fails the transfer when expect= differs', async () => {
    const { error, messages } = await run([element('source-pattern', { length: 10 }), element('filter-sha256', { expect: '00'.repeat(32) }), element('dest-null')]);
    expect(error?.message).toMatch(/^filter-sha256#2: verify: digest [0-9a-f]{64} differs from the expected 0{64}$/);
    expect(types(messages)).toEqual(['error', 'cancel', 'done']);
  });
});
