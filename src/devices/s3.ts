/**
 * The `s3` device: vtape-like volumes in an S3 bucket with Amanda's key layout, so that Amanda's
 * s3 device and xfa read each other's volumes (reference amanda-xfa.md §6.4).
 *
 *     const dev = S3Device.open('s3:backups/DailySet1/slot-01/', { S3_HOST: '127.0.0.1:8080', S3_SSL: false,
 *       S3_ACCESS_KEY: 'id', S3_SECRET_KEY: 'secret', BLOCK_SIZE: '10MiB' });
 *     await dev.start('write', 'DailySet1-01', '20240102030405');   // (re)labels: erases the volume
 *     const n = await dev.startFile({ type: 'SPLIT_FILE', ... });     // file 1
 *     while (...) if ((await dev.writeBlock(block)) !== 'ok') ...     // 'full' at PEOM
 *     await dev.finishFile();
 *     await dev.finish();
 *
 *     await dev.start('read');
 *     const h = await dev.seekFile(1);                                // TAPEEND past the last file
 *     for (let b; (b = await dev.readBlock()); ) ...                  // null at the end of the file
 *
 * Keys, under the node's prefix (used verbatim: `s3:bucket/slot-01/` or `s3:bucket/slot-01-`):
 *  - `special-tapestart`: the volume label, a TAPESTART header as compact text (no padding);
 *  - `f%08x-filestart`: each file's header (file number in 8 hex digits), blocksize 0, compact;
 *  - `f%08x-b%016x.data`: one object per data block (block number in 16 hex digits), or
 *  - `f%08x-mp.data` with S3_MULTI_PART_UPLOAD: one object per file, uploaded as a multipart upload
 *    with a part per block (part number = block + 1).
 *
 * Behaviour follows the xfa Device contract (csrc/include/xfa/device.h) where it is stricter than
 * Amanda: errors are exceptions naming the operation and key; a file missing in the middle is an
 * error naming the next file that exists; past the last file a TAPEEND header is returned;
 * abortFile() removes the partial file (S3 can). Writes keep up to NB_THREADS_BACKUP blocks in
 * flight (each PUT checked against its MD5 and retried on 5xx, throttling and dropped
 * connections, as dest-s3), errors surface on a later writeBlock() or finishFile(); reads
 * fetch NB_THREADS_RECOVERY blocks ahead. LEOM: isEom turns true 4 blocks before
 * MAX_VOLUME_USAGE (label, headers and data counted); at the limit writeBlock() returns 'full'
 * and writes nothing (PEOM), or fails when LEOM is false.
 *
 * Behind the device bridge (src/devices/bridge.ts, csrc/devices/js_device.h) the C++ media
 * elements (dest-taper, dest-device, source-device, source-recovery) and changers use `s3:` specs
 * like any device: importing this module (or 'xfa') registers the type. There, the device's
 * properties come from the element's device-properties, and what they leave out from the
 * environment: S3_ENDPOINT (a URL) or S3_HOST (+ S3_SSL), S3_REGION, S3_ACCESS_KEY and
 * S3_SECRET_KEY (see s3PropsWithEnv). interrupt() cuts requests in flight short for a cancel.
 */
import { createHash } from 'node:crypto';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { headerText, parseHeader, type AmandaHeader } from '../media/header.js';
import { parseSize } from '../props.js';
import { MIN_PART, S3Error, etagHex, makeClient, toS3Error, withRetry, type RetryPolicy, type S3Options } from '../s3/client.js';
import { S3ObjectWriter } from '../s3/upload.js';
import { registerDeviceType } from './bridge.js';

export type S3DeviceMode = 'read' | 'write' | 'append';
export type S3DeviceProperties = Record<string, string | number | boolean>;

/** Amanda's S3_DEVICE_DEFAULT_BLOCK_SIZE. */
export const S3_DEFAULT_BLOCK_SIZE = 10 * 1024 * 1024;
const MIN_BLOCK = 1024;
const MAX_BLOCK = 3 * 1024 * 1024 * 1024;
const EOM_EARLY_WARNING_BLOCKS = 4;

export class S3DeviceError extends Error {
  override name = 'S3DeviceError';
  readonly op: string;
  /** The HTTP status behind it, when there was one. */
  readonly status?: number;
  constructor(op: string, message: string, status?: number) {
    super(`${op}: ${message}`);
    this.op = op;
    this.status = status;
  }
}

interface Config {
  conn: S3Options;
  blockSize: number;
  maxVolumeUsage: number;
  enforce: boolean;
  leom: boolean;
  multipart: boolean;
  threadsBackup: number;
  threadsRecovery: number;
}

/** Amanda's property names (and xfa's element names for the connection) → configuration. */
function configure(bucket: string, props: S3DeviceProperties): Config {
  const p = new Map(Object.entries(props).map(([k, v]) => [k.toUpperCase().replace(/-/g, '_'), v]));
  const str = (k: string) => (p.has(k) ? String(p.get(k)) : undefined);
  const bool = (k: string, d: boolean) => {
    const v = p.get(k);
    if (v === undefined) return d;
    if (typeof v === 'boolean') return v;
    const s = String(v).toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(s)) return true;
    if (['0', 'false', 'no', 'off'].includes(s)) return false;
    throw new S3DeviceError('property', `${k}: "${v}" is not a boolean`);
  };
  const size = (k: string, d: number) => (p.has(k) ? parseSize(String(p.get(k))) : d);
  const int = (k: string, d: number) => (p.has(k) ? Number(p.get(k)) : d);
  const known = new Set(['ENDPOINT', 'S3_HOST', 'S3_SSL', 'S3_SUBDOMAIN', 'PATH_STYLE', 'REGION', 'S3_BUCKET_LOCATION', 'S3_ACCESS_KEY',
    'ACCESS_KEY', 'S3_SECRET_KEY', 'SECRET_KEY', 'S3_SESSION_TOKEN', 'PROFILE', 'BLOCK_SIZE', 'MAX_VOLUME_USAGE', 'ENFORCE_MAX_VOLUME_USAGE',
    'LEOM', 'S3_MULTI_PART_UPLOAD', 'NB_THREADS_BACKUP', 'NB_THREADS_RECOVERY', 'MAX_RETRIES', 'RETRY_DELAY', 'TIMEOUT', 'STORAGE_API',
    'SYNC']); // SYNC (xfa, dest-taper sync=false): nothing to do, an object is durable once stored
  for (const k of p.keys()) if (!known.has(k)) throw new S3DeviceError('property', `${k}: unknown property of the s3 device`);
  const api = str('STORAGE_API');
  if (api && !['S3', 'AWS4'].includes(api.toUpperCase())) throw new S3DeviceError('property', `STORAGE_API ${api}: only S3/AWS4 are supported`);
  let endpoint = str('ENDPOINT');
  if (!endpoint && str('S3_HOST')) endpoint = `${bool('S3_SSL', true) ? 'https' : 'http'}://${str('S3_HOST')}`;
  const blockSize = size('BLOCK_SIZE', S3_DEFAULT_BLOCK_SIZE);
  if (blockSize < MIN_BLOCK || blockSize > MAX_BLOCK) throw new S3DeviceError('property', `BLOCK_SIZE ${blockSize}: must be between 1 KiB and 3 GiB`);
  const multipart = bool('S3_MULTI_PART_UPLOAD', false);
  if (multipart && blockSize < MIN_PART) throw new S3DeviceError('property', `BLOCK_SIZE ${blockSize}: S3_MULTI_PART_UPLOAD needs blocks of at least 5 MiB (a block is a part)`);
  const pathStyle = p.has('PATH_STYLE') ? bool('PATH_STYLE', true) : p.has('S3_SUBDOMAIN') ? !bool('S3_SUBDOMAIN', false) : undefined;
  const threadsBackup = int('NB_THREADS_BACKUP', 4);
  const threadsRecovery = int('NB_THREADS_RECOVERY', 4);
  return {
    conn: {
      bucket, key: '', endpoint, pathStyle, region: str('REGION') ?? str('S3_BUCKET_LOCATION'),
      accessKey: str('S3_ACCESS_KEY') ?? str('ACCESS_KEY'), secretKey: str('S3_SECRET_KEY') ?? str('SECRET_KEY'), sessionToken: str('S3_SESSION_TOKEN'),
      profile: str('PROFILE'), partSize: multipart ? blockSize : undefined, concurrency: Math.max(threadsBackup, threadsRecovery),
      maxRetries: p.has('MAX_RETRIES') ? int('MAX_RETRIES', 5) : undefined, retryDelay: p.has('RETRY_DELAY') ? int('RETRY_DELAY', 200) : undefined,
      timeout: p.has('TIMEOUT') ? int('TIMEOUT', 60_000) : undefined,
    },
    blockSize, maxVolumeUsage: size('MAX_VOLUME_USAGE', 0), enforce: bool('ENFORCE_MAX_VOLUME_USAGE', true), leom: bool('LEOM', true),
    multipart, threadsBackup: Math.max(1, threadsBackup), threadsRecovery: Math.max(1, threadsRecovery),
  };
}

const hex8 = (n: number) => n.toString(16).padStart(8, '0');
const hex16 = (n: number) => n.toString(16).padStart(16, '0');

export interface S3VolumeFile {
  file: number;
  header: AmandaHeader;
  text: string;
}

export class S3Device {
  readonly spec: string;
  readonly bucket: string;
  readonly prefix: string;
  private readonly cfg: Config;
  private client: S3Client | null = null;
  private readonly policy: RetryPolicy;

  mode: S3DeviceMode | null = null;
  file = -1;
  block = 0;
  inFile = false;
  isEom = false;
  isEof = false;
  volumeLabel = '';
  volumeTime = '';
  volumeHeader: AmandaHeader | null = null;
  bytesWritten = 0;
  bytesRead = 0;
  /** Bytes the volume holds, label and headers included (what MAX_VOLUME_USAGE limits). */
  volumeBytes = 0;
  retries = 0;

  // writing
  private writeStop = new AbortController();
  private puts = new Map<number, Promise<void>>();
  private putFailure: S3DeviceError | undefined;
  private mpWriter: S3ObjectWriter | null = null;
  private fileKeys: string[] = [];
  private slotWaiters: (() => void)[] = [];
  // reading
  private readMp: { size: number; etag: string } | null = null;
  private ahead = new Map<number, Promise<Buffer | null>>();
  private readStop = new AbortController();

  private constructor(spec: string, bucket: string, prefix: string, cfg: Config) {
    this.spec = spec;
    this.bucket = bucket;
    this.prefix = prefix;
    this.cfg = cfg;
    this.policy = {
      maxRetries: cfg.conn.maxRetries ?? 5, retryDelay: cfg.conn.retryDelay ?? 200, secrets: [cfg.conn.secretKey, cfg.conn.sessionToken],
      onRetry: () => this.retries++,
    };
  }

  /** `s3:BUCKET[/PREFIX]` with Amanda's device properties. Touches nothing on the server. */
  static open(spec: string, props: S3DeviceProperties = {}): S3Device {
    const m = /^s3:([^/]+)(?:\/(.*))?$/.exec(spec);
    if (!m) throw new S3DeviceError('open', `"${spec}" is not s3:BUCKET[/PREFIX]`);
    const prefix = m[2] ?? '';
    if (prefix.length + 30 > 1024) throw new S3DeviceError('open', `prefix of ${prefix.length} bytes: keys would pass S3's 1024`);
    return new S3Device(spec, m[1], prefix, configure(m[1], props));
  }

  get blockSize(): number {
    return this.cfg.blockSize;
  }

  /** What the device bridge reports as the C++ Device's properties (xfa/device.h). */
  deviceProperties(): {
    blockSize: number; minBlockSize: number; maxBlockSize: number; headerBlockSize: number; shortBlocks: boolean; leom: boolean;
    maxVolumeUsage: number; enforceMaxVolumeUsage: boolean; appendable: boolean; partialDeletion: boolean; fullDeletion: boolean;
  } {
    return {
      blockSize: this.cfg.blockSize, minBlockSize: MIN_BLOCK, maxBlockSize: MAX_BLOCK, headerBlockSize: 0, shortBlocks: true, leom: this.cfg.leom,
      maxVolumeUsage: this.cfg.maxVolumeUsage, enforceMaxVolumeUsage: this.cfg.enforce, appendable: true, partialDeletion: true, fullDeletion: true,
    };
  }

  /**
   * A cancel: block uploads and read-ahead in flight are aborted, and a writeBlock() waiting for
   * an upload slot fails at once. The open file must then be abortFile()d (which removes it).
   * Multipart uploads are not cut short here (abortFile() aborts them).
   */
  interrupt(): void {
    this.stopReads();
    if (this.puts.size || this.slotWaiters.length) {
      this.putFailure ??= new S3DeviceError(`write ${this.spec}`, 'cancelled');
      this.writeStop.abort();
      this.writeStop = new AbortController();
      for (const w of this.slotWaiters.splice(0)) w();
    }
  }

  // ----- keys -----

  labelKey(): string {
    return `${this.prefix}special-tapestart`;
  }
  headerKey(file: number): string {
    return `${this.prefix}f${hex8(file)}-filestart`;
  }
  blockKey(file: number, block: number): string {
    return `${this.prefix}f${hex8(file)}-b${hex16(block)}.data`;
  }
  mpKey(file: number): string {
    return `${this.prefix}f${hex8(file)}-mp.data`;
  }

  // ----- the volume -----

  /** Reads the label. Throws with `status` VOLUME_UNLABELED (no label, or not Amanda's) or DEVICE_ERROR. */
  async readLabel(): Promise<{ label: string; datestamp: string }> {
    const body = await this.getSmall(this.labelKey(), `read label ${this.spec}`);
    if (body === null) throw Object.assign(new S3DeviceError(`read label ${this.spec}`, 'no special-tapestart: the volume is not labeled'), { status: 'VOLUME_UNLABELED' });
    let h: AmandaHeader;
    try {
      h = parseHeader(body);
    } catch (e) {
      throw Object.assign(new S3DeviceError(`read label ${this.spec}`, `special-tapestart is not an Amanda header (${(e as Error).message})`), { status: 'VOLUME_UNLABELED' });
    }
    if (h.type !== 'TAPESTART') throw Object.assign(new S3DeviceError(`read label ${this.spec}`, `special-tapestart holds a ${h.type} header`), { status: 'VOLUME_UNLABELED' });
    this.volumeHeader = h;
    this.volumeLabel = h.name;
    this.volumeTime = h.datestamp;
    return { label: h.name, datestamp: h.datestamp };
  }

  /**
   * 'write': erases every file and writes a new label (timestamp "X" if empty). 'append': reads the
   * label and continues after the last file. 'read': reads the label.
   */
  async start(mode: S3DeviceMode, label = '', timestamp = ''): Promise<void> {
    if (this.mode) throw new S3DeviceError(`start ${this.spec}`, `already started (${this.mode})`);
    this.resetSession();
    if (mode === 'write') {
      if (!label) throw new S3DeviceError(`start ${this.spec}`, 'a label is needed to write a volume');
      await this.erase();
      const h: AmandaHeader = { type: 'TAPESTART', datestamp: timestamp || 'X', name: label, blocksize: this.cfg.blockSize };
      const text = Buffer.from(headerText(h, this.cfg.blockSize), 'utf8');
      if (this.peom(text.length)) throw new S3DeviceError(`start ${this.spec}`, 'MAX_VOLUME_USAGE leaves no room for the label');
      await this.put(this.labelKey(), text, `write label ${this.spec}`);
      this.volumeBytes = text.length;
      this.volumeHeader = parseHeader(text);
      this.volumeLabel = label;
      this.volumeTime = h.datestamp;
      this.file = 0;
    } else {
      await this.readLabel();
      if (mode === 'append') {
        const keys = await this.list();
        this.volumeBytes = keys.reduce((a, k) => a + k.size, 0);
        this.file = Math.max(0, ...keys.map((k) => this.fileOf(k.key)).filter((n) => n > 0));
      }
    }
    this.mode = mode;
  }

  /** Ends the session: waits for writes, releases the connection. Safe to call more than once. */
  async finish(): Promise<void> {
    try {
      if (this.inFile && this.mode !== 'read') await this.finishFile();
    } finally {
      this.stopReads();
      this.mode = null;
      this.inFile = false;
      this.client?.destroy();
      this.client = null;
    }
  }

  /** Removes every key of the volume (label and files; only keys in Amanda's layout). */
  async erase(): Promise<void> {
    const keys = await this.list();
    await this.deleteKeys(keys.map((k) => k.key));
    this.volumeBytes = 0;
  }

  /** The label and every file's header, in order (like scanVolume for C++ devices). */
  async scan(): Promise<{ label: string; datestamp: string; files: S3VolumeFile[] }> {
    const { label, datestamp } = await this.readLabel();
    const numbers = [...new Set((await this.list()).map((k) => k.key).filter((k) => k.endsWith('-filestart')).map((k) => this.fileOf(k)))].sort((a, b) => a - b);
    const files: S3VolumeFile[] = [];
    for (const file of numbers) {
      const body = await this.getSmall(this.headerKey(file), `scan ${this.spec} file ${file}`);
      if (body === null) continue;
      files.push({ file, header: parseHeader(body), text: body.toString('utf8') });
    }
    return { label, datestamp, files };
  }

  // ----- writing -----

  /** Starts the next file and writes its header (blocksize 0: the header is an object of its own). */
  async startFile(header: AmandaHeader): Promise<number> {
    this.needWrite('start file');
    if (this.inFile) throw new S3DeviceError(`start file ${this.spec}`, `file ${this.file} is still open`);
    const h = { ...header, blocksize: 0 };
    const text = Buffer.from(headerText(h, this.cfg.blockSize), 'utf8');
    this.isEom = this.leom(text.length);
    if (this.peom(text.length)) {
      this.isEom = true;
      throw new S3DeviceError(`start file ${this.spec}`, 'no space left on the volume (MAX_VOLUME_USAGE)');
    }
    const file = this.file + 1;
    await this.put(this.headerKey(file), text, `write header ${this.spec} file ${file}`);
    this.file = file;
    this.block = 0;
    this.inFile = true;
    this.bytesWritten = 0;
    this.volumeBytes += text.length;
    this.fileKeys = [this.headerKey(file)];
    this.putFailure = undefined;
    if (this.cfg.multipart) {
      this.mpWriter = new S3ObjectWriter(this.conn(), { ...this.cfg.conn, key: this.mpKey(file), partSize: this.cfg.blockSize, concurrency: this.cfg.threadsBackup }, {
        onRetry: () => this.retries++,
      });
      this.fileKeys.push(this.mpKey(file));
    }
    return file;
  }

  /**
   * Writes one block (1..blockSize bytes; short only as the last block). Resolves when the block
   * is held for upload (several are in flight). 'full': PEOM, nothing written.
   */
  async writeBlock(data: Uint8Array): Promise<'ok' | 'full'> {
    this.needWrite('write block');
    const op = `write block ${this.spec} file ${this.file} block ${this.block}`;
    if (!this.inFile) throw new S3DeviceError(op, 'no file started');
    if (data.length === 0 || data.length > this.cfg.blockSize) throw new S3DeviceError(op, `block of ${data.length} bytes (block size ${this.cfg.blockSize})`);
    if (this.putFailure) throw this.putFailure;
    if (this.peom(data.length)) {
      this.isEom = true;
      if (!this.cfg.leom) throw new S3DeviceError(op, 'no space left on the volume (MAX_VOLUME_USAGE)');
      return 'full';
    }
    if (this.leom(data.length)) this.isEom = true;
    if (this.mpWriter) {
      try {
        await this.mpWriter.write(data);
      } catch (e) {
        throw new S3DeviceError(op, toS3Error(e, op, this.policy.secrets).message);
      }
    } else {
      while (this.puts.size >= this.cfg.threadsBackup && !this.putFailure) await new Promise<void>((r) => this.slotWaiters.push(r));
      if (this.putFailure) throw this.putFailure;
      const key = this.blockKey(this.file, this.block);
      const copy = Buffer.from(data);
      const n = this.block;
      this.fileKeys.push(key);
      const job = this.put(key, copy, `write ${key}`, this.writeStop.signal)
        .catch((e) => {
          this.putFailure ??= e instanceof S3DeviceError ? e : new S3DeviceError(`write ${key}`, (e as Error).message);
        })
        .finally(() => {
          this.puts.delete(n);
          this.slotWaiters.shift()?.();
        });
      this.puts.set(n, job);
    }
    this.block++;
    this.bytesWritten += data.length;
    this.volumeBytes += data.length;
    return 'ok';
  }

  /** Ends the file: every block stored (and verified). */
  async finishFile(): Promise<void> {
    this.needWrite('finish file');
    if (!this.inFile) return;
    const op = `finish file ${this.spec} file ${this.file}`;
    try {
      if (this.mpWriter) {
        if (this.block > 0) await this.mpWriter.end();
        else this.fileKeys.pop(); // an empty file has no data object, as in block mode
      } else {
        while (this.puts.size) await Promise.allSettled([...this.puts.values()]);
        if (this.putFailure) throw this.putFailure;
      }
    } catch (e) {
      throw e instanceof S3DeviceError ? e : new S3DeviceError(op, toS3Error(e, op, this.policy.secrets).message);
    } finally {
      this.mpWriter = null;
      this.inFile = false;
    }
  }

  /** Ends the current file as failed and removes what of it was stored; its number is free again. */
  async abortFile(): Promise<void> {
    if (!this.inFile) return;
    const writer = this.mpWriter;
    this.mpWriter = null;
    this.putFailure ??= new S3DeviceError(`write ${this.spec}`, 'file aborted');
    for (const w of this.slotWaiters.splice(0)) w();
    await writer?.abort();
    await Promise.allSettled([...this.puts.values()]);
    await this.deleteKeys(this.fileKeys).catch(() => undefined);
    this.volumeBytes = Math.max(0, this.volumeBytes - this.bytesWritten);
    this.file--;
    this.inFile = false;
    this.putFailure = undefined;
  }

  // ----- reading -----

  /**
   * Positions at file `file` and returns its header. File 0 is the label. Past the last file: a
   * TAPEEND header and isEof. A missing file before the last is an error naming the next one.
   */
  async seekFile(file: number): Promise<AmandaHeader> {
    this.needMode('read', 'seek file');
    this.stopReads();
    this.isEof = false;
    this.block = 0;
    this.bytesRead = 0;
    this.readMp = null;
    if (file === 0) {
      this.file = 0;
      this.inFile = false;
      return this.volumeHeader!;
    }
    const op = `seek file ${this.spec} file ${file}`;
    const body = await this.getSmall(this.headerKey(file), op);
    if (body === null) {
      const later = (await this.list()).map((k) => this.fileOf(k.key)).filter((n) => n > file);
      if (later.length) throw new S3DeviceError(op, `no such file (${this.headerKey(file)} missing); the next file is ${Math.min(...later)}`);
      this.file = file;
      this.inFile = false;
      this.isEof = true;
      return { type: 'TAPEEND', datestamp: this.volumeTime, name: '' };
    }
    const h = parseHeader(body);
    if (!['FILE', 'CONT_FILE', 'SPLIT_FILE'].includes(h.type)) throw new S3DeviceError(op, `the header is a ${h.type}, not a dump file`);
    this.file = file;
    this.inFile = true;
    const mp = await this.head(this.mpKey(file));
    this.readMp = mp;
    return h;
  }

  /** Positions at data block `block` of the current file. */
  async seekBlock(block: number): Promise<void> {
    this.needMode('read', 'seek block');
    if (!this.inFile) throw new S3DeviceError(`seek block ${this.spec}`, 'no file positioned');
    this.stopReads();
    this.block = block;
    this.isEof = false;
  }

  /** The next block of the current file, or null at its end (isEof). */
  async readBlock(): Promise<Buffer | null> {
    this.needMode('read', 'read block');
    if (!this.inFile || this.isEof) return null;
    const want = this.block;
    for (let b = want; b < want + this.cfg.threadsRecovery; b++) {
      if (!this.ahead.has(b)) {
        const p = this.fetchBlock(this.file, b);
        p.catch(() => undefined);
        this.ahead.set(b, p);
      }
    }
    const p = this.ahead.get(want)!;
    this.ahead.delete(want);
    const buf = await p;
    if (buf === null) {
      this.stopReads();
      this.isEof = true;
      return null;
    }
    this.block++;
    this.bytesRead += buf.length;
    return buf;
  }

  // ----- internals -----

  private conn(): S3Client {
    this.client ??= makeClient({ ...this.cfg.conn, key: this.spec });
    return this.client;
  }

  private resetSession(): void {
    this.file = -1;
    this.block = 0;
    this.inFile = false;
    this.isEom = false;
    this.isEof = false;
    this.bytesWritten = 0;
    this.bytesRead = 0;
  }

  private needWrite(what: string): void {
    if (this.mode !== 'write' && this.mode !== 'append') throw new S3DeviceError(`${what} ${this.spec}`, 'the device is not started for writing');
  }

  private needMode(mode: S3DeviceMode, what: string): void {
    if (this.mode !== mode) throw new S3DeviceError(`${what} ${this.spec}`, `the device is not started for ${mode === 'read' ? 'reading' : 'writing'}`);
  }

  private leom(size: number): boolean {
    const max = this.cfg.maxVolumeUsage;
    return this.cfg.leom && max > 0 && this.volumeBytes + size + EOM_EARLY_WARNING_BLOCKS * this.cfg.blockSize > max;
  }

  private peom(size: number): boolean {
    const max = this.cfg.maxVolumeUsage;
    return this.cfg.enforce && max > 0 && this.volumeBytes + size > max;
  }

  /** File number of a key in our layout; 0 for special keys; -1 for foreign keys. */
  private fileOf(key: string): number {
    const rest = key.slice(this.prefix.length);
    if (rest.startsWith('special-')) return 0;
    const m = /^f([0-9a-f]{8})-/.exec(rest);
    return m ? parseInt(m[1], 16) : -1;
  }

  private async list(): Promise<{ key: string; size: number }[]> {
    const out: { key: string; size: number }[] = [];
    let token: string | undefined;
    do {
      const r = await withRetry(`list ${this.spec}`, this.policy, () =>
        this.conn().send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix || undefined, ContinuationToken: token })));
      for (const o of r.Contents ?? []) if (o.Key && this.fileOf(o.Key) >= 0) out.push({ key: o.Key, size: o.Size ?? 0 });
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  private async deleteKeys(keys: string[]): Promise<void> {
    const queue = [...keys];
    const worker = async () => {
      for (let k = queue.shift(); k !== undefined; k = queue.shift()) {
        const key = k;
        await withRetry(`delete ${key}`, this.policy, () => this.conn().send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })));
      }
    };
    await Promise.all(Array.from({ length: Math.min(8, queue.length) }, worker));
  }

  /** PutObject with Content-MD5, ETag checked, retried. */
  private async put(key: string, body: Buffer, op: string, signal?: AbortSignal): Promise<void> {
    const md5 = createHash('md5').update(body).digest();
    try {
      await withRetry(op, signal ? { ...this.policy, signal } : this.policy, async () => {
        const r = await this.conn().send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentLength: body.length, ContentMD5: md5.toString('base64') }),
          signal ? { abortSignal: signal } : undefined);
        if (etagHex(r.ETag) !== md5.toString('hex')) throw new S3Error(op, `ETag ${etagHex(r.ETag)} is not the MD5 ${md5.toString('hex')}`, { code: 'BadDigest', retryable: true });
      });
    } catch (e) {
      throw new S3DeviceError(op, toS3Error(e, op, this.policy.secrets).message);
    }
  }

  /** A whole small object, or null when there is none. */
  private async getSmall(key: string, op: string): Promise<Buffer | null> {
    try {
      return await withRetry(op, this.policy, async () => {
        const r = await this.conn().send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
        return Buffer.from(await r.Body!.transformToByteArray());
      });
    } catch (e) {
      const err = toS3Error(e, op, this.policy.secrets);
      if (err.status === 404 && err.code !== 'NoSuchBucket') return null;
      throw new S3DeviceError(op, err.message);
    }
  }

  private async head(key: string): Promise<{ size: number; etag: string } | null> {
    try {
      const r = await withRetry(`head ${key}`, this.policy, () => this.conn().send(new HeadObjectCommand({ Bucket: this.bucket, Key: key })));
      return { size: r.ContentLength ?? 0, etag: r.ETag ?? '' };
    } catch (e) {
      const err = toS3Error(e, `head ${key}`, this.policy.secrets);
      if (err.status === 404) return null;
      throw new S3DeviceError(`head ${key}`, err.message);
    }
  }

  private async fetchBlock(file: number, block: number): Promise<Buffer | null> {
    const signal = this.readStop.signal;
    if (this.readMp) {
      const mp = this.readMp;
      const off = block * this.cfg.blockSize;
      if (off >= mp.size) return null;
      const end = Math.min(mp.size, off + this.cfg.blockSize) - 1;
      const op = `read ${this.mpKey(file)} block ${block}`;
      return this.getRange(this.mpKey(file), `bytes=${off}-${end}`, mp.etag, op, signal);
    }
    const key = this.blockKey(file, block);
    try {
      return await this.getRange(key, undefined, undefined, `read ${key}`, signal);
    } catch (e) {
      if (e instanceof S3DeviceError && e.status === 404) return null;
      throw e;
    }
  }

  private async getRange(key: string, range: string | undefined, ifMatch: string | undefined, op: string, signal: AbortSignal): Promise<Buffer> {
    try {
      return await withRetry(op, { ...this.policy, signal }, async () => {
        const r = await this.conn().send(new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: range, IfMatch: ifMatch }), { abortSignal: signal });
        const b = Buffer.from(await r.Body!.transformToByteArray());
        if (r.ContentLength !== undefined && b.length !== r.ContentLength) throw new S3Error(op, `response ended after ${b.length} of ${r.ContentLength} bytes`, { retryable: true });
        return b;
      });
    } catch (e) {
      const err = toS3Error(e, op, this.policy.secrets);
      throw new S3DeviceError(op, err.message, err.status);
    }
  }

  private stopReads(): void {
    if (this.ahead.size) {
      this.readStop.abort();
      this.readStop = new AbortController();
    }
    this.ahead.clear();
  }
}

/**
 * Device properties for an `s3:` device opened by a C++ element: those given win; what they
 * leave out comes from the environment — ENDPOINT from S3_ENDPOINT (a URL), else S3_HOST and
 * S3_SSL; REGION from S3_REGION; S3_ACCESS_KEY and S3_SECRET_KEY. Without either, the SDK's own
 * chain (AWS_ACCESS_KEY_ID, profiles, ...) applies as for S3Device.open.
 */
export function s3PropsWithEnv(props: S3DeviceProperties, env: NodeJS.ProcessEnv = process.env): S3DeviceProperties {
  const out: S3DeviceProperties = { ...props };
  const has = (...names: string[]) => Object.keys(props).some((k) => names.includes(k.toUpperCase().replace(/-/g, '_')));
  if (!has('ENDPOINT', 'S3_HOST')) {
    if (env.S3_ENDPOINT) out.ENDPOINT = env.S3_ENDPOINT;
    else if (env.S3_HOST) {
      out.S3_HOST = env.S3_HOST;
      if (env.S3_SSL && !has('S3_SSL')) out.S3_SSL = env.S3_SSL;
    }
  }
  if (!has('REGION', 'S3_BUCKET_LOCATION') && env.S3_REGION) out.REGION = env.S3_REGION;
  if (!has('S3_ACCESS_KEY', 'ACCESS_KEY') && env.S3_ACCESS_KEY) {
    out.S3_ACCESS_KEY = env.S3_ACCESS_KEY;
    if (!has('S3_SECRET_KEY', 'SECRET_KEY') && env.S3_SECRET_KEY !== undefined) out.S3_SECRET_KEY = env.S3_SECRET_KEY;
  }
  return out;
}

/** Makes `s3:` devices usable by the C++ media elements (src/devices/bridge.ts). Done on import. */
export function registerS3Device(): void {
  registerDeviceType('s3', (spec, props) => S3Device.open(spec, s3PropsWithEnv(props)));
}

registerS3Device();
