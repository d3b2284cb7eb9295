/**
 * The multiplexed packet format (csrc/core/mux_format.h) and Fletcher-32 (csrc/core/fletcher32.h)
 * against their documentation: published vectors, a TypeScript reference, every header field.
 */
import { describe, expect, it } from 'vitest';
import { native } from '../../src/native.js';
import { fletcher32 } from './mux-helpers.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 2 ** 32;
  };
}

describe('fletcher32', () => {
  it('gives the published vectors', () => {
    expect(native.fletcher32(Buffer.from('abcde')).toString(16)).toBe('f04fc729');
    expect(native.fletcher32(Buffer.from('abcdef')).toString(16)).toBe('56502d2a');
    expect(native.fletcher32(Buffer.from('abcdefgh')).toString(16)).toBe('ebe19591');
    expect(native.fletcher32(Buffer.alloc(0))).toBe(0);
  });

  it('matches the reference on random data, every length and alignment, and 0xff runs', () => {
    const r = rng(7);
    const big = Buffer.from(Array.from({ length: 300_000 }, () => Math.floor(r() * 256)));
    for (let n = 0; n < 70; n++) {
      const off = Math.floor(r() * 16);
      const b = big.subarray(off, off + n);
      expect(native.fletcher32(b), `n=${n}`).toBe(fletcher32(b));
    }
    for (const n of [1000, 4097, 65535, 299_999]) expect(native.fletcher32(big.subarray(1, 1 + n))).toBe(fletcher32(big.subarray(1, 1 + n)));
    // All-ones words are where mod 65535 and a sloppy reduction differ.
    for (const n of [2, 3, 720, 721, 3 << 20]) {
      const ff = Buffer.alloc(n, 0xff);
      expect(native.fletcher32(ff), `0xff x ${n}`).toBe(fletcher32(ff));
    }
  });
});

describe('packet header', () => {
  const fields = { flags: 1, stream: 3, length: 1234, sequence: 2 ** 40 + 5, checksum: 0xdeadbeef };

  it('is laid out as documented: magic, version, flags, reserved, stream, length, sequence, checksum, hcheck', () => {
    const h = native.muxHeader(fields);
    expect(h.length).toBe(32);
    expect(h.toString('latin1', 0, 4)).toBe('XFAM');
    expect(h[4]).toBe(1);
    expect(h[5]).toBe(1);
    expect(h.readUInt16LE(6)).toBe(0);
    expect(h.readUInt32LE(8)).toBe(3);
    expect(h.readUInt32LE(12)).toBe(1234);
    expect(h.readBigUInt64LE(16)).toBe(BigInt(2 ** 40 + 5));
    expect(h.readUInt32LE(24)).toBe(0xdeadbeef);
    expect(h.readUInt32LE(28)).toBe(fletcher32(h.subarray(0, 28)));
    expect(native.muxHeaderParse(h)).toEqual(fields);
  });

  it('refuses every single-byte change with a sentence', () => {
    const h = native.muxHeader(fields);
    for (let i = 0; i < 32; i++) {
      for (const x of [0x01, 0x80, 0xff]) {
        const bad = Buffer.from(h);
        bad[i] ^= x;
        const r = native.muxHeaderParse(bad);
        expect('error' in r, `byte ${i} ^ ${x}`).toBe(true);
      }
    }
  });

  it('refuses well-checksummed headers that break the rules', () => {
    const cases: Array<[Record<string, number>, RegExp]> = [
      [{ flags: 8, stream: 1 }, /unknown flags/],
      [{ flags: 3, stream: 1 }, /EOS and ABORTED/],
      [{ flags: 2, stream: 1, length: 5 }, /ABORTED packet with a payload/],
      [{ flags: 4, stream: 2 }, /flag MAP on stream 2/],
      [{ flags: 0, stream: 0 }, /stream 0 without flag MAP/],
      [{ stream: 1, length: (16 << 20) + 1 }, /above the maximum/],
    ];
    for (const [f, re] of cases) expect((native.muxHeaderParse(native.muxHeader(f)) as { error: string }).error).toMatch(re);
    const v2 = native.muxHeader({ stream: 1 });
    v2[4] = 2;
    v2.writeUInt32LE(fletcher32(v2.subarray(0, 28)), 28);
    expect((native.muxHeaderParse(v2) as { error: string }).error).toMatch(/version 2/);
  });
});
