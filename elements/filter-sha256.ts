/**
 * filter-sha256: passes the stream through unchanged and reports its SHA-256 at EOF — the
 * example of an element written in TypeScript (see src/bridge.ts for the contract).
 *
 *     source-file path=/var/backups/db.dump ! filter-sha256 ! dest-file path=/mnt/db.dump
 *     → info "sha256 9f86d08…  3221225472 bytes", comparable with `sha256sum`
 *
 * A filter gets each chunk in order (`write`), may push output (`ctx.push`, which waits while the
 * engine's queue is full), and flushes in `end`. The chunk is only lent: it is pushed on here,
 * which copies it into the engine's next block before write() resolves.
 */
import { createHash } from 'node:crypto';
import { defineElement } from '../src/bridge.js';

defineElement({
  name: 'filter-sha256',
  role: 'filter',
  description: 'Passes data through and reports its SHA-256 (a TypeScript element)',
  longHelp: 'Computes the SHA-256 of the stream with node:crypto and posts an info message '
    + '"sha256 <hex>  <bytes> bytes" at EOF, in the format sha256sum prints, so a copy can be checked '
    + 'against the original. With expect=<hex>, a different digest fails the transfer.',
  props: [{ name: 'expect', type: 'string', required: false, help: 'expected digest (64 hex digits); a mismatch is an error' }],
  example: 'source-file path=/etc/hosts ! filter-sha256 ! dest-null',
  create(props) {
    const hash = createHash('sha256');
    let bytes = 0;
    return {
      async write(chunk, ctx) {
        hash.update(chunk);
        bytes += chunk.length;
        await ctx.push(chunk);
      },
      end(ctx) {
        const hex = hash.digest('hex');
        ctx.info(`sha256 ${hex}  ${bytes} bytes`);
        const want = props.expect;
        if (typeof want === 'string' && want.toLowerCase() !== hex) {
          throw Object.assign(new Error(`digest ${hex} differs from the expected ${want}`), { op: 'verify' });
        }
      },
    };
  },
});
