// Amanda's simpleprng: a 32-bit LCG, s = 1664525*s + 1013904223 (mod 2^32); each byte is the top
// 8 bits of the next state; the seed must be non-zero. Used by source-random and dest-null's
// verification, so xfa reproduces Amanda's test vectors (Random(4096, 42) starts 40 16 93 38).
//
// Fast: L independent lanes each jump L states at a time (s' = A^L s + C_L), so the multiplies do
// not depend on each other; kernel picked once at run time: AVX-512 (F/BW/VBMI, 256 lanes), AVX2
// (128 lanes) or portable C (32 lanes). Any chunking of a stream gives the same bytes. Pure
// functions; any thread. XFA_LCG_KERNEL=avx2|portable forces a kernel (tests, benchmarks).
#pragma once

#include <cstddef>
#include <cstdint>

namespace xfa {

// Fills out[0..n) and advances `state` past the n bytes.
void lcg_fill(uint32_t& state, uint8_t* out, size_t n);
// The state after skipping n bytes (O(log n)).
uint32_t lcg_skip(uint32_t state, uint64_t n);

}  // namespace xfa
