#include "lcg.h"

#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define XFA_LCG_X86 1
#endif

namespace xfa {

namespace {
constexpr uint32_t kA = 1664525u;
constexpr uint32_t kC = 1013904223u;

struct Jump {
  uint32_t a, c;  // s -> a*s + c
};
constexpr Jump compose(Jump f, Jump g) { return {g.a * f.a, g.a * f.c + g.c}; }  // g after f
constexpr Jump jump(uint64_t n) {
  Jump j{1, 0};
  for (uint64_t i = 0; i < n; ++i) j = compose(j, {kA, kC});
  return j;
}

// A round of an L-lane kernel emits L bytes. Lane (slot) k of the state holds, at round r, the state
// whose top byte is output byte r*L + pos(k), i.e. s_{r*L + pos(k) + 1}; every lane advances by L
// states per round (s -> A^L s + C_L), so the lanes never depend on each other. pos() is chosen per
// kernel so that its byte-packing instructions need no extra permutation. The tables give the
// lanes' start values from the caller's state in one vector multiply-add (lane = mul*s + add), and
// the slot holding a given position (to read the state back after a partial round).
template <int L>
struct LaneTable {
  uint32_t mul[L];
  uint32_t add[L];
  uint16_t slot[L];  // slot[pos]
};
template <int L, class Pos>
constexpr LaneTable<L> make_lanes(Pos pos) {
  LaneTable<L> t{};
  Jump powers[L + 1] = {};
  powers[0] = {1, 0};
  for (int p = 1; p <= L; ++p) powers[p] = compose(powers[p - 1], {kA, kC});
  for (int k = 0; k < L; ++k) {
    const int p = pos(k);
    t.mul[k] = powers[p + 1].a;
    t.add[k] = powers[p + 1].c;
    t.slot[p] = static_cast<uint16_t>(k);
  }
  return t;
}

void fill_scalar(uint32_t& state, uint8_t* out, size_t n) {
  uint32_t s = state;
  for (size_t i = 0; i < n; ++i) {
    s = kA * s + kC;
    out[i] = static_cast<uint8_t>(s >> 24);
  }
  state = s;
}

// ---- portable: 32 lanes in plain C, positions in slot order (the compiler vectorises it) ----
constexpr int kPortL = 32;
constexpr LaneTable<kPortL> kPortLanes = make_lanes<kPortL>([](int k) { return k; });
constexpr Jump kPortJump = jump(kPortL);

void fill_portable(uint32_t& state, uint8_t* out, size_t n) {
  uint32_t lane[kPortL];
  for (int k = 0; k < kPortL; ++k) lane[k] = kPortLanes.mul[k] * state + kPortLanes.add[k];
  const size_t full = (n - 1) / kPortL;  // n >= 1; the last (possibly partial) round is below
  for (size_t r = 0; r < full; ++r, out += kPortL) {
    for (int k = 0; k < kPortL; ++k) out[k] = static_cast<uint8_t>(lane[k] >> 24);
    for (int k = 0; k < kPortL; ++k) lane[k] = kPortJump.a * lane[k] + kPortJump.c;
  }
  const size_t t = n - full * kPortL;  // 1..L
  for (size_t k = 0; k < t; ++k) out[k] = static_cast<uint8_t>(lane[k] >> 24);
  state = lane[t - 1];
}

#ifdef XFA_LCG_X86
// ---- AVX2: 16 ymm of 8 lanes = 128 lanes. vpmulld has ~10 cycles of latency, so a round needs
// more than 10 independent multiplies in flight. Four ymm (a, b, c, d) become 32 bytes with
// shift-by-24, packusdw(a, b), packusdw(c, d), packuswb: byte order in each 128-bit half is
// a0-3 b0-3 c0-3 d0-3 (lower half) / a4-7 b4-7 c4-7 d4-7 (upper half).
constexpr int kAvx2V = 16;
constexpr int kAvx2L = 8 * kAvx2V;
constexpr LaneTable<kAvx2L> kAvx2Lanes = make_lanes<kAvx2L>([](int k) {
  const int group = k / 32, v = (k / 8) % 4, e = k % 8;
  return group * 32 + (e / 4) * 16 + v * 4 + e % 4;
});
constexpr Jump kAvx2Jump = jump(kAvx2L);

__attribute__((target("avx2"))) inline __m256i avx2_pack(__m256i a, __m256i b, __m256i c, __m256i d) {
  const __m256i ab = _mm256_packus_epi32(_mm256_srli_epi32(a, 24), _mm256_srli_epi32(b, 24));
  const __m256i cd = _mm256_packus_epi32(_mm256_srli_epi32(c, 24), _mm256_srli_epi32(d, 24));
  return _mm256_packus_epi16(ab, cd);
}

__attribute__((target("avx2"))) void fill_avx2(uint32_t& state, uint8_t* out, size_t n) {
  __m256i st[kAvx2V];
  const __m256i s0 = _mm256_set1_epi32(static_cast<int>(state));
#pragma GCC unroll 16
  for (int v = 0; v < kAvx2V; ++v)
    st[v] = _mm256_add_epi32(_mm256_mullo_epi32(s0, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kAvx2Lanes.mul + 8 * v))),
                             _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kAvx2Lanes.add + 8 * v)));
  const __m256i ja = _mm256_set1_epi32(static_cast<int>(kAvx2Jump.a));
  const __m256i jc = _mm256_set1_epi32(static_cast<int>(kAvx2Jump.c));
  const size_t full = (n - 1) / kAvx2L;
  for (size_t r = 0; r < full; ++r, out += kAvx2L) {
#pragma GCC unroll 4
    for (int g = 0; g < kAvx2V / 4; ++g)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 32 * g),
                          avx2_pack(st[4 * g], st[4 * g + 1], st[4 * g + 2], st[4 * g + 3]));
#pragma GCC unroll 16
    for (int v = 0; v < kAvx2V; ++v) st[v] = _mm256_add_epi32(_mm256_mullo_epi32(st[v], ja), jc);
  }
  const size_t t = n - full * kAvx2L;  // 1..L
  alignas(32) uint8_t bytes[kAvx2L];
  alignas(32) uint32_t lanes[kAvx2L];
#pragma GCC unroll 4
  for (int g = 0; g < kAvx2V / 4; ++g)
    _mm256_store_si256(reinterpret_cast<__m256i*>(bytes + 32 * g),
                       avx2_pack(st[4 * g], st[4 * g + 1], st[4 * g + 2], st[4 * g + 3]));
#pragma GCC unroll 16
  for (int v = 0; v < kAvx2V; ++v) _mm256_store_si256(reinterpret_cast<__m256i*>(lanes + 8 * v), st[v]);
  std::memcpy(out, bytes, t);
  state = lanes[kAvx2Lanes.slot[t - 1]];
}

// ---- AVX-512 (F, BW, VBMI): 16 zmm of 16 lanes = 256 lanes, positions in slot order. Four zmm
// become 64 bytes with two vpermt2b (top byte of every dword of a:b, of c:d) and one byte blend.
constexpr int kAvx512V = 16;
constexpr int kAvx512L = 16 * kAvx512V;
constexpr LaneTable<kAvx512L> kAvx512Lanes = make_lanes<kAvx512L>([](int k) { return k; });
constexpr Jump kAvx512Jump = jump(kAvx512L);

#define XFA_AVX512 __attribute__((target("avx512f,avx512bw,avx512vbmi")))

XFA_AVX512 inline __m512i avx512_pack(__m512i a, __m512i b, __m512i c, __m512i d, __m512i idx) {
  const __m512i ab = _mm512_permutex2var_epi8(a, idx, b);  // bytes 0..31 (and again 32..63)
  const __m512i cd = _mm512_permutex2var_epi8(c, idx, d);
  return _mm512_mask_blend_epi8(0xFFFFFFFF00000000ull, ab, cd);
}

XFA_AVX512 void fill_avx512(uint32_t& state, uint8_t* out, size_t n) {
  alignas(64) static constexpr uint8_t kIdx[64] = {
      3,  7,  11, 15, 19, 23, 27, 31, 35, 39, 43, 47, 51, 55, 59, 63,  67,  71,  75,  79,  83,  87,
      91, 95, 99, 103, 107, 111, 115, 119, 123, 127, 3,  7,  11, 15, 19, 23, 27, 31, 35, 39, 43, 47,
      51, 55, 59, 63, 67, 71, 75, 79, 83, 87, 91, 95, 99, 103, 107, 111, 115, 119, 123, 127};
  const __m512i idx = _mm512_load_si512(kIdx);
  __m512i st[kAvx512V];
  const __m512i s0 = _mm512_set1_epi32(static_cast<int>(state));
#pragma GCC unroll 16
  for (int v = 0; v < kAvx512V; ++v)
    st[v] = _mm512_add_epi32(_mm512_mullo_epi32(s0, _mm512_loadu_si512(kAvx512Lanes.mul + 16 * v)),
                             _mm512_loadu_si512(kAvx512Lanes.add + 16 * v));
  const __m512i ja = _mm512_set1_epi32(static_cast<int>(kAvx512Jump.a));
  const __m512i jc = _mm512_set1_epi32(static_cast<int>(kAvx512Jump.c));
  const size_t full = (n - 1) / kAvx512L;
  for (size_t r = 0; r < full; ++r, out += kAvx512L) {
#pragma GCC unroll 4
    for (int g = 0; g < kAvx512V / 4; ++g)
      _mm512_storeu_si512(out + 64 * g, avx512_pack(st[4 * g], st[4 * g + 1], st[4 * g + 2], st[4 * g + 3], idx));
#pragma GCC unroll 16
    for (int v = 0; v < kAvx512V; ++v) st[v] = _mm512_add_epi32(_mm512_mullo_epi32(st[v], ja), jc);
  }
  const size_t t = n - full * kAvx512L;  // 1..L
  alignas(64) uint8_t bytes[kAvx512L];
  alignas(64) uint32_t lanes[kAvx512L];
#pragma GCC unroll 4
  for (int g = 0; g < kAvx512V / 4; ++g)
    _mm512_store_si512(bytes + 64 * g, avx512_pack(st[4 * g], st[4 * g + 1], st[4 * g + 2], st[4 * g + 3], idx));
#pragma GCC unroll 16
  for (int v = 0; v < kAvx512V; ++v) _mm512_store_si512(lanes + 16 * v, st[v]);
  std::memcpy(out, bytes, t);
  state = lanes[t - 1];  // positions are in slot order
}
#undef XFA_AVX512
#endif  // XFA_LCG_X86

using FillFn = void (*)(uint32_t&, uint8_t*, size_t);

FillFn pick_fill() {
#ifdef XFA_LCG_X86
  __builtin_cpu_init();
  if (const char* e = std::getenv("XFA_LCG_KERNEL")) {  // for benchmarks and tests only
    if (!std::strcmp(e, "portable")) return fill_portable;
    if (!std::strcmp(e, "avx2") && __builtin_cpu_supports("avx2")) return fill_avx2;
  }
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vbmi"))
    return fill_avx512;
  if (__builtin_cpu_supports("avx2")) return fill_avx2;
#endif
  return fill_portable;
}

}  // namespace

void lcg_fill(uint32_t& state, uint8_t* out, size_t n) {
  if (n < 32) return fill_scalar(state, out, n);
  static const FillFn fill = pick_fill();
  fill(state, out, n);
}

uint32_t lcg_skip(uint32_t state, uint64_t n) {
  Jump acc{1, 0}, p{kA, kC};
  while (n) {
    if (n & 1) acc = compose(acc, p);
    p = compose(p, p);
    n >>= 1;
  }
  return acc.a * state + acc.c;
}

}  // namespace xfa
