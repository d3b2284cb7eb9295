/**
 * source-s3: streams an S3 object, whole or only given byte ranges, with several ranged GETs in
 * flight and the bytes delivered in order.
 *
 *     source-s3 endpoint=http://127.0.0.1:8080 bucket=backups key=host/disk/0 ! dest-file path=/tmp/dump
 *     source-s3 bucket=backups key=host/disk/0 ranges="0:4096,1048576:65536" ! filter-unzstd ! ...
 *
 * - The object is cut into pieces of `part-size` (default 8 MiB); up to `concurrency` (4) GETs run
 *   at once, each with If-Match on the ETag seen at the start (a replaced object fails the read
 *   rather than mixing versions). Memory: concurrency × part-size.
 * - `ranges="OFFSET:LENGTH,..."` reads only those bytes, in the order given: the selective-restore
 *   source, like source-ranges for files (see src/s3/restore.ts for restorePathS3, which plans the
 *   ranges from a SliceIndex). Ranges past the end of the object fail before any byte moves.
 * - `verify=true` checks a whole-object read against the ETag (MD5 for a single PutObject, MD5 of
 *   the part MD5s for a multipart upload, with the part size dest-s3 recorded). Off by default:
 *   MD5 costs about a core-second per 500 MB, and dest-s3 already had the server confirm every
 *   part's MD5 on the way in; the chain's own checks (filter-decrypt's GCM tags, zstd frame
 *   checksums, Amanda's CRCs) cover the bytes end to end.
 * - Retries (5xx, throttling, dropped or stalled connections, short bodies) as dest-s3; each is an
 *   `info` message. Cancel stops the GETs in flight.
 */
import { defineElement } from '../src/bridge.js';
import { connectionProps, makeClient, optionsFromProps, toS3Error, url } from '../src/s3/client.js';
import { S3ObjectReader, parseRanges } from '../src/s3/download.js';

defineElement({
  name: 'source-s3',
  role: 'source',
  description: 'Reads an S3 object, or only given byte ranges, with parallel ranged GETs in order',
  longHelp: 'Streams s3://bucket/key with `concurrency` ranged GETs of part-size in flight, delivered in order. '
    + 'With ranges="OFFSET:LENGTH,..." only those bytes are read (selective restore). verify=true checks a whole-object '
    + 'read against the ETag (MD5). Retries on 5xx, throttling and dropped connections; If-Match keeps a replaced object from being mixed in.',
  props: [
    ...connectionProps(),
    { name: 'ranges', type: 'strings', required: false, help: 'OFFSET:LENGTH[,OFFSET:LENGTH...] in bytes (default: the whole object)' },
    { name: 'verify', type: 'bool', required: false, default: 'false', help: 'check a whole-object read against the ETag (MD5 of the object, or of its parts)' },
  ],
  example: 'source-s3 endpoint=http://127.0.0.1:8080 bucket=backups key=host/disk/0 ! dest-file path=/tmp/dump',
  create: (props, ctx) => {
    const o = optionsFromProps(props);
    const ranges = props.ranges === undefined ? null : parseRanges(props.ranges as string[]);
    const client = makeClient(o);
    const reader = new S3ObjectReader(client, o, {
      signal: ctx.signal, verify: props.verify === true, onRetry: (m) => ctx.info(`retry: ${m}`), onInfo: (m) => ctx.info(m),
    });
    return {
      async run(ctx) {
        try {
          await reader.open(ranges);
          for await (const buf of reader.pieces()) {
            if (ctx.signal.aborted) break;
            await ctx.push(buf);
          }
          if (!ctx.signal.aborted) {
            const what = ranges ? `${ranges.length} range${ranges.length === 1 ? '' : 's'}` : 'whole object';
            ctx.info(`read ${reader.bytesRead} bytes of ${url(o)} (${what}; ${reader.gets} GET${reader.gets === 1 ? '' : 's'}, up to ${reader.maxInFlight} in flight, `
              + `${reader.retries} retr${reader.retries === 1 ? 'y' : 'ies'})`);
          }
        } catch (e) {
          if (ctx.signal.aborted) return;
          throw toS3Error(e, `read ${url(o)}`, [o.secretKey]);
        } finally {
          client.destroy();
        }
      },
      abort() {
        reader.cancel();
      },
    };
  },
});
