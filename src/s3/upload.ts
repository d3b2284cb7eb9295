/**
 * Writing one S3 object from a stream: the engine of dest-s3 and of the s3 device's multipart
 * files.
 *
 *     const w = new S3ObjectWriter(client, opts, { onRetry, signal });
 *     for (...) await w.write(chunk);   // waits while every part slot is busy (back-pressure)
 *     const r = await w.end();          // { size, etag, parts, retries, ... }
 *     // or, on cancel/failure:
 *     await w.abort();                  // AbortMultipartUpload: no parts left behind
 *
 * - Bytes are copied into part buffers of `partSize`. An object that fits in one part is sent
 *   with a single PutObject at end(): nothing exists on the server before that. A larger one
 *   becomes a multipart upload, created when the first part is full; up to `concurrency` parts
 *   are uploaded at once, and write() waits for a slot when all are busy, so memory stays at
 *   (concurrency + 1) × partSize however fast the source is.
 * - Every part is sent with Content-MD5 (the server rejects damaged bytes: BadDigest) and its
 *   returned ETag is compared with the MD5 computed here (node:crypto); a mismatch is retried like
 *   a dropped connection. After CompleteMultipartUpload, HeadObject must show the exact size and,
 *   when the server gives an S3-style multipart ETag (MD5 of the part MD5s + "-N"), that ETag too;
 *   otherwise the object is deleted and the upload fails. A small object's ETag must be its MD5.
 *   A multipart object records its part size as metadata (x-amz-meta-xfa-part-size), so that a
 *   reader can check the whole object against the multipart ETag.
 * - Failures: a part that fails for good (non-retryable error, or retries used up) fails the
 *   next write() or end(). abort() (the transfer was cancelled or failed) stops the requests in
 *   flight, waits for them, then aborts the multipart upload (retried), so no part is left
 *   stored; if CompleteMultipartUpload had already gone out, the object is deleted again: an
 *   object exists only after a transfer that succeeded.
 * - A retried CompleteMultipartUpload that finds the upload gone (the first attempt did complete
 *   it, but its answer was lost) checks the object's ETag and size instead of failing.
 */
import { createHash, type Hash } from 'node:crypto';
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, DeleteObjectCommand,
  HeadObjectCommand, ListMultipartUploadsCommand, PutObjectCommand, UploadPartCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { formatSize } from '../props.js';
import { MAX_PARTS, S3Error, etagHex, toS3Error, tuning, url, withRetry, type RetryPolicy, type S3Options } from './client.js';

/** Object metadata (x-amz-meta-xfa-part-size) recording a multipart object's part size. */
export const PART_SIZE_META = 'xfa-part-size';

export interface UploadResult {
  /** Bytes stored. */
  size: number;
  /** The object's ETag (hex, "-N" suffix for multipart). */
  etag: string;
  /** 0 for a single PutObject. */
  parts: number;
  /** Requests retried along the way. */
  retries: number;
  /** Part buffers allocated (the memory bound: at most concurrency + 1). */
  buffers: number;
  /** The most parts that were uploading at the same time. */
  maxInFlight: number;
}

export interface WriterHooks {
  signal?: AbortSignal;
  onRetry?: (message: string) => void;
  /** Content-Type and metadata for the object. */
  contentType?: string;
  metadata?: Record<string, string>;
}

interface Part {
  number: number;
  buf: Buffer;
  size: number;
  hash: Hash;
}

export class S3ObjectWriter {
  private readonly t: ReturnType<typeof tuning>;
  private readonly pool: Buffer[] = [];
  private buffers = 0;
  private cur: Part | null = null;
  private nextNumber = 1;
  private readonly inFlight = new Map<number, Promise<void>>();
  private maxInFlight = 0;
  private readonly done: { PartNumber: number; ETag: string; md5: Buffer }[] = [];
  private uploadId: string | undefined;
  private createPromise: Promise<string> | undefined;
  private createAmbiguous = false;
  private failure: S3Error | undefined;
  private total = 0;
  private retries = 0;
  private state: 'open' | 'ending' | 'completing' | 'completed' | 'aborted' = 'open';
  private completed = false;
  private readonly stop = new AbortController();
  private readonly policy: RetryPolicy;
  private slotWaiters: (() => void)[] = [];
  private readonly startedAt = new Date();

  constructor(private readonly client: S3Client, private readonly o: S3Options, private readonly hooks: WriterHooks = {}) {
    this.t = tuning(o);
    hooks.signal?.addEventListener('abort', () => this.stop.abort(), { once: true });
    this.policy = {
      maxRetries: this.t.maxRetries, retryDelay: this.t.retryDelay, signal: this.stop.signal, secrets: [o.secretKey, o.sessionToken],
      onRetry: (m) => {
        this.retries++;
        hooks.onRetry?.(m);
      },
    };
  }

  get bytesWritten(): number {
    return this.total;
  }

  /** Copies `chunk` into part buffers; resolves when it is held (waits for a free part slot). */
  async write(chunk: Uint8Array): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.state !== 'open') throw new S3Error(`write ${url(this.o)}`, `write after ${this.state}`, { retryable: false });
    let off = 0;
    while (off < chunk.length) {
      if (!this.cur) this.cur = await this.newPart();
      const p = this.cur;
      const n = Math.min(chunk.length - off, p.buf.length - p.size);
      chunk instanceof Buffer ? chunk.copy(p.buf, p.size, off, off + n) : p.buf.set(chunk.subarray(off, off + n), p.size);
      p.hash.update(p.buf.subarray(p.size, p.size + n));
      p.size += n;
      off += n;
      this.total += n;
      if (p.size === p.buf.length) {
        this.cur = null;
        this.dispatch(p);
      }
    }
  }

  /** Finishes the object; resolves when it is stored and verified. */
  async end(): Promise<UploadResult> {
    if (this.failure) throw this.failure;
    this.state = 'ending';
    const last = this.cur;
    this.cur = null;
    let etag: string;
    if (this.nextNumber === 1 || (this.nextNumber === 2 && last)) {
      // Everything fits in one part (or nothing at all): one PutObject.
      etag = await this.putSingle(last);
    } else {
      if (last && last.size > 0) this.dispatch(last);
      else if (last) this.release(last.buf);
      await this.drain();
      if (this.failure) throw this.failure;
      etag = await this.complete();
    }
    await this.verify(etag);
    if (this.createAmbiguous) await this.sweepOrphans();
    return { size: this.total, etag, parts: this.done.length, retries: this.retries, buffers: this.buffers, maxInFlight: this.maxInFlight };
  }

  /**
   * Undoes everything: stops requests in flight, aborts the multipart upload, deletes the object
   * if it had been completed. Never throws; resolves when the server has been told.
   */
  async abort(): Promise<void> {
    const wasCompleting = this.state === 'completing' || this.state === 'completed';
    this.state = 'aborted';
    this.stop.abort();
    for (const w of this.slotWaiters.splice(0)) w();
    await Promise.allSettled([...this.inFlight.values()]);
    if (this.createPromise) await this.createPromise.catch(() => undefined);
    // A fresh policy: the element's signal is aborted, but the clean-up must still be done.
    const policy: RetryPolicy = { maxRetries: Math.max(2, this.t.maxRetries), retryDelay: this.t.retryDelay, secrets: this.policy.secrets };
    const { bucket: Bucket, key: Key } = this.o;
    try {
      if (this.uploadId && !this.completed) {
        const UploadId = this.uploadId;
        await withRetry(`abort upload ${url(this.o)}`, policy, () => this.client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId })))
          .catch((e) => {
            if ((e as S3Error).code !== 'NoSuchUpload') throw e;
          });
      }
      if (wasCompleting && this.expectedEtag) {
        // Complete may have reached the server before the cancel: remove that object again.
        const head = await this.client.send(new HeadObjectCommand({ Bucket, Key })).catch(() => undefined);
        if (head && etagHex(head.ETag) === this.expectedEtag) {
          await withRetry(`delete ${url(this.o)}`, policy, () => this.client.send(new DeleteObjectCommand({ Bucket, Key })));
        }
      }
      if (this.createAmbiguous) await this.sweepOrphans();
    } catch {
      /* the transfer already failed or was cancelled; nothing more we can do */
    }
  }

  // ----- parts -----

  private async newPart(): Promise<Part> {
    // A slot is free when fewer than `concurrency` parts are uploading (the one being filled is extra).
    while (this.inFlight.size >= this.t.concurrency && !this.failure && !this.stop.signal.aborted) {
      await new Promise<void>((res) => this.slotWaiters.push(res));
    }
    if (this.failure) throw this.failure;
    if (this.stop.signal.aborted) throw new S3Error(`write ${url(this.o)}`, 'cancelled', { code: 'AbortError', retryable: false });
    const buf = this.pool.pop() ?? this.alloc();
    return { number: this.nextNumber++, buf, size: 0, hash: createHash('md5') };
  }

  private alloc(): Buffer {
    this.buffers++;
    return Buffer.allocUnsafeSlow(this.t.partSize);
  }

  private release(buf: Buffer): void {
    this.pool.push(buf);
  }

  private dispatch(p: Part): void {
    if (p.number > MAX_PARTS) {
      this.fail(new S3Error(`upload part ${p.number} ${url(this.o)}`, `more than ${MAX_PARTS} parts: use a larger part-size (now ${formatSize(this.t.partSize)})`, { retryable: false }));
      this.release(p.buf);
      return;
    }
    const job = this.uploadPart(p)
      .catch((e) => this.fail(toS3Error(e, `upload part ${p.number} ${url(this.o)}`, this.policy.secrets)))
      .finally(() => {
        this.release(p.buf);
        this.inFlight.delete(p.number);
        const w = this.slotWaiters.shift();
        w?.();
      });
    this.inFlight.set(p.number, job);
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight.size);
  }

  private fail(e: S3Error): void {
    this.failure ??= e;
    for (const w of this.slotWaiters.splice(0)) w();
  }

  private async uploadPart(p: Part): Promise<void> {
    const UploadId = await this.ensureUpload();
    const md5 = p.hash.digest();
    const want = md5.toString('hex');
    const body = p.buf.subarray(0, p.size);
    const op = `upload part ${p.number} ${url(this.o)}`;
    const r = await withRetry(op, this.policy, async () => {
      const out = await this.client.send(new UploadPartCommand({
        Bucket: this.o.bucket, Key: this.o.key, UploadId, PartNumber: p.number, Body: body,
        ContentLength: p.size, ContentMD5: md5.toString('base64'),
      }), { abortSignal: this.stop.signal });
      const got = etagHex(out.ETag);
      if (got !== want) throw new S3Error(op, `ETag ${got || '(none)'} is not the part's MD5 ${want} (damaged in transit?)`, { code: 'BadDigest', retryable: true });
      return out;
    });
    this.done.push({ PartNumber: p.number, ETag: r.ETag!, md5 });
  }

  private ensureUpload(): Promise<string> {
    this.createPromise ??= withRetry(`create upload ${url(this.o)}`, this.policy, async (attempt) => {
      // A retried create may leave the first attempt's upload behind on the server (its answer
      // was lost): remember to sweep such orphans at the end.
      if (attempt > 0) this.createAmbiguous = true;
      const r = await this.client.send(new CreateMultipartUploadCommand({
        Bucket: this.o.bucket, Key: this.o.key, ContentType: this.hooks.contentType ?? 'application/octet-stream',
        // Readers verify the multipart ETag with it (S3 servers need not tell part sizes).
        Metadata: { ...this.hooks.metadata, [PART_SIZE_META]: String(this.t.partSize) },
      }), { abortSignal: this.stop.signal });
      if (!r.UploadId) throw new S3Error(`create upload ${url(this.o)}`, 'the server returned no UploadId', { retryable: false });
      return r.UploadId;
    }).then((id) => {
      this.uploadId = id;
      return id;
    });
    return this.createPromise;
  }

  private async drain(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight.values()]);
  }

  // ----- finishing -----

  private expectedEtag: string | undefined;

  private async putSingle(p: Part | null): Promise<string> {
    const body = p ? p.buf.subarray(0, p.size) : Buffer.alloc(0);
    const md5 = p ? p.hash.digest() : createHash('md5').digest();
    const want = md5.toString('hex');
    this.expectedEtag = want;
    const op = `put ${url(this.o)}`;
    this.state = 'completing';
    try {
      await withRetry(op, this.policy, async () => {
        const out = await this.client.send(new PutObjectCommand({
          Bucket: this.o.bucket, Key: this.o.key, Body: body, ContentLength: body.length, ContentMD5: md5.toString('base64'),
          ContentType: this.hooks.contentType ?? 'application/octet-stream', Metadata: this.hooks.metadata,
        }), { abortSignal: this.stop.signal });
        const got = etagHex(out.ETag);
        if (got !== want) throw new S3Error(op, `ETag ${got || '(none)'} is not the object's MD5 ${want} (damaged in transit?)`, { code: 'BadDigest', retryable: true });
      });
    } finally {
      if (p) this.release(p.buf);
    }
    this.completed = true;
    this.state = 'completed';
    return want;
  }

  private async complete(): Promise<string> {
    const parts = [...this.done].sort((a, b) => a.PartNumber - b.PartNumber);
    for (let i = 0; i < parts.length; i++) {
      if (parts[i].PartNumber !== i + 1) throw new S3Error(`complete ${url(this.o)}`, `part ${i + 1} missing`, { retryable: false });
    }
    this.expectedEtag = `${createHash('md5').update(Buffer.concat(parts.map((p) => p.md5))).digest('hex')}-${parts.length}`;
    const op = `complete upload ${url(this.o)}`;
    const { bucket: Bucket, key: Key } = this.o;
    this.state = 'completing';
    let etag: string;
    let retried = false;
    try {
      const out = await withRetry(op, this.policy, (attempt) => (retried ||= attempt > 0, this.client.send(new CompleteMultipartUploadCommand({
        Bucket, Key, UploadId: this.uploadId,
        MultipartUpload: { Parts: parts.map(({ PartNumber, ETag }) => ({ PartNumber, ETag })) },
      }), { abortSignal: this.stop.signal })));
      etag = etagHex(out.ETag);
    } catch (e) {
      // A lost answer to a Complete that did happen: the retry finds the upload gone.
      if ((e as S3Error).code !== 'NoSuchUpload' || !retried) throw e;
      const head = await withRetry(`head ${url(this.o)}`, this.policy, () => this.client.send(new HeadObjectCommand({ Bucket, Key }), { abortSignal: this.stop.signal }));
      if (etagHex(head.ETag) !== this.expectedEtag) throw e;
      etag = etagHex(head.ETag);
    }
    this.completed = true;
    this.state = 'completed';
    return etag;
  }

  /** HeadObject: the stored size must be ours, and an S3-style ETag must match our MD5s. */
  private async verify(etag: string): Promise<void> {
    const { bucket: Bucket, key: Key } = this.o;
    const op = `verify ${url(this.o)}`;
    const head = await withRetry(op, this.policy, () => this.client.send(new HeadObjectCommand({ Bucket, Key }), { abortSignal: this.stop.signal }));
    const stored = etagHex(head.ETag) || etag;
    let problem: string | undefined;
    if (head.ContentLength !== this.total) problem = `stored size ${head.ContentLength} is not the ${this.total} bytes written`;
    else if (/^[0-9a-f]{32}(-\d+)?$/.test(stored) && stored !== this.expectedEtag) problem = `stored ETag ${stored} is not ${this.expectedEtag} (computed from the parts' MD5)`;
    if (problem) {
      await this.client.send(new DeleteObjectCommand({ Bucket, Key })).catch(() => undefined);
      throw new S3Error(op, `${problem}: object deleted`, { retryable: false });
    }
  }

  /** Aborts uploads of this key that a lost CreateMultipartUpload answer left behind. */
  private async sweepOrphans(): Promise<void> {
    const { bucket: Bucket, key: Key } = this.o;
    const list = await this.client.send(new ListMultipartUploadsCommand({ Bucket, Prefix: Key })).catch(() => undefined);
    const since = this.startedAt.getTime() - 60_000;
    for (const u of list?.Uploads ?? []) {
      if (u.Key !== Key || u.UploadId === this.uploadId || (u.Initiated && u.Initiated.getTime() < since)) continue;
      await this.client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId: u.UploadId })).catch(() => undefined);
    }
  }
}
