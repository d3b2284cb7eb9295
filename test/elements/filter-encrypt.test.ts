// filter-encrypt / filter-decrypt: round trips at random chunk and slice sizes, every key mode,
// an independent reader and writer of the format in node:crypto (so the format is what
// csrc/core/crypt_format.h documents), and tampering: every field, truncation, swapped and foreign
// frames, wrong keys — always an error naming where, never output that is not the plaintext.
import {
  constants, createCipheriv, createDecipheriv, createHmac, generateKeyPairSync, hkdfSync, privateDecrypt, randomBytes, scryptSync,
} from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  decryptProps, encryptProps, generateKey, headerLength, KeyError, keyId, parseHeader, parseKey, readKeyFile, readStreamHeader, unwrapKey, wrapKey,
} from '../../src/keys.js';
import type { XferMessage } from '../../src/messages.js';
import type { ElementSpec } from '../../src/registry.js';
import { element, run, runClean, snapshot, expectClean, waitFor } from '../helpers.js';
import { engineStats } from '../../src/xfer.js';
import { linkPreview } from '../../src/index.js';

let dir: string;
let n = 0;
const tmp = (name: string) => join(dir, `${n++}-${name}`);
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'xfa-encrypt-'));
});

// ----- helpers ------------------------------------------------------------------------------------

function rng(seed: number): (lo: number, hi: number) => number {
  let s = seed >>> 0;
  return (lo, hi) => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    return lo + Math.floor(u * (hi - lo + 1));
  };
}

function patterned(len: number, seed = 1): Buffer {
  const r = rng(seed);
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = i % 97 < 40 ? r(0, 255) : (i * 31) & 0xff;
  return b;
}

type Props = Record<string, unknown>;
const KEY = Buffer.from('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff', 'hex');
const KEY_HEX = KEY.toString('hex');

interface Sliced { offset: number; length: number; outOffset: number; outLength: number; slice: number }
const sliceMsgs = (ms: XferMessage[], elt: string): Sliced[] => ms.flatMap((m) => (m.type === 'slice' && m.elt === elt
  ? [{ slice: m.slice, offset: m.inOffset, length: m.inLength, outOffset: m.outOffset, outLength: m.outLength }] : []));

/** Encrypts `plain` through source-file → filter-encrypt → dest-file. */
async function encrypt(plain: Buffer, props: Props, opts: { blockSize?: number } = {}) {
  const src = tmp('plain');
  const dst = tmp('enc');
  writeFileSync(src, plain);
  const out = await runClean([element('source-file', { path: src }), element('filter-encrypt', props), element('dest-file', { path: dst, sync: false })], opts);
  expect(out.error?.message).toBeUndefined();
  return { bytes: readFileSync(dst), slices: sliceMsgs(out.messages, 'filter-encrypt#2') };
}

/** Decrypts `bytes` into a dest-buffer; returns what came out even when the transfer failed. */
async function decrypt(bytes: Buffer, props: Props, opts: { blockSize?: number; clean?: boolean } = {}) {
  const src = tmp('enc');
  writeFileSync(src, bytes);
  const specs = [element('source-file', { path: src }), element('filter-decrypt', props), element('dest-buffer', { 'max-size': '64MiB' })];
  const out = opts.clean === false ? await run(specs, opts) : await runClean(specs, opts);
  return { out: out.xfer.result(2) ?? Buffer.alloc(0), error: out.error, slices: sliceMsgs(out.messages, 'filter-decrypt#2'), messages: out.messages };
}

// ----- an independent implementation of the format (node:crypto only) -----------------------------

interface Field { name: string; offset: number; length: number }
interface RefKey { key?: Buffer; passphrase?: string; privateKeyPem?: string }

const u64 = (v: number | bigint) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); return b; };
const u32 = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); return b; };
const nonce = (slice: number | bigint, index: number) => Buffer.concat([u64(slice), u32(index)]);
const streamKeys = (key: Buffer, sid: Buffer) => {
  const okm = Buffer.from(hkdfSync('sha256', key, sid, 'xfa-encrypt v1', 64));
  return { enc: okm.subarray(0, 32), mac: okm.subarray(32) };
};
const refKeyId = (key: Buffer) => createHmac('sha256', key).update('xfa-encrypt key id').digest().subarray(0, 8);

function gcmOpen(key: Buffer, iv: Buffer, aad: Buffer, ct: Buffer, tag: Buffer): Buffer {
  const d = createDecipheriv('aes-256-gcm', key, iv);
  d.setAAD(aad);
  d.setAuthTag(tag);
  return Buffer.concat([d.update(ct), d.final()]);
}
function gcmSeal(key: Buffer, iv: Buffer, aad: Buffer, pt: Buffer): Buffer {
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(aad);
  return Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]);
}

/** Reads a whole stream; throws on any defect. Also returns where every field lies. */
function refDecrypt(s: Buffer, k: RefKey): { plain: Buffer; slices: Buffer[]; fields: Field[]; headerLen: number } {
  const fields: Field[] = [];
  const f = (name: string, offset: number, length: number) => fields.push({ name, offset, length });
  if (s.subarray(0, 4).toString('latin1') !== 'XFAC' || s[4] !== 1) throw new Error('ref: bad header');
  const mode = s[5];
  const H = s.readUInt16LE(6);
  const chunk = s.readUInt32LE(8);
  const sid = s.subarray(12, 28);
  f('header.magic', 0, 4); f('header.version', 4, 1); f('header.mode', 5, 1); f('header.length', 6, 2);
  f('header.chunkSize', 8, 4); f('header.streamId', 12, 16); f('header.keyId', 28, 8);
  let key: Buffer;
  if (mode === 1) key = k.key!;
  else if (mode === 2) {
    const [log2N, r, p] = [s[36], s[37], s[38]];
    f('header.kdf', 36, 4); f('header.salt', 40, 16);
    key = scryptSync(k.passphrase!, s.subarray(40, 56), 32, { N: 2 ** log2N, r, p, maxmem: 2 ** 30 });
  } else {
    const w = s.readUInt16LE(36);
    f('header.wrappedLength', 36, 2); f('header.wrappedKey', 38, w);
    key = privateDecrypt({ key: k.privateKeyPem!, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, s.subarray(38, 38 + w));
  }
  f('header.mac', H - 16, 16);
  if (!refKeyId(key).equals(s.subarray(28, 36))) throw new Error('ref: key id');
  const { enc, mac } = streamKeys(key, sid);
  if (!createHmac('sha256', mac).update(s.subarray(0, H - 16)).digest().subarray(0, 16).equals(s.subarray(H - 16, H))) throw new Error('ref: header mac');
  let pos = H;
  const slices: Buffer[] = [];
  for (;;) {
    const magic = s.subarray(pos, pos + 4).toString('latin1');
    if (magic === 'XFAE') {
      const count = s.readBigUInt64LE(pos + 4);
      f('end.magic', pos, 4); f('end.count', pos + 4, 8); f('end.total', pos + 12, 8); f('end.tag', pos + 20, 16);
      gcmOpen(enc, nonce(count, 0xfffffffe), Buffer.concat([sid, s.subarray(pos, pos + 20)]), Buffer.alloc(0), s.subarray(pos + 20, pos + 36));
      if (Number(count) !== slices.length || s.readBigUInt64LE(pos + 12) !== BigInt(slices.reduce((a, b) => a + b.length, 0))) throw new Error('ref: end');
      if (pos + 36 !== s.length) throw new Error('ref: trailing bytes');
      return { plain: Buffer.concat(slices), slices, fields, headerLen: H };
    }
    if (magic !== 'XFAS') throw new Error('ref: frame magic');
    const slice = Number(s.readBigUInt64LE(pos + 4));
    if (slice !== slices.length) throw new Error('ref: slice order');
    const fh = s.subarray(pos, pos + 12);
    f(`s${slice}.magic`, pos, 4); f(`s${slice}.slice`, pos + 4, 8);
    pos += 12;
    const parts: Buffer[] = [];
    for (let c = 0; ; c++) {
      const len = s.readUInt32LE(pos);
      if (len === 0xffffffff) {
        f(`s${slice}.trailer.mark`, pos, 4); f(`s${slice}.trailer.count`, pos + 4, 4); f(`s${slice}.trailer.length`, pos + 8, 8);
        f(`s${slice}.trailer.tag`, pos + 16, 16);
        if (s.readUInt32LE(pos + 4) !== c) throw new Error('ref: chunk count');
        gcmOpen(enc, nonce(slice, 0xffffffff), Buffer.concat([sid, fh, s.subarray(pos, pos + 16)]), Buffer.alloc(0), s.subarray(pos + 16, pos + 32));
        pos += 32;
        break;
      }
      if (len > chunk) throw new Error('ref: chunk length');
      f(`s${slice}.c${c}.length`, pos, 4); f(`s${slice}.c${c}.ciphertext`, pos + 4, len); f(`s${slice}.c${c}.tag`, pos + 4 + len, 16);
      const aad = Buffer.concat([sid, fh, u32(c), u32(len)]);
      parts.push(gcmOpen(enc, nonce(slice, c), aad, s.subarray(pos + 4, pos + 4 + len), s.subarray(pos + 4 + len, pos + 20 + len)));
      pos += 20 + len;
    }
    const p = Buffer.concat(parts);
    if (s.readBigUInt64LE(pos - 24) !== BigInt(p.length)) throw new Error('ref: slice length');
    slices.push(p);
  }
}

/** Writes a raw-key stream the way the format says, without the engine. */
function refEncrypt(plain: Buffer, key: Buffer, sliceSize: number, chunk: number): Buffer {
  const sid = randomBytes(16);
  const { enc, mac } = streamKeys(key, sid);
  const head = Buffer.concat([Buffer.from('XFAC'), Buffer.from([1, 1]), Buffer.from([52, 0]), u32(chunk), sid, refKeyId(key)]);
  const out: Buffer[] = [head, createHmac('sha256', mac).update(head).digest().subarray(0, 16)];
  let slices = 0;
  for (let off = 0; off < plain.length; off += sliceSize, slices++) {
    const piece = plain.subarray(off, off + sliceSize);
    const fh = Buffer.concat([Buffer.from('XFAS'), u64(slices)]);
    out.push(fh);
    let c = 0;
    for (let o = 0; o < piece.length; o += chunk, c++) {
      const ct = piece.subarray(o, o + chunk);
      out.push(u32(ct.length), gcmSeal(enc, nonce(slices, c), Buffer.concat([sid, fh, u32(c), u32(ct.length)]), ct));
    }
    const tr = Buffer.concat([u32(0xffffffff), u32(c), u64(piece.length)]);
    out.push(tr, gcmSeal(enc, nonce(slices, 0xffffffff), Buffer.concat([sid, fh, tr]), Buffer.alloc(0)));
  }
  const end = Buffer.concat([Buffer.from('XFAE'), u64(slices), u64(plain.length)]);
  out.push(end, gcmSeal(enc, nonce(slices, 0xfffffffe), Buffer.concat([sid, end]), Buffer.alloc(0)));
  return Buffer.concat(out);
}

const field = (fields: Field[], name: string) => {
  const x = fields.find((f) => f.name === name);
  if (!x) throw new Error(`no field ${name}`);
  return x;
};
const flip = (b: Buffer, offset: number, bit = 0) => {
  const c = Buffer.from(b);
  c[offset] ^= 1 << bit;
  return c;
};
const isPrefix = (out: Buffer, plain: Buffer) => out.length <= plain.length && out.equals(plain.subarray(0, out.length));

// ----- round trips --------------------------------------------------------------------------------

describe('round trips', () => {
  it('random lengths, chunk sizes, slice sizes, chunk-size, mechanisms and block sizes (seeded)', async () => {
    const r = rng(20261122);
    for (let i = 0; i < 14; i++) {
      const length = i === 0 ? 1 : r(1, 3_000_000);
      const sliceSize = [r(1, 64), r(100, 20_000), r(20_000, 1_500_000), 0][i % 4];
      const chunk = [16, r(17, 5000), 65536, 262144][r(0, 3)];
      const mechs = ['PULL_BUFFER', 'PUSH_BUFFER'];
      const [inMech, outMech] = [mechs[r(0, 1)], mechs[r(0, 1)]];
      const prefetch = [r(0, 2) > 0, r(0, 2) > 0];
      const blockSize = [4096, 8192, 65536, 1 << 20][r(0, 3)];
      const seed = r(1, 1e9);
      const useLen = sliceSize > 0 && sliceSize < 64 ? Math.min(length, 20_000) : length;
      const { messages, error, result } = await runClean([
        element('source-test', { mech: inMech, length: useLen, seed, 'chunk-seed': r(1, 1e9), 'max-chunk': r(1, 300_000) }),
        element('filter-encrypt', { key: KEY_HEX, 'slice-size': sliceSize, 'chunk-size': chunk, prefetch: prefetch[0] }),
        element('filter-decrypt', { key: KEY_HEX, prefetch: prefetch[1] }),
        element('dest-test', { mech: outMech, length: useLen, seed, 'chunk-seed': r(1, 1e9) }),
      ], { blockSize });
      const ctx = `case ${i}: len ${useLen} slice ${sliceSize} chunk ${chunk} ${inMech}→${outMech} prefetch ${prefetch} block ${blockSize} (${result?.linkage})`;
      expect(error?.message, ctx).toBeUndefined();
      const enc = sliceMsgs(messages, 'filter-encrypt#2');
      const dec = sliceMsgs(messages, 'filter-decrypt#3');
      expect(enc.length, ctx).toBe(sliceSize ? Math.ceil(useLen / sliceSize) : 1);
      expect(dec.map((s) => s.slice), ctx).toEqual(enc.map((s) => s.slice));
      let inOff = 0;
      for (const [j, s] of enc.entries()) {
        expect(s.slice).toBe(j);
        expect(s.offset).toBe(inOff);
        inOff += s.length;
        if (j > 0) expect(s.outOffset).toBe(enc[j - 1].outOffset + enc[j - 1].outLength);
        // decrypt sees encrypt's frames where encrypt put them, and gives back the slice's bytes
        expect([dec[j].offset, dec[j].length, dec[j].outOffset, dec[j].outLength]).toEqual([s.outOffset, s.outLength, s.offset, s.length]);
      }
      expect(inOff, ctx).toBe(useLen);
    }
  });

  it('every mechanism pair, with and without prefetch, links without glue and round-trips', async () => {
    for (const prefetch of [true, false]) {
      for (const inMech of ['PULL_BUFFER', 'PUSH_BUFFER']) {
        for (const outMech of ['PULL_BUFFER', 'PUSH_BUFFER']) {
          const { error, result } = await runClean([
            element('source-test', { mech: inMech, length: 300_000, seed: 3, 'max-chunk': 20_000 }),
            element('filter-encrypt', { key: KEY_HEX, 'slice-size': 70_000, prefetch }),
            element('filter-decrypt', { key: KEY_HEX, prefetch }),
            element('dest-test', { mech: outMech, length: 300_000, seed: 3 }),
          ]);
          expect(error?.message).toBeUndefined();
          const glued = result!.linkage.includes('glue');
          // without prefetch a mixed pair needs glue; with it every pair links directly
          expect(glued, result!.linkage).toBe(!prefetch && inMech !== outMech);
          if (prefetch) expect(result!.linkage).toMatch(new RegExp(`-${inMech}-> filter-encrypt#2 -.*-> filter-decrypt#3 -${outMech}->`));
        }
      }
    }
  });

  it('an empty stream is a header and an end frame, and decrypts to nothing', async () => {
    const { bytes, slices } = await encrypt(Buffer.alloc(0), { key: KEY_HEX });
    expect(bytes.length).toBe(52 + 36);
    expect(slices).toEqual([]);
    expect(refDecrypt(bytes, { key: KEY }).plain.length).toBe(0);
    const d = await decrypt(bytes, { key: KEY_HEX });
    expect(d.error).toBeUndefined();
    expect(d.out.length).toBe(0);
  });

  it('1-byte slices: one frame per byte, each reported', async () => {
    const plain = patterned(3000, 5);
    const { bytes, slices } = await encrypt(plain, { key: KEY_HEX, 'slice-size': 1 });
    expect(slices).toHaveLength(3000);
    expect(slices.every((s) => s.length === 1 && s.outLength === 12 + 4 + 1 + 16 + 32)).toBe(true);
    expect(refDecrypt(bytes, { key: KEY }).slices.map((s) => s.length)).toEqual(new Array(3000).fill(1));
    const d = await decrypt(bytes, { key: KEY_HEX }, { blockSize: 4096 });
    expect(d.error).toBeUndefined();
    expect(d.out.equals(plain)).toBe(true);
    expect(d.slices).toHaveLength(3000);
  });

  it('slice-size=0 follows upstream marks: encrypt → encrypt sees the first one\'s frames as its slices', async () => {
    const plain = patterned(1_000_000, 7);
    const src = tmp('plain');
    writeFileSync(src, plain);
    const dst = tmp('enc2');
    const { messages, error } = await runClean([
      element('source-file', { path: src }),
      element('filter-encrypt', { key: KEY_HEX, 'slice-size': 150_000, 'chunk-size': 10_000 }),
      element('filter-encrypt', { key: KEY_HEX }),
      element('dest-file', { path: dst, sync: false }),
    ], { blockSize: 65536 });
    expect(error).toBeUndefined();
    const first = sliceMsgs(messages, 'filter-encrypt#2');
    const second = sliceMsgs(messages, 'filter-encrypt#3');
    expect(first).toHaveLength(7);
    expect(second).toHaveLength(7);
    // the header rides with slice 0 and the end frame with the last slice; frames in between match
    const last = first.length - 1;
    expect(second.map((s) => s.length)).toEqual(first.map((s, j) => s.outLength + (j === 0 ? s.outOffset : 0) + (j === last ? 36 : 0)));
    // and the double encryption undoes in two steps
    const inner = refDecrypt(readFileSync(dst), { key: KEY }).plain;
    expect(refDecrypt(inner, { key: KEY }).plain.equals(plain)).toBe(true);
  });

  it('filter-decrypt marks its output: a following filter-encrypt slice-size=0 cuts where the plaintext slices were', async () => {
    const plain = patterned(700_000, 8);
    const { bytes, slices } = await encrypt(plain, { key: KEY_HEX, 'slice-size': 123_457 });
    const src = tmp('enc');
    writeFileSync(src, bytes);
    const { messages, error } = await runClean([
      element('source-file', { path: src }), element('filter-decrypt', { key: KEY_HEX }),
      element('filter-encrypt', { key: KEY_HEX }), element('dest-null'),
    ], { blockSize: 8192 });
    expect(error).toBeUndefined();
    expect(sliceMsgs(messages, 'filter-encrypt#3').map((s) => [s.slice, s.offset, s.length])).toEqual(slices.map((s) => [s.slice, s.offset, s.length]));
  });

  it('slices=… decrypts the header plus just the requested frames (what a selective restore reads)', async () => {
    const plain = patterned(500_000, 9);
    const { bytes, slices } = await encrypt(plain, { key: KEY_HEX, 'slice-size': 60_000, 'chunk-size': 7000 });
    const H = slices[0].outOffset;
    expect(H).toBe(headerLength(bytes));
    const frame = (j: number) => bytes.subarray(slices[j].outOffset, slices[j].outOffset + slices[j].outLength);
    const want = [2, 3, 7];
    const d = await decrypt(Buffer.concat([bytes.subarray(0, H), ...want.map(frame)]), { key: KEY_HEX, slices: '2-3,7' }, { blockSize: 4096 });
    expect(d.error).toBeUndefined();
    expect(d.out.equals(Buffer.concat(want.map((j) => plain.subarray(slices[j].offset, slices[j].offset + slices[j].length))))).toBe(true);
    expect(d.slices.map((s) => s.slice)).toEqual(want);
    // a requested frame that is missing, or an unrequested one, is named
    const missing = await decrypt(Buffer.concat([bytes.subarray(0, H), frame(2), frame(3)]), { key: KEY_HEX, slices: '2-3,7' });
    expect(missing.error?.message).toBe('filter-decrypt#2: decrypt slice 7: the stream ends before this slice');
    const wrong = await decrypt(Buffer.concat([bytes.subarray(0, H), frame(2), frame(4)]), { key: KEY_HEX, slices: '2-3' });
    expect(wrong.error?.message).toMatch(/^filter-decrypt#2: decrypt slice 3: found the frame of slice 4 instead/);
    // the last frame may be followed by the end frame
    const tail = await decrypt(Buffer.concat([bytes.subarray(0, H), frame(8), bytes.subarray(bytes.length - 36)]), { key: KEY_HEX, slices: '8' });
    expect(tail.error).toBeUndefined();
    expect(tail.out.equals(plain.subarray(slices[8].offset))).toBe(true);
  });

  it('cancel while encrypting an endless stream leaves nothing behind', async () => {
    const { error } = await runClean([
      element('source-test', { mech: 'PULL_BUFFER', length: 0 }), element('filter-encrypt', { key: KEY_HEX, 'slice-size': '1MiB' }),
      element('filter-decrypt', { key: KEY_HEX }), element('dest-null'),
    ], { during: (x) => setTimeout(() => x.cancel(), 100) });
    expect(error?.cancelled).toBe(true);
  });
});

// ----- key modes ----------------------------------------------------------------------------------

describe('key modes', () => {
  it('key-file: 32 raw bytes and 64 hex digits with a newline give the same key', async () => {
    const raw = tmp('raw.key');
    const hex = tmp('hex.key');
    writeFileSync(raw, KEY);
    writeFileSync(hex, KEY_HEX.toUpperCase() + '\n');
    expect(readKeyFile(hex).equals(KEY)).toBe(true);
    const plain = patterned(200_000, 11);
    const { bytes } = await encrypt(plain, { 'key-file': raw, 'slice-size': 50_000 });
    expect(parseHeader(bytes)).toMatchObject({ mode: 'key', keyId: keyId(KEY), length: 52, chunkSize: 262144 });
    expect(refDecrypt(bytes, { key: KEY }).plain.equals(plain)).toBe(true);
    const d = await decrypt(bytes, { 'key-file': hex });
    expect(d.error).toBeUndefined();
    expect(d.out.equals(plain)).toBe(true);
  });

  it('a bad key file is an error naming the file, not its content', async () => {
    const bad = tmp('bad.key');
    writeFileSync(bad, 'not a key at all');
    const d = await decrypt(Buffer.alloc(100), { 'key-file': bad });
    expect(d.error?.message).toBe(`filter-decrypt#2: key-file ${bad}: expected 32 raw bytes or 64 hexadecimal digits, found 16 bytes`);
    const gone = await decrypt(Buffer.alloc(100), { 'key-file': join(dir, 'nope.key') });
    expect(gone.error?.message).toMatch(/open key-file .*nope\.key: ENOENT/);
    expect(() => parseKey(Buffer.from('zz'))).toThrow(KeyError);
  });

  it('passphrase: scrypt with the header\'s salt and cost; passphrase-file ignores one trailing newline', async () => {
    const plain = patterned(300_000, 12);
    const { bytes } = await encrypt(plain, { passphrase: 'correct horse battery staple', 'kdf-cost': 12, 'slice-size': 100_000 });
    const h = parseHeader(bytes);
    expect(h.mode).toBe('passphrase');
    expect(h.kdf).toMatchObject({ log2N: 12, r: 8, p: 1 });
    expect(h.length).toBe(72);
    expect(refDecrypt(bytes, { passphrase: 'correct horse battery staple' }).plain.equals(plain)).toBe(true);
    const pf = tmp('pass');
    writeFileSync(pf, 'correct horse battery staple\n');
    const d = await decrypt(bytes, { 'passphrase-file': pf });
    expect(d.error).toBeUndefined();
    expect(d.out.equals(plain)).toBe(true);
    const wrong = await decrypt(bytes, { passphrase: 'correct horse battery stapler' });
    expect(wrong.error?.message).toMatch(/^filter-decrypt#2: read stream header: wrong passphrase: the stream was encrypted with key id [0-9a-f]{16}/);
    expect(wrong.out.length).toBe(0);
  });

  it('passphrase: the default cost is scrypt N=2^15, and two streams of one passphrase get different salts and keys', async () => {
    const a = await encrypt(Buffer.from('x'), { passphrase: 'pw' });
    const b = await encrypt(Buffer.from('x'), { passphrase: 'pw' });
    expect(parseHeader(a.bytes).kdf?.log2N).toBe(15);
    expect(parseHeader(a.bytes).kdf?.salt.equals(parseHeader(b.bytes).kdf!.salt)).toBe(false);
    expect(parseHeader(a.bytes).keyId).not.toBe(parseHeader(b.bytes).keyId);
  });

  it('RSA: encryptProps wraps a fresh data key with the public key; decryptProps unwraps it from the header', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
    const plain = patterned(400_000, 13);
    const ep = encryptProps({ publicKeyPem: publicKey });
    expect(ep.key).toMatch(/^[0-9a-f]{64}$/);
    expect(encryptProps({ publicKeyPem: publicKey }).key).not.toBe(ep.key);
    const { bytes } = await encrypt(plain, { ...ep, 'slice-size': 100_000 });
    const h = parseHeader(bytes);
    expect(h.mode).toBe('wrapped');
    expect(h.wrappedKey?.toString('base64')).toBe(ep['wrapped-key']);
    expect(h.length).toBe(36 + 2 + 256 + 16);
    // node's own RSA-OAEP (SHA-256) unwraps what node-forge wrapped
    expect(refDecrypt(bytes, { privateKeyPem: privateKey }).plain.equals(plain)).toBe(true);
    const props = decryptProps({ privateKeyPem: privateKey, header: bytes.subarray(0, headerLength(bytes)) });
    expect(props.key).toBe(ep.key);
    // from files: the stream stored after 1000 other bytes, the private key in a PEM file
    const stored = tmp('stored');
    writeFileSync(stored, Buffer.concat([Buffer.alloc(1000, 1), bytes]));
    const pemFile = tmp('private.pem');
    writeFileSync(pemFile, privateKey);
    const header = readStreamHeader(stored, 1000);
    expect(header.equals(bytes.subarray(0, h.length))).toBe(true);
    expect(decryptProps({ privateKeyFile: pemFile, header })).toEqual(props);
    expect(() => readStreamHeader(stored, 1000 + bytes.length - 10)).toThrow(/not an xfa encrypted stream/);
    const d = await decrypt(bytes, props);
    expect(d.error).toBeUndefined();
    expect(d.out.equals(plain)).toBe(true);
    // a passphrase cannot open it, and says what to do instead
    const pw = await decrypt(bytes, { passphrase: 'x' });
    expect(pw.error?.message).toMatch(/read stream header: the stream's data key is wrapped with an RSA public key: unwrap it with decryptProps/);
  });

  it('RSA: the wrong private key, or a corrupted wrapped key, is a KeyError from decryptProps', async () => {
    const pair = () => generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs1', format: 'pem' } });
    const a = pair();
    const b = pair();
    const { bytes } = await encrypt(Buffer.from('secret data'), encryptProps({ publicKeyPem: a.publicKey }));
    expect(() => decryptProps({ privateKeyPem: b.privateKey, header: bytes })).toThrow(/cannot unwrap the data key: wrong private key/);
    const h = parseHeader(bytes);
    const damaged = flip(bytes, 38 + 100, 3);
    expect(() => decryptProps({ privateKeyPem: a.privateKey, header: damaged })).toThrow(KeyError);
    // unwrapKey/wrapKey on their own, and the key id check
    const { dataKey, wrappedKey } = wrapKey(a.publicKey);
    expect(unwrapKey(a.privateKey, wrappedKey).equals(dataKey)).toBe(true);
    expect(decryptProps({ privateKeyPem: a.privateKey, header: bytes }).key).toMatch(/^[0-9a-f]{64}$/);
    expect(keyId(Buffer.from(decryptProps({ privateKeyPem: a.privateKey, header: bytes }).key, 'hex'))).toBe(h.keyId);
    const plainKeyed = (await encrypt(Buffer.from('x'), { key: KEY_HEX })).bytes;
    expect(() => decryptProps({ privateKeyPem: a.privateKey, header: plainKeyed })).toThrow(/keyed by a key file/);
  });

  it('property errors name properties, never values', () => {
    const refused = (props: Props, name = 'filter-encrypt') => {
      try {
        linkPreview([element('source-random', { length: 10, seed: 1 }), element(name, props), element('dest-null')]);
      } catch (e) {
        return (e as Error).message;
      }
      return 'accepted';
    };
    const secret = 'f'.repeat(63) + 'g';
    expect(refused({ key: secret })).toBe('filter-encrypt: property "key" must be 64 hexadecimal digits (a 256-bit key)');
    expect(refused({})).toBe('filter-encrypt: give exactly one of the properties key, key-file, passphrase, passphrase-file');
    const two = refused({ key: KEY_HEX, passphrase: 'hunter2' });
    expect(two).toMatch(/give exactly one/);
    expect(two).not.toContain('hunter2');
    expect(refused({ passphrase: 'pw', 'wrapped-key': 'AAAA' })).toMatch(/"wrapped-key" goes with key or key-file/);
    expect(refused({ key: KEY_HEX, 'wrapped-key': '***' })).toMatch(/"wrapped-key" must be base64/);
    expect(refused({ key: KEY_HEX, slices: '5,3' }, 'filter-decrypt')).toMatch(/property "slices" must be increasing slice numbers or ranges/);
    expect(refused({ key: KEY_HEX, slices: '2-9' }, 'filter-decrypt')).toBe('accepted');
  });

  it('generateKey and keyId', () => {
    const k = generateKey();
    expect(k.length).toBe(32);
    expect(keyId(k)).toMatch(/^[0-9a-f]{16}$/);
    expect(keyId(k)).toBe(refKeyId(k).toString('hex'));
    expect(() => keyId(Buffer.alloc(5))).toThrow(KeyError);
  });
});

// ----- the independent implementation agrees ------------------------------------------------------

describe('format', () => {
  it('filter-encrypt output at random chunk and slice sizes reads back with node:crypto alone', async () => {
    const r = rng(77);
    for (let i = 0; i < 5; i++) {
      const len = r(0, 400_000);
      const seed = r(1, 1e6);
      const sliceSize = r(1, 3) === 1 ? 0 : r(1000, 100_000);
      const chunk = r(16, 20_000);
      const mech = r(0, 1) ? 'PULL_BUFFER' : 'PUSH_BUFFER';
      const plainFile = tmp('p');
      const encFile = tmp('e');
      const src = () => element('source-test', { mech, length: len || 1, seed, 'chunk-seed': seed + 1, 'max-chunk': r(1, 100_000) });
      await runClean([src(), element('dest-file', { path: plainFile, sync: false })]);
      await runClean([src(), element('filter-encrypt', { key: KEY_HEX, 'slice-size': sliceSize, 'chunk-size': chunk }), element('dest-file', { path: encFile, sync: false })]);
      const enc = readFileSync(encFile);
      const ref = refDecrypt(enc, { key: KEY });
      expect(ref.plain.equals(readFileSync(plainFile))).toBe(true);
      expect(parseHeader(enc).chunkSize).toBe(chunk);
      if (sliceSize) expect(ref.slices.length).toBe(Math.ceil((len || 1) / sliceSize));
    }
  });

  it('a stream written by node:crypto alone decrypts in filter-decrypt', async () => {
    const plain = patterned(250_000, 21);
    for (const [slice, chunk] of [[40_000, 999], [1, 16], [250_000, 1 << 20]]) {
      const small = slice === 1 ? plain.subarray(0, 500) : plain;
      const d = await decrypt(refEncrypt(small, KEY, slice, chunk), { key: KEY_HEX }, { blockSize: 4096 });
      expect(d.error).toBeUndefined();
      expect(d.out.equals(small)).toBe(true);
    }
    const empty = await decrypt(refEncrypt(Buffer.alloc(0), KEY, 10, 10), { key: KEY_HEX });
    expect(empty.error).toBeUndefined();
  });
});

// ----- tampering ----------------------------------------------------------------------------------

describe('tampering', () => {
  // three 5000-byte slices in 2048-byte chunks: chunks 2048, 2048, 904 per frame
  let plain: Buffer;
  let stream: Buffer;
  let fields: Field[];
  beforeAll(async () => {
    plain = patterned(15_000, 31);
    stream = (await encrypt(plain, { key: KEY_HEX, 'slice-size': 5000, 'chunk-size': 2048 })).bytes;
    fields = refDecrypt(stream, { key: KEY }).fields;
  });

  const expectRefused = async (bytes: Buffer, pattern: RegExp, props: Props = { key: KEY_HEX }) => {
    const d = await decrypt(bytes, props, { blockSize: 4096 });
    expect(d.error?.message).toMatch(pattern);
    expect(d.error?.message).not.toContain(KEY_HEX);
    expect(isPrefix(d.out, plain), 'only authentic plaintext comes out').toBe(true);
    return d;
  };

  const cases: [string, RegExp][] = [
    ['header.magic', /read stream header: not an xfa encrypted stream \(bad magic\)$/],
    ['header.version', /read stream header: unsupported format version 0/],
    ['header.mode', /read stream header: unknown key mode 0/],
    ['header.length', /read stream header: header length does not match its key mode/],
    ['header.chunkSize', /read stream header: authentication failed \(corrupted header\)$/],
    ['header.streamId', /read stream header: authentication failed \(corrupted header\)$/],
    ['header.keyId', /read stream header: wrong key: .* \(or its header is corrupted\)$/],
    ['header.mac', /read stream header: authentication failed \(corrupted header\)$/],
    ['s0.magic', /read the frame of slice 0: bad frame magic/],
    ['s1.magic', /read the frame after slice 0: bad frame magic/],
    ['s1.slice', /decrypt slice 1: found the frame of slice 0 instead \(frames missing, reordered or corrupted\)$/],
    ['s2.slice', /decrypt slice 2: found the frame of slice 3 instead/],
    ['s1.c0.length', /decrypt slice 1: chunk 0: bad chunk length 2049 \(corrupted\)$/],
    ['s1.c2.length', /decrypt slice 1: chunk 2: authentication failed/],
    ['s1.c1.ciphertext', /decrypt slice 1: chunk 1: authentication failed \(corrupted data, or a frame of another stream\)$/],
    ['s2.c2.ciphertext', /decrypt slice 2: chunk 2: authentication failed/],
    ['s0.c0.tag', /decrypt slice 0: chunk 0: authentication failed/],
    ['s1.trailer.mark', /decrypt slice 1: chunk 3: bad chunk length 4294967294 \(corrupted\)$/],
    ['s1.trailer.count', /decrypt slice 1: slice trailer: authentication failed/],
    ['s1.trailer.length', /decrypt slice 1: slice trailer: authentication failed/],
    ['s2.trailer.tag', /decrypt slice 2: slice trailer: authentication failed/],
    ['end.magic', /read the frame after slice 2: bad frame magic/],
    ['end.count', /read end frame: authentication failed/],
    ['end.total', /read end frame: authentication failed/],
    ['end.tag', /read end frame: authentication failed/],
  ];
  for (const [name, pattern] of cases) {
    it(`a flipped bit in ${name} is refused`, async () => {
      const f = field(fields, name);
      // numbers: the lowest bit (the smallest change); blobs: a bit in the middle
      const blob = /ciphertext|tag|mac|streamId|keyId/.test(name);
      await expectRefused(flip(stream, f.offset + (blob ? f.length >> 1 : 0), blob ? 5 : 0), pattern);
    });
  }

  it('every single-bit flip anywhere in a small stream is refused and never yields other bytes', async () => {
    const small = patterned(300, 32);
    const s = (await encrypt(small, { key: KEY_HEX, 'slice-size': 150, 'chunk-size': 64 })).bytes;
    const before = snapshot();
    for (let i = 0; i < s.length; i++) {
      const d = await decrypt(flip(s, i, i % 8), { key: KEY_HEX }, { clean: false, blockSize: 4096 });
      expect(d.error?.message, `byte ${i}`).toMatch(/^filter-decrypt#2: /);
      expect(isPrefix(d.out, small), `byte ${i}`).toBe(true);
    }
    await waitFor(() => engineStats().reserved === 0);
    expectClean(before);
  });

  it('truncation inside a chunk, at a frame boundary, before the end frame, inside it, in the header', async () => {
    const s1 = field(fields, 's1.c1.ciphertext');
    await expectRefused(stream.subarray(0, s1.offset + 100), /decrypt slice 1: stream truncated in chunk 1$/);
    const t1 = field(fields, 's1.trailer.tag');
    await expectRefused(stream.subarray(0, t1.offset + 16), /read end frame: stream truncated after slice 1: end frame missing$/);
    await expectRefused(stream.subarray(0, t1.offset + 5), /decrypt slice 1: stream truncated in the slice trailer$/);
    const end = field(fields, 'end.magic');
    await expectRefused(stream.subarray(0, end.offset), /read end frame: stream truncated after slice 2: end frame missing$/);
    await expectRefused(stream.subarray(0, end.offset + 10), /read end frame: stream truncated in the end frame$/);
    await expectRefused(stream.subarray(0, end.offset + 2), /read the frame after slice 2: stream truncated in a frame header$/);
    await expectRefused(stream.subarray(0, 30), /read stream header: stream truncated inside the header$/);
    await expectRefused(stream.subarray(0, 52), /read end frame: stream truncated after the header: end frame missing$/);
    await expectRefused(Buffer.alloc(0), /read stream header: empty input \(not an xfa encrypted stream\)$/);
    // a slice cut short at a chunk boundary: its trailer moved up does not authenticate
    const c2 = field(fields, 's1.c2.length');
    const tr = field(fields, 's1.trailer.mark');
    await expectRefused(Buffer.concat([stream.subarray(0, c2.offset), stream.subarray(tr.offset)]),
      /decrypt slice 1: chunks missing: the slice trailer says 3 chunks \(5000 bytes\), read 2 \(4096 bytes\)$/);
  });

  it('missing, swapped, duplicated and foreign frames', async () => {
    const start = (j: number) => field(fields, `s${j}.magic`).offset;
    const endAt = field(fields, 'end.magic').offset;
    const frames = [0, 1, 2].map((j) => stream.subarray(start(j), j < 2 ? start(j + 1) : endAt));
    const head = stream.subarray(0, start(0));
    const tail = stream.subarray(endAt);
    await expectRefused(Buffer.concat([head, frames[1], frames[0], frames[2], tail]), /decrypt slice 0: found the frame of slice 1 instead/);
    await expectRefused(Buffer.concat([head, frames[0], frames[2], tail]), /decrypt slice 1: found the frame of slice 2 instead/);
    await expectRefused(Buffer.concat([head, frames[0], frames[1], frames[1], frames[2], tail]), /decrypt slice 2: found the frame of slice 1 instead/);
    await expectRefused(Buffer.concat([head, frames[0], frames[1], tail]), /decrypt slice 2: missing: the end frame says the stream has 3 slices, found 2$/);
    // frame 1 renumbered as 0 and put first: the number is authenticated
    const renumbered = Buffer.from(frames[1]);
    renumbered.writeBigUInt64LE(0n, 4);
    await expectRefused(Buffer.concat([head, renumbered, frames[1], frames[2], tail]), /decrypt slice 0: chunk 0: authentication failed/);
    // the same slice from another stream under the same key
    const other = (await encrypt(plain, { key: KEY_HEX, 'slice-size': 5000, 'chunk-size': 2048 })).bytes;
    const oFields = refDecrypt(other, { key: KEY }).fields;
    const o1 = other.subarray(field(oFields, 's1.magic').offset, field(oFields, 's2.magic').offset);
    await expectRefused(Buffer.concat([head, frames[0], o1, frames[2], tail]), /decrypt slice 1: chunk 0: authentication failed \(corrupted data, or a frame of another stream\)/);
    // the other stream's end frame
    await expectRefused(Buffer.concat([head, ...frames, other.subarray(other.length - 36)]), /read end frame: authentication failed/);
    // data after the end frame
    await expectRefused(Buffer.concat([stream, Buffer.from('x')]), /read end frame: unexpected data after the end frame$/);
  });

  it('a wrong key is refused at the header, naming the stream\'s key id, and releases nothing', async () => {
    const other = generateKey();
    const d = await expectRefused(stream, new RegExp(`read stream header: wrong key: the stream was encrypted with key id ${keyId(KEY)}`), { key: other.toString('hex') });
    expect(d.out.length).toBe(0);
    expect(d.error?.message).not.toContain(other.toString('hex'));
    const pw = await expectRefused(stream, /read stream header: the stream was encrypted with a key, not a passphrase/, { passphrase: 'x' });
    expect(pw.out.length).toBe(0);
  });

  it('passphrase header fields (cost, salt) are covered too', async () => {
    const { bytes } = await encrypt(plain, { passphrase: 'pw', 'kdf-cost': 11, 'slice-size': 5000 });
    const f = refDecrypt(bytes, { passphrase: 'pw' }).fields;
    await expectRefused(flip(bytes, field(f, 'header.kdf').offset, 0), /read stream header: wrong passphrase: .*\(or its header is corrupted\)/, { passphrase: 'pw' });
    await expectRefused(flip(bytes, field(f, 'header.salt').offset + 3, 2), /read stream header: wrong passphrase/, { passphrase: 'pw' });
    await expectRefused(flip(bytes, field(f, 'header.kdf').offset, 4), /read stream header: unsupported scrypt parameters/, { passphrase: 'pw' });
  });
});
