/**
 * Helpers for the S3 tests: a direct SDK client to the test server (to look behind the elements'
 * backs: uploads left, parts, objects), element property sets, and Amanda's LCG for checking bytes.
 */
import {
  CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command,
  ListPartsCommand, PutObjectCommand, S3Client,
} from '@aws-sdk/client-s3';
import { Agent } from 'node:http';
import type { XferMessage } from '../../src/messages.js';
import type { SwiftServer } from './swift.js';

export const MiB = 1024 * 1024;

export function directClient(s: SwiftServer, endpoint = s.endpoint): S3Client {
  return new S3Client({
    endpoint, region: s.region, forcePathStyle: true, maxAttempts: 3,
    // No idle keep-alive sockets: the leak checks around transfers would see them.
    requestHandler: { httpAgent: new Agent({ keepAlive: false }) },
    credentials: { accessKeyId: s.accessKey, secretAccessKey: s.secretKey },
    requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** Properties for an S3 element against `endpoint` (the server, or a fault proxy in front of it). */
export function s3props(s: SwiftServer, bucket: string, key: string, extra: Record<string, unknown> = {}, endpoint = s.endpoint): Record<string, unknown> {
  return { endpoint, bucket, key, 'access-key': s.accessKey, 'secret-key': s.secretKey, ...extra };
}

export async function createBucket(c: S3Client, bucket: string): Promise<void> {
  await c.send(new CreateBucketCommand({ Bucket: bucket }));
}

export async function uploadsLeft(c: S3Client, bucket: string, prefix = ''): Promise<{ key: string; id: string }[]> {
  const r = await c.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix || undefined }));
  return (r.Uploads ?? []).map((u) => ({ key: u.Key!, id: u.UploadId! }));
}

/** ListParts of an upload: the parts, or the S3 error code (NoSuchUpload once aborted). */
export async function partsOf(c: S3Client, bucket: string, key: string, id: string): Promise<number | string> {
  try {
    const r = await c.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: id }));
    return (r.Parts ?? []).length;
  } catch (e) {
    return (e as { name: string }).name;
  }
}

export async function head(c: S3Client, bucket: string, key: string): Promise<{ size: number; etag: string } | null> {
  try {
    const r = await c.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return { size: r.ContentLength ?? 0, etag: (r.ETag ?? '').replace(/"/g, '') };
  } catch (e) {
    if ((e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return null;
    throw e;
  }
}

export async function getObject(c: S3Client, bucket: string, key: string): Promise<Buffer> {
  const r = await c.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

export async function putObject(c: S3Client, bucket: string, key: string, body: Buffer): Promise<void> {
  await c.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
}

export async function deleteObject(c: S3Client, bucket: string, key: string): Promise<void> {
  await c.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
}

export async function listKeys(c: S3Client, bucket: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const r = await c.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix || undefined, ContinuationToken: token }));
    out.push(...(r.Contents ?? []).map((o) => o.Key!));
    token = r.IsTruncated ? r.NextContinuationToken : undefined;
  } while (token);
  return out;
}

import { expectClean, lcg, openFds, run, snapshot, waitFor } from '../helpers.js';
import { engineStats } from '../../src/xfer.js';
import type { FaultProxy } from './fault-proxy.js';
export { lcg };

/** The info messages of one element ("dest-s3#2"). */
export function infos(messages: XferMessage[], elt?: string): string[] {
  return messages.flatMap((m) => (m.type === 'info' && (!elt || m.elt === elt) ? [m.message] : []));
}

/** Everything the transfer said, as one text (to check that no secret is in it). */
export function allText(messages: XferMessage[], error?: Error): string {
  return JSON.stringify(messages) + (error ? `${error.message}\n${error.stack ?? ''}` : '');
}

/**
 * runClean for transfers talking to S3 through the fault proxy: the proxy's sockets and the SDK's
 * close a moment after `done` (and a watcher, when given, is stopped first), so the leak check
 * waits for them before comparing.
 */
export async function runCleanS3(px: FaultProxy, specs: Parameters<typeof run>[0], opts: Parameters<typeof run>[1] & { watch?: { stop(): Promise<void> } } = {}): ReturnType<typeof run> {
  const before = snapshot();
  const out = await run(specs, opts);
  await opts.watch?.stop();
  await waitFor(() => px.open() === 0 && engineStats().reserved === 0);
  const newSockets = () => [...openFds()].filter(([fd, t]) => before.fds.get(fd) !== t && t.startsWith('socket:')).length;
  await waitFor(() => newSockets() === 0, 2000).catch(() => undefined);
  for (let i = 0; i < 3 && engineStats().blocksOutstanding > 0; i++) {
    (globalThis as { gc?: () => void }).gc?.();
    await new Promise((r) => setImmediate(r));
  }
  expectClean(before);
  return out;
}
