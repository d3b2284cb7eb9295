/**
 * S3 elements against the SDK's own ways on the same file, same run (bench/harness.ts compare():
 * median of per-run ratios), on a local OpenStack Swift + s3api started like the tests'
 * (test/setup/swift.ts). `node --import tsx bench/s3.ts`
 *
 *   source-file ! dest-s3                   vs  @aws-sdk/lib-storage Upload (file stream)   target ≥ 1.0×
 *   source-s3 ! dest-file                   vs  GetObject piped to a file                    target ≥ 1.0×
 *   source-s3 verify=true ! dest-file       vs  the same, reported without a target (MD5 of the whole object)
 *
 * Both sides use the same client settings (path-style, checksums WHEN_REQUIRED) and the same part
 * size and concurrency (BENCH_PART MiB, default 8; BENCH_CONC, default 4); lib-storage has no
 * downloader, so the download baseline is the SDK's one-stream GetObject. Input: random bytes,
 * BENCH_MB MiB (default 256); BENCH_RUNS runs per case (default 5); BENCH_ONLY filters cases by
 * name. Each upload goes to a fresh key (no overwrite costs on either side). Swift's Python
 * servers share the machine's two cores with the client: the ratio is what counts.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, createReadStream, createWriteStream, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { element, Xfer } from '../src/index.js';
import { startSwift } from '../test/setup/swift.js';
import { compare, type CaseResult } from './harness.js';

const MB = Number(process.env.BENCH_MB ?? 256);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const PART = Number(process.env.BENCH_PART ?? 8) << 20;
const CONC = Number(process.env.BENCH_CONC ?? 4);
const ONLY = process.env.BENCH_ONLY;
const want = (name: string): boolean => !ONLY || name.includes(ONLY);

const swift = await startSwift();
const results: CaseResult[] = [];
const Bucket = 'bench';
const client = new S3Client({
  endpoint: swift.endpoint, region: swift.region, forcePathStyle: true,
  credentials: { accessKeyId: swift.accessKey, secretAccessKey: swift.secretKey },
  requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED',
  requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: CONC + 2 }) },
});
const props = (key: string) => ({
  endpoint: swift.endpoint, bucket: Bucket, key, 'access-key': swift.accessKey, 'secret-key': swift.secretKey,
  'part-size': PART, concurrency: CONC,
});

try {
  await client.send(new CreateBucketCommand({ Bucket }));
  const input = join(swift.dir, 'input.bin');
  const fd = openSync(input, 'w');
  for (let i = 0; i < MB; i++) writeSync(fd, randomBytes(1 << 20));
  closeSync(fd);
  const bytes = statSync(input).size;
  const out = join(swift.dir, 'out.bin');
  let n = 0;
  console.log(`xfa S3 bench: ${MB} MiB random, part size ${PART >> 20} MiB, concurrency ${CONC}, ${RUNS} runs per case, Swift ${swift.endpoint}; ratio = baseline time / xfa time`);

  if (want('dest-s3')) {
    results.push(await compare({
      name: 'file ! dest-s3', baseline: 'lib-storage Upload', bytes, runs: RUNS, target: 1.0,
      base: async () => {
        await new Upload({ client, params: { Bucket, Key: `up/base-${n++}`, Body: createReadStream(input, { highWaterMark: 1 << 20 }) }, partSize: PART, queueSize: CONC }).done();
      },
      xfa: async () => {
        await new Xfer([element('source-file', { path: input }), element('dest-s3', props(`up/xfa-${n++}`))], { progressMs: 0 }).start().done;
      },
    }));
  }

  if (want('source-s3')) {
    // The object to read: written once by dest-s3 (multipart, PART-sized parts).
    await new Xfer([element('source-file', { path: input }), element('dest-s3', props('down/object'))], { progressMs: 0 }).start().done;
    results.push(await compare({
      name: 'source-s3 ! file', baseline: 'GetObject | file', bytes, runs: RUNS, target: 1.0,
      before: () => rmSync(out, { force: true }),
      base: async () => {
        const r = await client.send(new GetObjectCommand({ Bucket, Key: 'down/object' }));
        await pipeline(r.Body as NodeJS.ReadableStream, createWriteStream(out));
      },
      xfa: async () => {
        await new Xfer([element('source-s3', props('down/object')), element('dest-file', { path: out, sync: false })], { progressMs: 0 }).start().done;
      },
    }));
    if (want('verify')) {
      results.push(await compare({
        name: 'source-s3 verify=true ! file', baseline: 'GetObject | file', bytes, runs: RUNS,
        before: () => rmSync(out, { force: true }),
        base: async () => {
          const r = await client.send(new GetObjectCommand({ Bucket, Key: 'down/object' }));
          await pipeline(r.Body as NodeJS.ReadableStream, createWriteStream(out));
        },
        xfa: async () => {
          await new Xfer([element('source-s3', { ...props('down/object'), verify: true }), element('dest-file', { path: out, sync: false })], { progressMs: 0 }).start().done;
        },
      }));
    }
  }
} finally {
  client.destroy();
  await swift.stop();
}
console.log(JSON.stringify(results.map((r) => ({ name: r.name, xfaMBps: +r.xfaMBps.toFixed(1), baseMBps: +r.baseMBps.toFixed(1), ratio: +r.ratio.toFixed(2) }))));
const missed = results.filter((r) => r.target !== undefined && r.ratio < r.target);
if (missed.length) console.log(`missed targets: ${missed.map((r) => r.name).join(', ')}`);
