/**
 * Reading one S3 object, whole or by byte ranges: the engine of source-s3 and of the s3
 * device's reads.
 *
 *     const r = new S3ObjectReader(client, opts, { signal, onRetry });
 *     const { size, etag } = await r.open(ranges);   // HeadObject; ranges checked against size
 *     for await (const buf of r.pieces()) ...        // in order, `concurrency` GETs in flight
 *
 * The object (or each range) is cut into pieces of at most `partSize` bytes; up to `concurrency`
 * ranged GETs run at once and pieces come out strictly in order, so memory stays at
 * concurrency × partSize. Every GET carries If-Match with the ETag HeadObject saw: an object
 * replaced while it is being read fails the read (412) instead of mixing two versions. A piece
 * whose GET fails with a retryable error (5xx, throttling, dropped or stalled connection, a body
 * shorter than asked for) is fetched again from its start (see client.ts for the policy).
 *
 * With `verify`, whole-object reads also check the content when the ETag allows it: a single-part object's
 * ETag is its MD5, a multipart one's is the MD5 of its parts' MD5s ("-N"). For the latter the part
 * size comes from the object's metadata (dest-s3 records x-amz-meta-xfa-part-size) or else from
 * HEAD ?partNumber=1 (all parts but the last are that size when xfa or the SDK wrote them;
 * otherwise each part's size is asked for before declaring a mismatch). A server that cannot tell
 * (Swift's s3api has no ?partNumber) leaves other writers' multipart objects unverified, which an
 * `info` message says.
 */
import { createHash, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { S3Error, etagHex, tuning, url, withRetry, type RetryPolicy, type S3Options } from './client.js';
import { PART_SIZE_META } from './upload.js';

export interface ByteRange {
  offset: number;
  length: number;
}

/** "off:len,off:len" (commas or whitespace between items) → ranges; throws on bad syntax. */
export function parseRanges(items: readonly string[] | string): ByteRange[] {
  const words = (typeof items === 'string' ? [items] : items).flatMap((w) => w.split(/[\s,]+/)).filter(Boolean);
  return words.map((w) => {
    const m = /^(\d{1,16}):(\d{1,16})$/.exec(w);
    if (!m) throw new S3Error('ranges', `"${w}" is not OFFSET:LENGTH`, { retryable: false });
    const r = { offset: Number(m[1]), length: Number(m[2]) };
    if (r.length === 0) throw new S3Error('ranges', `"${w}" is empty`, { retryable: false });
    if (!Number.isSafeInteger(r.offset + r.length)) throw new S3Error('ranges', `"${w}" is too large`, { retryable: false });
    return r;
  });
}

/**
 * Copies a response body into `buf` (event-driven: cheaper than async iteration per chunk).
 * Resolves with the bytes received when the body ends; a body cut off (close before end) resolves
 * short, which the caller retries; more bytes than `buf` holds is an error.
 */
function readInto(body: Readable, buf: Buffer, op: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let got = 0;
    let settled = false;
    const finish = (err?: unknown) => {
      if (settled) return;
      settled = true;
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', finish);
      body.off('close', onClose);
      if (err) {
        body.destroy();
        reject(err);
      } else {
        resolve(got);
      }
    };
    const onData = (c: Buffer) => {
      if (got + c.length > buf.length) return finish(new S3Error(op, `the server sent more than the ${buf.length} bytes asked for`, { retryable: false }));
      c.copy(buf, got);
      got += c.length;
    };
    const onEnd = () => finish();
    const onClose = () => finish(); // without 'end': cut off; the short count says so
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('error', finish);
    body.once('close', onClose);
  });
}

export interface ReaderHooks {
  signal?: AbortSignal;
  onRetry?: (message: string) => void;
  /** Other remarks worth an info message. */
  onInfo?: (message: string) => void;
  /** Verify whole-object reads against the ETag (default: false). */
  verify?: boolean;
}

export class S3ObjectReader {
  private readonly t: ReturnType<typeof tuning>;
  private readonly policy: RetryPolicy;
  private readonly stop = new AbortController();
  size = 0;
  etag = '';
  metadata: Record<string, string> = {};
  private ranges: ByteRange[] = [];
  private whole = false;
  retries = 0;
  bytesRead = 0;
  /** GETs made by pieces() (retries not counted) and the most that were in flight at once. */
  gets = 0;
  maxInFlight = 0;

  constructor(private readonly client: S3Client, private readonly o: S3Options, private readonly hooks: ReaderHooks = {}) {
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

  /** HeadObject; checks `ranges` (null: the whole object) against the size. */
  async open(ranges: ByteRange[] | null): Promise<{ size: number; etag: string }> {
    const head = await withRetry(`head ${url(this.o)}`, this.policy, () =>
      this.client.send(new HeadObjectCommand({ Bucket: this.o.bucket, Key: this.o.key }), { abortSignal: this.stop.signal }));
    this.size = head.ContentLength ?? 0;
    this.etag = head.ETag ?? '';
    this.metadata = head.Metadata ?? {};
    this.whole = ranges === null;
    this.ranges = ranges ?? (this.size > 0 ? [{ offset: 0, length: this.size }] : []);
    this.ranges.forEach((r, i) => {
      if (r.offset + r.length > this.size) {
        throw new S3Error(`range ${i} (${r.offset}:${r.length})`, `extends past the end of ${url(this.o)} (${this.size} bytes)`, { retryable: false });
      }
    });
    return { size: this.size, etag: this.etag };
  }

  /** One range, fetched (and retried) on its own. Call open() first. */
  read(r: ByteRange): Promise<Buffer> {
    if (r.offset + r.length > this.size) {
      return Promise.reject(new S3Error(`get ${url(this.o)}`, `bytes ${r.offset}-${r.offset + r.length - 1} are past the end (${this.size} bytes)`, { retryable: false }));
    }
    return this.fetch(r);
  }

  /** Stops the GETs in flight (cancel). */
  cancel(): void {
    this.stop.abort();
  }

  /**
   * The pieces in order. Call open() first. A piece is valid until the next one is asked for:
   * its buffer is reused (concurrency + 1 buffers of partSize serve the whole read, so large
   * reads make no garbage for the collector to chase).
   */
  async *pieces(): AsyncGenerator<Buffer> {
    const jobs: ByteRange[] = [];
    for (const r of this.ranges) {
      for (let at = 0; at < r.length; at += this.t.partSize) jobs.push({ offset: r.offset + at, length: Math.min(this.t.partSize, r.length - at) });
    }
    const verify = this.whole && this.hooks.verify === true ? await this.verifier() : null;
    const window: Promise<Buffer>[] = [];
    const pool: Buffer[] = [];
    let next = 0;
    const fill = () => {
      while (window.length < this.t.concurrency && next < jobs.length) {
        const job = jobs[next++];
        const p = this.fetch(job, (pool.pop() ?? Buffer.allocUnsafeSlow(this.t.partSize)).subarray(0, job.length));
        p.catch(() => undefined); // awaited in order below; avoid unhandled rejections meanwhile
        window.push(p);
        this.gets++;
        this.maxInFlight = Math.max(this.maxInFlight, window.length);
      }
    };
    try {
      fill();
      while (window.length) {
        const buf = await window.shift()!;
        fill();
        verify?.update(buf);
        this.bytesRead += buf.length;
        yield buf;
        pool.push(Buffer.from(buf.buffer, buf.byteOffset, this.t.partSize));
      }
      if (verify) await verify.check();
    } finally {
      // An early exit (cancel, downstream failure): stop what is still in flight.
      if (window.length) {
        this.stop.abort();
        await Promise.allSettled(window);
      }
    }
  }

  /** GETs one range into `into` (exactly r.length bytes), or into a new buffer. */
  private async fetch(r: ByteRange, into?: Buffer): Promise<Buffer> {
    const op = `get ${url(this.o)} bytes ${r.offset}-${r.offset + r.length - 1}`;
    return withRetry(op, this.policy, async () => {
      const out = await this.client.send(new GetObjectCommand({
        Bucket: this.o.bucket, Key: this.o.key, Range: `bytes=${r.offset}-${r.offset + r.length - 1}`, IfMatch: this.etag || undefined,
      }), { abortSignal: this.stop.signal });
      const body = out.Body as Readable | undefined;
      if (!body) throw new S3Error(op, 'no body in the response', { retryable: true });
      const buf = into ?? Buffer.allocUnsafe(r.length);
      const got = await readInto(body, buf, op);
      if (got !== r.length) throw new S3Error(op, `response ended after ${got} of ${r.length} bytes`, { retryable: true });
      return buf;
    }).catch((e) => {
      if ((e as S3Error).status === 412) throw new S3Error(op, `the object changed while it was read (ETag no longer ${etagHex(this.etag)})`, { retryable: false });
      throw e;
    });
  }

  /** A running MD5 of the whole object, checked against the ETag at the end (null: not checkable). */
  private async verifier(): Promise<{ update(b: Buffer): void; check(): Promise<void> } | null> {
    const tag = etagHex(this.etag);
    const single = /^[0-9a-f]{32}$/.test(tag);
    const multi = /^([0-9a-f]{32})-(\d+)$/.exec(tag);
    if (!single && !multi) return null;
    if (single) {
      const h = createHash('md5');
      return {
        update: (b) => h.update(b),
        check: async () => {
          const got = h.digest('hex');
          if (got !== tag) throw new S3Error(`verify ${url(this.o)}`, `MD5 ${got} of the bytes read is not the ETag ${tag}`, { retryable: false });
        },
      };
    }
    const count = Number(multi![2]);
    // The part size: recorded by xfa's writer, else asked of the server (HEAD ?partNumber=1, which
    // AWS answers and Swift's s3api does not).
    const recorded = Number(this.metadata[PART_SIZE_META]);
    const partSize = recorded > 0 ? recorded : await this.partLength(1).catch(() => null);
    if (!partSize) {
      this.hooks.onInfo?.(`verify ${url(this.o)}: the server does not tell part sizes, the multipart ETag was not checked`);
      return null;
    }
    const md5s: Buffer[] = [];
    let h: Hash = createHash('md5');
    let inPart = 0;
    const update = (b: Buffer) => {
      for (let off = 0; off < b.length;) {
        const n = Math.min(b.length - off, partSize - inPart);
        h.update(b.subarray(off, off + n));
        inPart += n;
        off += n;
        if (inPart === partSize) {
          md5s.push(h.digest());
          h = createHash('md5');
          inPart = 0;
        }
      }
    };
    const composite = (list: Buffer[]) => `${createHash('md5').update(Buffer.concat(list)).digest('hex')}-${list.length}`;
    return {
      update,
      check: async () => {
        if (inPart > 0) md5s.push(h.digest());
        if (md5s.length === count && composite(md5s) === tag) return;
        // Parts of unequal sizes (another writer)? Ask for each, then decide.
        const sizes: number[] = [];
        if (!recorded) for (let i = 1; i <= count; i++) sizes.push(await this.partLength(i));
        if (sizes.slice(0, -1).every((s) => s === partSize)) {
          throw new S3Error(`verify ${url(this.o)}`, `the MD5s of the ${count} parts read do not give the ETag ${tag}`, { retryable: false });
        }
        this.hooks.onInfo?.(`verify ${url(this.o)}: parts of unequal sizes, the multipart ETag was not checked`);
      },
    };
  }

  private async partLength(n: number): Promise<number> {
    const h = await withRetry(`head ${url(this.o)} part ${n}`, this.policy, () =>
      this.client.send(new HeadObjectCommand({ Bucket: this.o.bucket, Key: this.o.key, PartNumber: n }), { abortSignal: this.stop.signal }));
    return h.ContentLength ?? 0;
  }
}
