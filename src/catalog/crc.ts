/**
 * CRC32C arithmetic without the data: crc32cCombine(a, b, lenB) is the CRC32C of A followed by B
 * given CRC(A), CRC(B) and B's length (zlib's crc32_combine with the Castagnoli polynomial). The
 * catalog keeps one CRC per part; a dump's CRC is the combination of its parts' CRCs.
 */
const POLY = 0x82f63b78; // reflected Castagnoli

function gf2Times(mat: Uint32Array, vec: number): number {
  let sum = 0;
  for (let i = 0; vec !== 0; i++, vec >>>= 1) if (vec & 1) sum ^= mat[i];
  return sum >>> 0;
}

function gf2Square(square: Uint32Array, mat: Uint32Array): void {
  for (let n = 0; n < 32; n++) square[n] = gf2Times(mat, mat[n]);
}

/** CRC32C(A ‖ B) from CRC32C(A), CRC32C(B) (8 hex digits or numbers) and B's length in bytes. */
export function crc32cCombine(crcA: string | number, crcB: string | number, lenB: number): string {
  let a = typeof crcA === 'string' ? parseInt(crcA, 16) >>> 0 : crcA >>> 0;
  const b = typeof crcB === 'string' ? parseInt(crcB, 16) >>> 0 : crcB >>> 0;
  if (lenB > 0) {
    let even = new Uint32Array(32);
    let odd = new Uint32Array(32);
    odd[0] = POLY;
    for (let n = 1, row = 1; n < 32; n++, row <<= 1) odd[n] = row >>> 0;
    gf2Square(even, odd); // 2 zero bits
    gf2Square(odd, even); // 4 zero bits
    let len = lenB;
    do {
      gf2Square(even, odd);
      if (len % 2) a = gf2Times(even, a);
      len = Math.floor(len / 2);
      if (len === 0) break;
      gf2Square(odd, even);
      if (len % 2) a = gf2Times(odd, a);
      len = Math.floor(len / 2);
    } while (len !== 0);
    [even, odd] = [odd, even];
  }
  return ((a ^ b) >>> 0).toString(16).padStart(8, '0');
}

/** The CRC32C of the concatenation of pieces given as {crc, size}; "00000000" for none. */
export function crc32cOfParts(parts: ReadonlyArray<{ crc: string; size: number }>): string {
  let crc = '00000000';
  for (const p of parts) crc = crc32cCombine(crc, p.crc, p.size);
  return crc;
}
