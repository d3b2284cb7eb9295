// dest-s3 against a real S3 server (Swift + s3api, started here): parallel multipart uploads,
// single PutObject, bounded part buffers, retries through a fault-injecting TCP proxy, abort on
// failure and cancel (no multipart upload or part left), clear errors without secrets.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../elements/dest-s3.js';
import '../../elements/source-s3.js';
import type { ElementSpec } from '../../src/registry.js';
import { element, run, runClean, types } from '../helpers.js';
import { startProxy, type FaultProxy } from '../setup/fault-proxy.js';
import {
  MiB, allText, createBucket, directClient, head, infos, partsOf, runCleanS3, s3props, uploadsLeft,
} from '../setup/s3-helpers.js';
import { startSwift, type SwiftServer } from '../setup/swift.js';

let s3: SwiftServer;
let c: S3Client;
let px: FaultProxy;
const B = 'dest-s3-test';

beforeAll(async () => {
  s3 = await startSwift();
  c = directClient(s3);
  await createBucket(c, B);
  px = await startProxy(s3.port);
});
afterAll(async () => {
  c?.destroy();
  await px?.close();
  await s3?.stop();
});

/** Reads the object back with source-s3 into dest-null, which checks source-random's bytes. */
async function expectRandomObject(key: string, seed: number, size: number): Promise<void> {
  const h = await head(c, B, key);
  expect(h?.size, `${key} size`).toBe(size);
  const r = await run([element('source-s3', s3props(s3, B, key, { 'part-size': '5MiB' })), element('dest-null', { seed })]);
  expect(r.error?.message).toBeUndefined();
  expect(r.messages.find((m) => m.type === 'crc' && m.elt === 'dest-null#2')).toMatchObject({ size });
}

function parseStored(messages: Parameters<typeof infos>[0]): { parts: number; inFlight: number; buffers: number; retries: number } {
  const line = infos(messages, 'dest-s3#2').find((m) => m.startsWith('stored '));
  expect(line, 'the "stored" info message').toBeDefined();
  const num = (re: RegExp) => Number(re.exec(line!)?.[1] ?? 0);
  return { parts: num(/in (\d+) parts? of/), inFlight: num(/up to (\d+) in flight/), buffers: num(/(\d+) part buffers?/), retries: num(/(\d+) retr/) };
}

function retries(messages: Parameters<typeof infos>[0]): string[] {
  return infos(messages, 'dest-s3#2').filter((m) => m.startsWith('retry: '));
}

const EMPTY = join(mkdtempSync(join(tmpdir(), 'xfa-dest-s3-')), 'empty');
writeFileSync(EMPTY, '');

/** Upload ids seen for `key` while a transfer runs (polled), to ask for their parts afterwards. */
function watchUploads(key: string): { ids: Set<string>; parts: number; stop(): Promise<void> } {
  let polling: Promise<void> = Promise.resolve();
  let stopped = false;
  const poll = async () => {
    for (const u of await uploadsLeft(c, B, key)) {
      seen.ids.add(u.id);
      const n = await partsOf(c, B, u.key, u.id);
      if (typeof n === 'number') seen.parts = Math.max(seen.parts, n);
    }
  };
  const t = setInterval(() => {
    if (!stopped) polling = polling.then(poll).catch(() => undefined);
  }, 100);
  const seen = {
    ids: new Set<string>(), parts: 0,
    stop: async () => {
      stopped = true;
      clearInterval(t);
      await polling;
    },
  };
  return seen;
}


describe('dest-s3: uploads', () => {
  it('uploads 40 MiB as 8 parts with 4 in flight, byte-identical, no upload left, nothing leaked', async () => {
    const key = 'big/40m';
    const { result, messages } = await runClean([
      element('source-random', { length: 40 * MiB, seed: 7 }),
      element('dest-s3', s3props(s3, B, key, { 'part-size': '5MiB', concurrency: 4 })),
    ]);
    expect(result).toBeDefined();
    const s = parseStored(messages);
    expect(s).toMatchObject({ parts: 8, inFlight: 4, retries: 0 });
    expect(s.buffers).toBeLessThanOrEqual(5); // concurrency + the part being filled
    const h = await head(c, B, key);
    expect(h?.etag).toMatch(/^[0-9a-f]{32}-8$/);
    expect(await uploadsLeft(c, B)).toEqual([]);
    await expectRandomObject(key, 7, 40 * MiB);
  });

  it('a stream that fits in one part is one PutObject whose ETag is its MD5; an empty stream is an empty object', async () => {
    const { messages } = await runClean([element('source-random', { length: 3 * MiB + 5, seed: 3 }), element('dest-s3', s3props(s3, B, 'small/3m'))]);
    expect(infos(messages, 'dest-s3#2').some((m) => m.startsWith('stored 3145733 bytes in one PutObject'))).toBe(true);
    expect((await head(c, B, 'small/3m'))?.etag).toMatch(/^[0-9a-f]{32}$/);
    await expectRandomObject('small/3m', 3, 3 * MiB + 5);
    const e = await runClean([element('source-file', { path: EMPTY }), element('dest-s3', s3props(s3, B, 'small/empty'))]);
    expect(e.error).toBeUndefined();
    expect(await head(c, B, 'small/empty')).toEqual({ size: 0, etag: 'd41d8cd98f00b204e9800998ecf8427e' });
    expect(await uploadsLeft(c, B, 'small/')).toEqual([]);
  });

  it('exactly two parts, and one byte more: the last part may be short, parts are in order', async () => {
    for (const [len, parts] of [[10 * MiB, 2], [10 * MiB + 1, 3]] as const) {
      const key = `edge/${len}`;
      const { messages } = await runClean([element('source-random', { length: len, seed: 11 }), element('dest-s3', s3props(s3, B, key, { 'part-size': '5MiB', concurrency: 2 }))]);
      expect(parseStored(messages).parts).toBe(parts);
      await expectRandomObject(key, 11, len);
    }
  });

  it('memory stays bounded: with concurrency 1 one part uploads while one fills, whatever the stream length', async () => {
    const { messages } = await runClean([element('source-random', { length: 30 * MiB, seed: 5 }), element('dest-s3', s3props(s3, B, 'bounded', { 'part-size': '5MiB', concurrency: 1 }))]);
    const s = parseStored(messages);
    expect(s).toMatchObject({ parts: 6, inFlight: 1 });
    expect(s.buffers).toBeLessThanOrEqual(2);
    await expectRandomObject('bounded', 5, 30 * MiB);
  });

  it('part-size below the S3 minimum (5 MiB) is refused before anything is sent', () => {
    expect(() => element('dest-s3', s3props(s3, B, 'x', { 'part-size': '1MiB' }))).toThrow(/part-size/);
  });
});

describe('dest-s3: faults (through a TCP proxy)', () => {
  const viaProxy = (key: string, extra: Record<string, unknown> = {}) =>
    element('dest-s3', s3props(s3, B, key, { 'part-size': '5MiB', concurrency: 3, 'retry-delay': '20ms', ...extra }, px.endpoint));

  it('connections dropped mid-part: the parts are sent again and the object is byte-identical', async () => {
    px.clear();
    px.fault({ kind: 'drop', match: /^PUT .*partNumber=/, after: 2 * MiB, times: 3 });
    const { result, messages } = await runCleanS3(px, [element('source-random', { length: 25 * MiB, seed: 21 }), viaProxy('faults/drop')]);
    expect(result).toBeDefined();
    expect(px.stats.faults).toBe(3);
    expect(retries(messages)).toHaveLength(3);
    expect(retries(messages)[0]).toMatch(/^retry: upload part \d s3:\/\/dest-s3-test\/faults\/drop: .*\(retry 1 of 5 in \d+ ms\)$/);
    expect(parseStored(messages)).toMatchObject({ parts: 5, retries: 3 });
    expect(await uploadsLeft(c, B)).toEqual([]);
    await expectRandomObject('faults/drop', 21, 25 * MiB);
  });

  it('a connection stalled mid-part is given up after `timeout` of silence and the part retried', async () => {
    px.clear();
    px.fault({ kind: 'stall', match: /^PUT .*partNumber=2&/, after: MiB, times: 1 });
    const t0 = Date.now();
    const { result, messages } = await runCleanS3(px, [element('source-random', { length: 12 * MiB, seed: 22 }), viaProxy('faults/stall', { timeout: '1s' })]);
    expect(result).toBeDefined();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    expect(retries(messages).join('\n')).toMatch(/upload part 2 .*timed out after 1000 ms/);
    await expectRandomObject('faults/stall', 22, 12 * MiB);
  });

  it('503 SlowDown (throttling) on create, parts and complete is retried with back-off', async () => {
    px.clear();
    px.fault({ kind: 'slowdown', match: /^POST .*\?uploads/, times: 1 });
    px.fault({ kind: 'slowdown', match: /^PUT .*partNumber=/, times: 2 });
    px.fault({ kind: 'slowdown', match: /^POST .*uploadId=/, times: 1 });
    const { result, messages } = await runCleanS3(px, [element('source-random', { length: 12 * MiB, seed: 23 }), viaProxy('faults/slowdown')]);
    expect(result).toBeDefined();
    const r = retries(messages);
    expect(r).toHaveLength(4);
    expect(r.every((m) => m.includes('503 SlowDown: Please reduce your request rate.'))).toBe(true);
    expect(r.map((m) => /^retry: (\w+)/.exec(m)![1]).sort()).toEqual(['complete', 'create', 'upload', 'upload']);
    await expectRandomObject('faults/slowdown', 23, 12 * MiB);
  });

  it('the answer to CreateMultipartUpload lost: the retry creates another upload, and the orphan is aborted', async () => {
    px.clear();
    px.fault({ kind: 'drop', direction: 'down', match: /^POST .*\?uploads/, after: 20, times: 1 });
    const { result, messages } = await runCleanS3(px, [element('source-random', { length: 11 * MiB, seed: 24 }), viaProxy('faults/create')]);
    expect(result).toBeDefined();
    expect(retries(messages)).toHaveLength(1);
    expect(px.stats.lines.filter((l) => /^POST .*\?uploads/.test(l))).toHaveLength(2);
    expect(await uploadsLeft(c, B)).toEqual([]);
    await expectRandomObject('faults/create', 24, 11 * MiB);
  });

  it('the answer to CompleteMultipartUpload lost: the retry finds the upload done and checks the object instead', async () => {
    px.clear();
    px.fault({ kind: 'drop', direction: 'down', match: /^POST .*uploadId=/, after: 20, times: 1 });
    const { result, messages } = await runCleanS3(px, [element('source-random', { length: 11 * MiB, seed: 25 }), viaProxy('faults/complete')]);
    expect(result, JSON.stringify(infos(messages))).toBeDefined();
    expect(retries(messages)).toHaveLength(1);
    await expectRandomObject('faults/complete', 25, 11 * MiB);
  });

  it('a connection that keeps dropping: retries run out, the upload is aborted (ListParts: NoSuchUpload), no object', async () => {
    px.clear();
    px.fault({ kind: 'drop', match: /^PUT .*partNumber=/, after: MiB, times: Infinity });
    const w = watchUploads('faults/dead');
    const { error, messages } = await runCleanS3(px, [element('source-random', { length: 30 * MiB, seed: 26 }), viaProxy('faults/dead', { 'max-retries': 2 })], { watch: w });
    px.clear();
    expect(error?.message).toMatch(/^dest-s3#2: upload part \d s3:\/\/dest-s3-test\/faults\/dead: .* \(gave up after 3 attempts\)$/);
    expect(types(messages)).toEqual(['error', 'cancel', 'done']);
    expect(w.ids.size).toBe(1);
    for (const id of w.ids) expect(await partsOf(c, B, 'faults/dead', id)).toBe('NoSuchUpload');
    expect(await uploadsLeft(c, B)).toEqual([]);
    expect(await head(c, B, 'faults/dead')).toBeNull();
  });
});

describe('dest-s3: credentials from the usual AWS sources', () => {
  const saved = { ...process.env };
  const restore = () => {
    for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_CONFIG_FILE', 'AWS_PROFILE']) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  };
  const noKeys = (key: string, extra: Record<string, unknown> = {}) => {
    const p = s3props(s3, B, key, extra);
    delete p['access-key'];
    delete p['secret-key'];
    return element('dest-s3', p);
  };

  it('from the environment (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY); a wrong one fails without showing it', async () => {
    try {
      process.env.AWS_ACCESS_KEY_ID = s3.accessKey;
      process.env.AWS_SECRET_ACCESS_KEY = s3.secretKey;
      const ok = await runClean([element('source-random', { length: 1000, seed: 2 }), noKeys('creds/env')]);
      expect(ok.error).toBeUndefined();
      expect((await head(c, B, 'creds/env'))?.size).toBe(1000);
      process.env.AWS_SECRET_ACCESS_KEY = 'EnvSecretThatIsWrong42';
      const bad = await runClean([element('source-random', { length: 1000, seed: 2 }), noKeys('creds/env-bad')]);
      expect(bad.error?.message).toMatch(/403 .*check the credentials/);
      expect(allText(bad.messages, bad.error)).not.toContain('EnvSecretThatIsWrong42');
    } finally {
      restore();
    }
  });

  it('from a profile in a shared credentials file (profile=…)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xfa-aws-'));
    writeFileSync(join(dir, 'credentials'), `[default]\naws_access_key_id = nobody\naws_secret_access_key = nothing\n[xfa-test]\naws_access_key_id = ${s3.accessKey}\naws_secret_access_key = ${s3.secretKey}\n`);
    writeFileSync(join(dir, 'config'), '');
    try {
      delete process.env.AWS_ACCESS_KEY_ID;
      delete process.env.AWS_SECRET_ACCESS_KEY;
      process.env.AWS_SHARED_CREDENTIALS_FILE = join(dir, 'credentials');
      process.env.AWS_CONFIG_FILE = join(dir, 'config');
      const ok = await runClean([element('source-random', { length: 1000, seed: 2 }), noKeys('creds/profile', { profile: 'xfa-test' })]);
      expect(ok.error).toBeUndefined();
      expect((await head(c, B, 'creds/profile'))?.size).toBe(1000);
      const dflt = await runClean([element('source-random', { length: 1000, seed: 2 }), noKeys('creds/default')]);
      expect(dflt.error?.message).toMatch(/403 /); // [default] holds the wrong key
    } finally {
      restore();
    }
  });

  it('access-key without secret-key is refused before anything is sent', async () => {
    const p = s3props(s3, B, 'creds/half');
    delete p['secret-key'];
    const { error } = await runClean([element('source-random', { length: 1000, seed: 2 }), element('dest-s3', p)]);
    expect(error?.message).toBe('dest-s3#2: credentials: give both access-key and secret-key, or neither (then the AWS environment or profile is used)');
  });
});

describe('dest-s3: errors and cancel', () => {
  it('wrong credentials: a clear error at once (no retries), without the secret anywhere', async () => {
    const secret = 'Wr0ngSecretKeyValue+xyz';
    for (const creds of [{ 'secret-key': secret }, { 'access-key': 'nobody:nouser', 'secret-key': secret }]) {
      const { error, messages } = await runCleanS3(px, [element('source-random', { length: MiB, seed: 1 }), element('dest-s3', { ...s3props(s3, B, 'denied'), ...creds })]);
      expect(error?.message).toMatch(/^dest-s3#2: put s3:\/\/dest-s3-test\/denied: 403 (SignatureDoesNotMatch|InvalidAccessKeyId|AccessDenied)\b.*\(check the credentials/);
      expect(retries(messages)).toEqual([]);
      expect(allText(messages, error)).not.toContain(secret);
    }
    expect(await head(c, B, 'denied')).toBeNull();
  });

  it('a bucket that does not exist: NoSuchBucket, at once', async () => {
    const t0 = Date.now();
    const { error } = await runCleanS3(px, [element('source-random', { length: 12 * MiB, seed: 1 }), element('dest-s3', s3props(s3, 'no-such-bucket-here', 'k', { 'part-size': '5MiB' }))]);
    expect(error?.message).toMatch(/^dest-s3#2: create upload s3:\/\/no-such-bucket-here\/k: 404 NoSuchBucket/);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('cancel mid-upload: requests stop, the multipart upload is aborted, no parts and no object remain', async () => {
    const w = watchUploads('cancelled');
    const { error, messages } = await runCleanS3(px, [element('source-random', { length: 0, seed: 9 }), element('dest-s3', s3props(s3, B, 'cancelled', { 'part-size': '5MiB' }))], {
      watch: w,
      during: (x) => {
        const t = setInterval(() => {
          if (w.parts >= 2) {
            clearInterval(t);
            x.cancel();
          }
        }, 20);
      },
    });
    expect(error?.cancelled).toBe(true);
    expect(types(messages)).toEqual(['cancel', 'done']);
    expect(w.ids.size).toBe(1);
    for (const id of w.ids) expect(await partsOf(c, B, 'cancelled', id)).toBe('NoSuchUpload');
    expect(await uploadsLeft(c, B)).toEqual([]);
    expect(await head(c, B, 'cancelled')).toBeNull();
  });

  it('the source fails mid-stream: the upload is aborted and no object appears', async () => {
    const w = watchUploads('srcfail');
    const { error } = await runCleanS3(px, [
      element('source-process', { argv: ['sh', '-c', 'head -c 16000000 /dev/zero; sleep 0.5; exit 3'] }),
      element('dest-s3', s3props(s3, B, 'srcfail', { 'part-size': '5MiB' })),
    ], { watch: w });
    expect(error?.message).toMatch(/source-process#1/);
    expect(await uploadsLeft(c, B)).toEqual([]);
    expect(await head(c, B, 'srcfail')).toBeNull();
    for (const id of w.ids) expect(await partsOf(c, B, 'srcfail', id)).toBe('NoSuchUpload');
  });
});
