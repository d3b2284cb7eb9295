// Runs one copy pipeline of N GiB (argv[2]) and prints its peak RSS in KiB: random → xor → crc →
// dest-file. Separate process so each size starts from a clean heap.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { element, Xfer } from '../src/index.js';

const gib = Number(process.argv[2]);
const dir = mkdtempSync(join(tmpdir(), 'xfa-rss-'));
await new Xfer([
  element('source-random', { length: gib * 2 ** 30, seed: 1 }), element('filter-xor'), element('filter-crc'),
  element('dest-file', { path: join(dir, 'out'), sync: false }),
], { progressMs: 0 }).start().done;
rmSync(dir, { recursive: true, force: true });
console.log(process.resourceUsage().maxRSS);
