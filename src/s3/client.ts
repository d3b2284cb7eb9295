/**
 * What dest-s3, source-s3 and the s3 device share: their connection properties, the S3Client
 * they make (@aws-sdk/client-s3, pinned), error wording without secrets, and the retry policy.
 *
 * Connection: `endpoint` (any S3 server; empty = AWS), `region`, `path-style` (default: true for a
 * non-AWS endpoint, so http://host:port/bucket/key), credentials from `access-key`/`secret-key`
 * or, when those are not given, the SDK's usual chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY,
 * AWS_PROFILE or `profile` in ~/.aws/credentials and config, SSO, IMDS...). For a non-AWS endpoint
 * the client computes and checks checksums only when an operation requires them
 * (`requestChecksumCalculation/responseChecksumValidation: WHEN_REQUIRED`): S3-compatible
 * servers such as Swift's s3api reject the SDK's default aws-chunked uploads. xfa verifies data
 * itself: the MD5 of every part against its ETag (and Content-MD5 on upload, so the server checks
 * too) and the object's size.
 *
 * Retries (`withRetry`): the SDK's own retries are off (maxAttempts 1) so that one policy, this
 * one, decides. Retried: HTTP 5xx, 429, 408/RequestTimeout, throttling codes (SlowDown,
 * Throttling...), BadDigest and our own ETag mismatch (bytes damaged on the way), and every
 * failure without an HTTP status (connection refused/reset/dropped, socket inactivity timeout,
 * a truncated or garbled response). Not retried: other 4xx (access denied, no such bucket, bad
 * request) and cancellation. Back-off is exponential with jitter: `retry-delay` × 2^n (n = 0,
 * 1, ...), each wait drawn from [½, 1] of that, capped at 20 s; `max-retries` retries per
 * request, then the last error fails the operation, saying how many attempts were made.
 *
 * Credentials never appear in messages: errors are rebuilt from the S3 error code, HTTP status
 * and message, and the secret key (from properties or the environment) is masked in any text.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import type { PropSpec, PropValue } from '../element-info.js';

// The SDK warns once per process that its releases after January 2027 need Node 22; xfa pins the
// SDK version, so the warning is noise on every CLI run. An explicit setting is left alone.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export interface S3Options {
  endpoint?: string;
  region?: string;
  bucket: string;
  key: string;
  /** Default: true when an endpoint is given. */
  pathStyle?: boolean;
  accessKey?: string;
  secretKey?: string;
  sessionToken?: string;
  profile?: string;
  /** Part size for uploads and range size for downloads (bytes). */
  partSize?: number;
  /** Requests (parts, ranges) in flight at once. */
  concurrency?: number;
  maxRetries?: number;
  /** First back-off delay (ms). */
  retryDelay?: number;
  /** Socket inactivity timeout (ms): a stalled connection is dropped and the request retried. */
  timeout?: number;
}

export const MiB = 1024 * 1024;
export const MIN_PART = 5 * MiB;
export const MAX_PART = 5 * 1024 * MiB;
export const MAX_PARTS = 10_000;
export const DEFAULTS = { partSize: 8 * MiB, concurrency: 4, maxRetries: 5, retryDelay: 200, timeout: 60_000, region: 'us-east-1' };

/** The connection properties every S3 element has (then its own). */
export function connectionProps(): PropSpec[] {
  return [
    { name: 'bucket', type: 'string', required: true, help: 'bucket name' },
    { name: 'key', type: 'string', required: true, help: 'object key' },
    { name: 'endpoint', type: 'string', required: false, help: 'S3 server URL, e.g. http://127.0.0.1:8080 (default: AWS)' },
    { name: 'region', type: 'string', required: false, default: DEFAULTS.region, help: 'region (signing and AWS endpoint)' },
    { name: 'path-style', type: 'bool', required: false, help: 'http://host/bucket/key URLs (default: true for a non-AWS endpoint)' },
    { name: 'access-key', type: 'string', required: false, help: 'access key id (default: the AWS environment or profile)' },
    { name: 'secret-key', type: 'string', required: false, help: 'secret access key (prefer AWS_SECRET_ACCESS_KEY or a profile: properties can end up in shell history)' },
    { name: 'profile', type: 'string', required: false, help: 'profile in ~/.aws/credentials and ~/.aws/config' },
    { name: 'part-size', type: 'size', required: false, default: '8MiB', min: MIN_PART, max: MAX_PART, help: 'multipart part size / ranged-GET size' },
    { name: 'concurrency', type: 'int', required: false, default: '4', min: 1, max: 64, help: 'parts or ranges in flight at once (memory: about concurrency+1 × part-size)' },
    { name: 'max-retries', type: 'int', required: false, default: '5', min: 0, max: 100, help: 'retries per request on 5xx, throttling and dropped connections' },
    { name: 'retry-delay', type: 'duration', required: false, default: '200ms', min: 1, max: 60_000, help: 'first back-off delay; doubles on each retry (jittered, at most 20s)' },
    { name: 'timeout', type: 'duration', required: false, default: '60s', min: 100, max: 3_600_000, help: 'socket inactivity timeout: a stalled request is dropped and retried' },
  ];
}

/** Element properties (as create() receives them: only those given) to S3Options. */
export function optionsFromProps(p: Readonly<Record<string, PropValue>>): S3Options {
  const s = (k: string) => (p[k] === undefined || p[k] === '' ? undefined : String(p[k]));
  const n = (k: string) => (p[k] === undefined ? undefined : Number(p[k]));
  return {
    bucket: String(p.bucket), key: String(p.key), endpoint: s('endpoint'), region: s('region'),
    pathStyle: p['path-style'] === undefined ? undefined : Boolean(p['path-style']),
    accessKey: s('access-key'), secretKey: s('secret-key'), profile: s('profile'),
    partSize: n('part-size'), concurrency: n('concurrency'), maxRetries: n('max-retries'), retryDelay: n('retry-delay'), timeout: n('timeout'),
  };
}

export function tuning(o: S3Options): Required<Pick<S3Options, 'partSize' | 'concurrency' | 'maxRetries' | 'retryDelay' | 'timeout'>> {
  return {
    partSize: o.partSize ?? DEFAULTS.partSize, concurrency: o.concurrency ?? DEFAULTS.concurrency,
    maxRetries: o.maxRetries ?? DEFAULTS.maxRetries, retryDelay: o.retryDelay ?? DEFAULTS.retryDelay, timeout: o.timeout ?? DEFAULTS.timeout,
  };
}

/** "s3://bucket/key" for messages. */
export function url(o: Pick<S3Options, 'bucket' | 'key'>, key = o.key): string {
  return `s3://${o.bucket}/${key}`;
}

/**
 * A client for one transfer. Its sockets are its own (keep-alive agent sized for `concurrency`);
 * call destroy() when done so that no socket outlives the transfer.
 */
export function makeClient(o: S3Options): S3Client {
  if ((o.accessKey === undefined) !== (o.secretKey === undefined)) {
    throw new S3Error('credentials', 'give both access-key and secret-key, or neither (then the AWS environment or profile is used)', { retryable: false });
  }
  if (o.endpoint !== undefined && !/^https?:\/\/[^/]+/.test(o.endpoint)) {
    throw new S3Error('endpoint', `"${o.endpoint}" is not an http:// or https:// URL`, { retryable: false });
  }
  const t = tuning(o);
  const custom = o.endpoint !== undefined;
  const agentOpts = { keepAlive: true, maxSockets: t.concurrency + 2 };
  const config: S3ClientConfig = {
    region: o.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? DEFAULTS.region,
    endpoint: o.endpoint,
    forcePathStyle: o.pathStyle ?? custom,
    maxAttempts: 1,
    requestHandler: {
      httpAgent: new HttpAgent(agentOpts), httpsAgent: new HttpsAgent(agentOpts),
      connectionTimeout: Math.min(t.timeout, 30_000), socketTimeout: t.timeout,
    },
    ...(custom ? { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' } as const : {}),
    ...(o.profile ? { profile: o.profile } : {}),
    ...(o.accessKey !== undefined ? { credentials: { accessKeyId: o.accessKey, secretAccessKey: o.secretKey!, sessionToken: o.sessionToken } } : {}),
  };
  return new S3Client(config);
}

/** An S3 failure as xfa reports it: `op` names the operation and object, the message says why. */
export class S3Error extends Error {
  override name = 'S3Error';
  readonly op: string;
  readonly code?: string;
  readonly status?: number;
  readonly retryable: boolean;
  constructor(op: string, message: string, o: { code?: string; status?: number; retryable: boolean }) {
    super(message);
    this.op = op;
    this.code = o.code;
    this.status = o.status;
    this.retryable = o.retryable;
  }
}

const RETRY_CODES = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'RequestThrottled', 'TooManyRequestsException',
  'RequestLimitExceeded', 'BandwidthLimitExceeded', 'RequestTimeout', 'RequestTimeoutException', 'InternalError',
  'ServiceUnavailable', 'BadDigest', 'IncompleteBody', 'XAmzContentSHA256Mismatch', 'PriorRequestNotComplete', 'TimeoutError']);

/** Error names the SDK and Node use for a cancelled request. */
function isAbort(e: any): boolean {
  return e?.name === 'AbortError' || e?.code === 'ABORT_ERR';
}

/** Masks every secret we know of in a text (the key from properties and from the environment). */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const s of [...secrets, process.env.AWS_SECRET_ACCESS_KEY, process.env.AWS_SESSION_TOKEN]) {
    if (s && s.length >= 4) out = out.split(s).join('***');
  }
  return out;
}

/**
 * Any failure of an SDK call → S3Error with a sentence: "503 SlowDown: Please reduce your
 * request rate." / "connection reset (ECONNRESET)" / "403 SignatureDoesNotMatch: ... (check
 * the credentials)". Never includes credentials.
 */
export function toS3Error(e: unknown, op: string, secrets: readonly (string | undefined)[] = []): S3Error {
  if (e instanceof S3Error) return e;
  const err = e as any;
  const status: number | undefined = err?.$metadata?.httpStatusCode ?? err?.$response?.statusCode;
  const code: string | undefined = err?.Code ?? err?.code ?? (err?.name && err.name !== 'Error' ? err.name : undefined);
  let msg = String(err?.message ?? err);
  if (isAbort(err)) return new S3Error(op, 'cancelled', { code: 'AbortError', retryable: false });
  let text: string;
  if (status !== undefined) {
    // The SDK's "UnknownError" for bodies it could not parse: say what the server answered.
    const c = code && code !== 'Unknown' && code !== 'UnknownError' ? code : httpName(status);
    if (msg === 'UnknownError' || msg === c || !msg) msg = '';
    text = `${status} ${c}${msg ? `: ${msg}` : ''}`;
    if (status === 403 || c === 'InvalidAccessKeyId' || c === 'SignatureDoesNotMatch') text += ' (check the credentials: access-key/secret-key, or the AWS environment/profile)';
  } else if (err?.code && /^E[A-Z]+$/.test(err.code)) {
    text = `${netName(err.code)} (${err.code})${msg && !msg.includes(err.code) ? `: ${msg}` : ''}`;
  } else {
    text = code && !msg.startsWith(code) ? `${code}: ${msg}` : msg;
  }
  const retryable = status !== undefined
    ? status >= 500 || status === 429 || status === 408 || RETRY_CODES.has(code ?? '')
    : !(err?.name === 'CredentialsProviderError' || err?.name === 'TypeError' || err?.name === 'RangeError');
  return new S3Error(op, redact(text, secrets), { code, status, retryable });
}

function httpName(status: number): string {
  return ({ 400: 'BadRequest', 403: 'Forbidden', 404: 'NotFound', 405: 'MethodNotAllowed', 409: 'Conflict', 412: 'PreconditionFailed',
    416: 'InvalidRange', 429: 'TooManyRequests', 500: 'InternalError', 501: 'NotImplemented', 502: 'BadGateway', 503: 'ServiceUnavailable',
    504: 'GatewayTimeout' } as Record<number, string>)[status] ?? 'HTTPError';
}

function netName(code: string): string {
  return ({ ECONNRESET: 'connection reset', EPIPE: 'connection closed while sending', ECONNREFUSED: 'connection refused',
    ETIMEDOUT: 'timed out', ENOTFOUND: 'host not found', EAI_AGAIN: 'name lookup failed', ECONNABORTED: 'connection aborted' } as Record<string, string>)[code] ?? 'network error';
}

export interface RetryPolicy {
  maxRetries: number;
  retryDelay: number;
  /** Stops retrying (and the wait) at once; the call then fails as cancelled. */
  signal?: AbortSignal;
  /** Told about each retry: "upload part 3 s3://b/k: 503 SlowDown (retry 1 of 5 in 212 ms)". */
  onRetry?: (message: string) => void;
  secrets?: readonly (string | undefined)[];
}

/** Runs `fn` until it succeeds, fails with an error that is not retryable, or retries run out. */
export async function withRetry<T>(op: string, policy: RetryPolicy, fn: (attempt: number) => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    if (policy.signal?.aborted) throw new S3Error(op, 'cancelled', { code: 'AbortError', retryable: false });
    try {
      return await fn(attempt);
    } catch (e) {
      const err = toS3Error(e, op, policy.secrets);
      if (policy.signal?.aborted) throw new S3Error(op, 'cancelled', { code: 'AbortError', retryable: false });
      if (!err.retryable) throw err;
      if (attempt >= policy.maxRetries) {
        throw new S3Error(op, `${err.message} (gave up after ${attempt + 1} attempt${attempt ? 's' : ''})`, { code: err.code, status: err.status, retryable: false });
      }
      const wait = Math.round(Math.min(20_000, policy.retryDelay * 2 ** attempt) * (0.5 + Math.random() * 0.5));
      policy.onRetry?.(`${op}: ${err.message} (retry ${attempt + 1} of ${policy.maxRetries} in ${wait} ms)`);
      await sleep(wait, policy.signal);
    }
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((res) => {
    if (signal?.aborted) return res();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      res();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** The ETag as hex without quotes. */
export function etagHex(etag: string | undefined): string {
  return (etag ?? '').replace(/^W\//, '').replace(/"/g, '').toLowerCase();
}
