/**
 * dest-s3: stores the stream as one S3 object (@aws-sdk/client-s3), with several parts in flight.
 *
 *     source-file path=/srv/dump.tar ! dest-s3 endpoint=http://127.0.0.1:8080 bucket=backups key=host/disk/0
 *
 * - A stream that fits in one part (`part-size`, default 8 MiB, at least 5 MiB) is one PutObject at
 *   the end; a longer one is a multipart upload with up to `concurrency` parts (default 4) being
 *   uploaded at once. Memory: at most concurrency + 1 part buffers. When every slot is busy the
 *   element stops taking blocks, and the engine's bounded window holds the source back.
 * - Every part goes with Content-MD5 and its ETag must be the MD5 computed here; the final object
 *   must have the size written (and, for an S3-style ETag, the MD5 of the part MD5s).
 * - Retries with exponential back-off (`max-retries`, `retry-delay`) on 5xx, throttling, dropped
 *   or stalled connections (`timeout` of socket inactivity), and damaged parts; each retry is an
 *   `info` message. Other errors (access denied, no such bucket) fail at once.
 * - Cancel or failure: requests in flight are stopped and the multipart upload is aborted — no
 *   stored parts stay behind; the object appears only when the transfer succeeds.
 * - Credentials: `access-key`/`secret-key`, or the AWS environment/profile (see src/s3/client.ts).
 *   They never appear in messages or errors.
 * - At the end, an `info` message: "stored N bytes in P parts as s3://bucket/key (ETag …)".
 */
import { defineElement } from '../src/bridge.js';
import { formatSize } from '../src/props.js';
import { connectionProps, makeClient, optionsFromProps, toS3Error, tuning, url } from '../src/s3/client.js';
import { S3ObjectWriter } from '../src/s3/upload.js';

defineElement({
  name: 'dest-s3',
  role: 'dest',
  description: 'Stores the stream as an S3 object: parallel multipart upload, verified, aborted on failure',
  longHelp: 'Uploads the stream to s3://bucket/key. Objects up to part-size go in one PutObject; larger ones as a multipart '
    + 'upload with `concurrency` parts in flight (memory: concurrency+1 × part-size; back-pressure when all are busy). '
    + 'Each part is checked against its MD5, the object against its size; 5xx, throttling and dropped connections are '
    + 'retried with exponential back-off; cancel or failure aborts the upload so no parts are left. Credentials come from '
    + 'access-key/secret-key or the AWS environment/profile and never appear in messages.',
  props: [
    ...connectionProps(),
    { name: 'content-type', type: 'string', required: false, default: 'application/octet-stream', help: 'Content-Type of the object' },
  ],
  example: 'source-file path=/srv/dump.tar ! dest-s3 endpoint=http://127.0.0.1:8080 bucket=backups key=host/disk/0',
  window: 4,
  create: (props, ctx) => {
    const o = optionsFromProps(props);
    const t = tuning(o);
    const client = makeClient(o);
    const writer = new S3ObjectWriter(client, o, {
      signal: ctx.signal, onRetry: (m) => ctx.info(`retry: ${m}`), contentType: props['content-type'] === undefined ? undefined : String(props['content-type']),
    });
    const wrap = (e: unknown, op: string) => toS3Error(e, op, [o.secretKey]);
    return {
      async write(chunk) {
        try {
          await writer.write(chunk);
        } catch (e) {
          throw wrap(e, `write ${url(o)}`);
        }
      },
      async end() {
        try {
          const r = await writer.end();
          const how = r.parts === 0 ? 'one PutObject' : `${r.parts} part${r.parts === 1 ? '' : 's'} of ${formatSize(t.partSize)} (up to ${r.maxInFlight} in flight)`;
          ctx.info(`stored ${r.size} bytes in ${how} as ${url(o)} (ETag ${r.etag}; ${r.buffers} part buffer${r.buffers === 1 ? '' : 's'}, `
            + `${r.retries} retr${r.retries === 1 ? 'y' : 'ies'})`);
        } catch (e) {
          throw wrap(e, `finish ${url(o)}`);
        } finally {
          client.destroy();
        }
      },
      async abort() {
        try {
          await writer.abort();
        } finally {
          client.destroy();
        }
      },
    };
  },
});
