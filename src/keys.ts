/**
 * Keys for filter-encrypt / filter-decrypt (stream format: csrc/core/crypt_format.h).
 *
 * Three ways to key a stream:
 * - a key file: 32 raw bytes or 64 hex digits (`key-file=`; make one with `generateKey()`);
 * - a passphrase (`passphrase=` / `passphrase-file=`): the element derives the key with scrypt
 *   (N = 2^15, r = 8, p = 1 by default) and a random salt stored in the stream header;
 * - an RSA public key: `encryptProps({ publicKeyPem })` draws a fresh data key per stream and wraps
 *   it with RSA-OAEP (SHA-256) using node-forge; the element gets the data key as `key=` and
 *   stores the wrapped copy in the stream header, so the backup host needs no private key. To
 *   restore, read the first bytes of the stream and call `decryptProps({ privateKeyPem, header })`,
 *   which unwraps the data key and returns filter-decrypt's `key=` property.
 *
 * Nothing here puts key material into an error message.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import forge from 'node-forge';

export const KEY_BYTES = 32;
/** The fixed part of the header: enough to learn its whole length. */
export const HEADER_PREFIX_BYTES = 8;

export type KeyMode = 'key' | 'passphrase' | 'wrapped';

export interface StreamHeader {
  version: number;
  mode: KeyMode;
  /** Bytes of the header, MAC included: the first frame starts here. */
  length: number;
  chunkSize: number;
  streamId: Buffer;
  /** 16 hex digits; compare with keyId(key) to find the right key. */
  keyId: string;
  kdf?: { log2N: number; r: number; p: number; salt: Buffer };
  wrappedKey?: Buffer;
}

/** A problem with a key, a wrapped key or a stream header; never quotes key material. */
export class KeyError extends Error {
  override name = 'KeyError';
}

const MAGIC = Buffer.from('XFAC');
const MODES: Record<number, KeyMode> = { 1: 'key', 2: 'passphrase', 3: 'wrapped' };

/** A fresh random 256-bit data key. */
export function generateKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

/** The key id stored in stream headers: HMAC-SHA256(key, "xfa-encrypt key id"), first 8 bytes, hex. */
export function keyId(key: Buffer): string {
  checkKey(key);
  return createHmac('sha256', key).update('xfa-encrypt key id').digest().subarray(0, 8).toString('hex');
}

/** A key file's content: 32 raw bytes, or 64 hex digits with optional trailing whitespace. */
export function parseKey(content: Buffer, what = 'key'): Buffer {
  if (content.length === KEY_BYTES) return Buffer.from(content);
  const text = content.toString('latin1').replace(/[\r\n ]+$/, '');
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  throw new KeyError(`${what}: expected 32 raw bytes or 64 hexadecimal digits, found ${content.length} bytes`);
}

export function readKeyFile(path: string): Buffer {
  return parseKey(readFileSync(path), `key-file ${path}`);
}

function checkKey(key: Buffer): void {
  if (!Buffer.isBuffer(key) || key.length !== KEY_BYTES) throw new KeyError(`a data key must be ${KEY_BYTES} bytes`);
}

const oaep = () => ({ md: forge.md.sha256.create(), mgf1: { md: forge.md.sha256.create() } });

/** Wraps a data key (a fresh one unless given) with an RSA public key: RSA-OAEP, SHA-256, MGF1-SHA-256. */
export function wrapKey(publicKeyPem: string, dataKey: Buffer = generateKey()): { dataKey: Buffer; wrappedKey: Buffer } {
  checkKey(dataKey);
  let pub: forge.pki.rsa.PublicKey;
  try {
    pub = forge.pki.publicKeyFromPem(publicKeyPem) as forge.pki.rsa.PublicKey;
  } catch {
    throw new KeyError('wrapKey: not an RSA public key in PEM form');
  }
  const wrapped = pub.encrypt(dataKey.toString('binary'), 'RSA-OAEP', oaep());
  return { dataKey, wrappedKey: Buffer.from(wrapped, 'binary') };
}

/** The data key inside a wrapped key; a KeyError for the wrong private key or a damaged wrapping. */
export function unwrapKey(privateKeyPem: string, wrappedKey: Buffer): Buffer {
  let priv: forge.pki.rsa.PrivateKey;
  try {
    priv = forge.pki.privateKeyFromPem(privateKeyPem) as forge.pki.rsa.PrivateKey;
  } catch {
    throw new KeyError('unwrapKey: not an unencrypted RSA private key in PEM form');
  }
  let raw: string;
  try {
    raw = priv.decrypt(wrappedKey.toString('binary'), 'RSA-OAEP', oaep());
  } catch {
    throw new KeyError('cannot unwrap the data key: wrong private key, or the wrapped key is corrupted');
  }
  const key = Buffer.from(raw, 'binary');
  if (key.length !== KEY_BYTES) throw new KeyError('cannot unwrap the data key: it is not a 256-bit key');
  return key;
}

/**
 * filter-encrypt's properties for a stream keyed by an RSA public key: a fresh data key (hex) and
 * its wrapped copy (base64), which the element stores in the stream header.
 */
export function encryptProps(opts: { publicKeyPem: string }): { key: string; 'wrapped-key': string } {
  const { dataKey, wrappedKey } = wrapKey(opts.publicKeyPem);
  const props = { key: dataKey.toString('hex'), 'wrapped-key': wrappedKey.toString('base64') };
  dataKey.fill(0);
  return props;
}

/** The header's length from its first 8 bytes (read that many bytes, then call parseHeader). */
export function headerLength(buf: Buffer): number {
  if (buf.length < HEADER_PREFIX_BYTES) throw new KeyError(`stream header: need ${HEADER_PREFIX_BYTES} bytes, got ${buf.length}`);
  if (!buf.subarray(0, 4).equals(MAGIC)) throw new KeyError('stream header: not an xfa encrypted stream (bad magic)');
  if (buf[4] !== 1) throw new KeyError(`stream header: unsupported format version ${buf[4]}`);
  if (!MODES[buf[5]]) throw new KeyError(`stream header: unknown key mode ${buf[5]}`);
  return buf.readUInt16LE(6);
}

/** Parses the header at the start of `buf` (which may hold more of the stream). The MAC is not checked here. */
export function parseHeader(buf: Buffer): StreamHeader {
  const length = headerLength(buf);
  if (buf.length < length) throw new KeyError(`stream header: truncated (${buf.length} of ${length} bytes)`);
  const mode = MODES[buf[5]];
  const h: StreamHeader = {
    version: buf[4], mode, length, chunkSize: buf.readUInt32LE(8),
    streamId: Buffer.from(buf.subarray(12, 28)), keyId: buf.subarray(28, 36).toString('hex'),
  };
  const body = length - 36 - 16;
  if (mode === 'passphrase') {
    if (body !== 20) throw new KeyError('stream header: length does not match its key mode');
    h.kdf = { log2N: buf[36], r: buf[37], p: buf[38], salt: Buffer.from(buf.subarray(40, 56)) };
  } else if (mode === 'wrapped') {
    const w = body >= 2 ? buf.readUInt16LE(36) : -1;
    if (w <= 0 || body !== 2 + w) throw new KeyError('stream header: length does not match its key mode');
    h.wrappedKey = Buffer.from(buf.subarray(38, 38 + w));
  } else if (body !== 0) {
    throw new KeyError('stream header: length does not match its key mode');
  }
  return h;
}

/** The stream header of a stored encrypted stream that starts at `offset` of the file `path`. */
export function readStreamHeader(path: string, offset = 0): Buffer {
  const fd = openSync(path, 'r');
  try {
    const read = (buf: Buffer, at: number) => {
      const n = readSync(fd, buf, 0, buf.length, at);
      if (n !== buf.length) throw new KeyError(`stream header of ${path}: file ends after ${n} of ${buf.length} bytes`);
      return buf;
    };
    return read(Buffer.alloc(headerLength(read(Buffer.alloc(HEADER_PREFIX_BYTES), offset))), offset);
  } finally {
    closeSync(fd);
  }
}

/**
 * filter-decrypt's `key` property for a stream whose data key is wrapped with an RSA public key:
 * `header` is the start of the stored stream (at least the header's length; headerLength() tells,
 * readStreamHeader() reads it from a file). The private key comes as PEM text or a PEM file.
 */
export function decryptProps(opts: { privateKeyPem?: string; privateKeyFile?: string; header: Buffer }): { key: string } {
  const pem = opts.privateKeyPem ?? (opts.privateKeyFile !== undefined ? readFileSync(opts.privateKeyFile, 'utf8') : undefined);
  if (pem === undefined) throw new KeyError('decryptProps: give privateKeyPem or privateKeyFile');
  const h = parseHeader(opts.header);
  if (h.mode !== 'wrapped' || !h.wrappedKey) {
    throw new KeyError(`decryptProps: the stream is keyed by a ${h.mode === 'key' ? 'key file' : 'passphrase'}, not an RSA-wrapped data key`);
  }
  const key = unwrapKey(pem, h.wrappedKey);
  if (keyId(key) !== h.keyId) throw new KeyError('decryptProps: the unwrapped data key does not match the stream\'s key id (corrupted header)');
  const props = { key: key.toString('hex') };
  key.fill(0);
  return props;
}
