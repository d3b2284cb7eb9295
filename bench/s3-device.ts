/**
 * The device bridge (csrc/devices/js_device.h) on S3: dest-taper writing s3: volumes through the
 * bridge, against the same bytes written without it, same run, on a local Swift + s3api
 * (test/setup/swift.ts). `node --import tsx bench/s3-device.ts`
 *
 *   source-random ! dest-taper changer=s3:...         vs  source-random ! dest-s3 (one multipart object)
 *   source-random ! dest-taper changer=s3:...         vs  S3Device driven from TypeScript (what the removed dest-migrate-s3
 *                                                         did: startFile, writeBlock per block, finishFile)
 *
 * Same block/part size (BENCH_PART MiB, default 8) and uploads in flight (BENCH_CONC, default 4) on
 * every side. BENCH_MB MiB (default 128), BENCH_RUNS runs (default 3): medians, ratio = baseline
 * time / bridge time (≥ 1: the bridge is not slower). The TypeScript baseline's bytes are made in
 * memory up front (it does no source work); dest-taper's come from source-random in C++. Swift's
 * Python servers share the machine's two cores with the client: the ratio is what counts.
 */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { element, Xfer } from '../src/index.js';
import { S3Device } from '../src/devices/s3.js';
import { lcg } from '../test/setup/s3-helpers.js';
import { startSwift } from '../test/setup/swift.js';
import { compare, type CaseResult } from './harness.js';

const MB = Number(process.env.BENCH_MB ?? 128);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const PART = Number(process.env.BENCH_PART ?? 8) << 20;
const CONC = Number(process.env.BENCH_CONC ?? 4);
const bytes = MB << 20;

const swift = await startSwift();
const Bucket = 'bench';
const results: CaseResult[] = [];
const client = new S3Client({
  endpoint: swift.endpoint, region: swift.region, forcePathStyle: true,
  credentials: { accessKeyId: swift.accessKey, secretAccessKey: swift.secretKey },
});
const devProps = [`ENDPOINT=${swift.endpoint}`, `S3_ACCESS_KEY=${swift.accessKey}`, `S3_SECRET_KEY=${swift.secretKey}`, `BLOCK_SIZE=${PART}`, `NB_THREADS_BACKUP=${CONC}`];
const header = 'AMANDA: SPLIT_FILE 20260102030405 bench.example.com /data part 1/-1 lev 0 comp N program /bin/tar';
let n = 0;

const viaBridge = async () => {
  const out = await new Xfer([
    element('source-random', { length: bytes, seed: 5 }),
    element('dest-taper', { changer: `s3:${Bucket}/taper-${n++}/`, header, 'label-template': 'BENCH-01', sync: false, 'device-properties': devProps }),
  ], { progressMs: 0 }).start().done;
  void out;
};

try {
  await client.send(new CreateBucketCommand({ Bucket }));
  console.log(`xfa device-bridge bench: ${MB} MiB, block/part ${PART >> 20} MiB, ${CONC} in flight, ${RUNS} runs; ratio = baseline time / bridge time`);
  results.push(await compare({
    name: 'dest-taper → s3: (bridge)', baseline: 'dest-s3 (multipart object)', bytes, runs: RUNS,
    base: async () => {
      await new Xfer([element('source-random', { length: bytes, seed: 5 }), element('dest-s3', {
        endpoint: swift.endpoint, bucket: Bucket, key: `dests3-${n++}`, 'access-key': swift.accessKey, 'secret-key': swift.secretKey,
        'part-size': PART, concurrency: CONC,
      })], { progressMs: 0 }).start().done;
    },
    xfa: viaBridge,
  }));
  const data = lcg(5, bytes);
  results.push(await compare({
    name: 'dest-taper → s3: (bridge)', baseline: 'S3Device from TypeScript', bytes, runs: RUNS,
    base: async () => {
      const dev = S3Device.open(`s3:${Bucket}/direct-${n++}/`, { ENDPOINT: swift.endpoint, S3_ACCESS_KEY: swift.accessKey, S3_SECRET_KEY: swift.secretKey, BLOCK_SIZE: PART, NB_THREADS_BACKUP: CONC });
      await dev.start('write', 'BENCH-01', '20260102030405');
      await dev.startFile({ type: 'SPLIT_FILE', datestamp: '20260102030405', name: 'bench.example.com', disk: '/data', dumplevel: 0, partnum: 1, totalparts: -1, program: '/bin/tar' });
      for (let off = 0; off < data.length; off += PART) await dev.writeBlock(data.subarray(off, off + PART));
      await dev.finishFile();
      await dev.finish();
    },
    xfa: viaBridge,
  }));
} finally {
  client.destroy();
  await swift.stop();
}
console.log(JSON.stringify(results.map((r) => ({ name: r.name, baseline: r.baseline, bridgeMBps: +r.xfaMBps.toFixed(1), baseMBps: +r.baseMBps.toFixed(1), ratio: +r.ratio.toFixed(2) }))));
