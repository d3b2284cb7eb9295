#include "lcg.h"

namespace xfa {

namespace {
constexpr uint32_t kA = 1664525u;
constexpr uint32_t kC = 1013904223u;
constexpr int kLanes = 16;

struct Jump {
  uint32_t a, c;  // s -> a*s + c
};
constexpr Jump compose(Jump f, Jump g) { return {g.a * f.a, g.a * f.c + g.c}; }  // g after f
constexpr Jump jump16() {
  Jump j{1, 0};
  for (int i = 0; i < kLanes; ++i) j = compose(j, {kA, kC});
  return j;
}
constexpr Jump kJ16 = jump16();

__attribute__((target_clones("avx2", "default"))) void fill_lanes(uint32_t* lane, uint8_t* out, size_t rounds) {
  for (size_t r = 0; r < rounds; ++r) {
    for (int j = 0; j < kLanes; ++j) out[r * kLanes + j] = static_cast<uint8_t>(lane[j] >> 24);
    for (int j = 0; j < kLanes; ++j) lane[j] = kJ16.a * lane[j] + kJ16.c;
  }
}
}  // namespace

void lcg_fill(uint32_t& state, uint8_t* out, size_t n) {
  size_t i = 0;
  const size_t rounds = n / kLanes;
  if (rounds > 0) {
    uint32_t lane[kLanes];
    uint32_t s = state;
    for (int j = 0; j < kLanes; ++j) lane[j] = s = kA * s + kC;
    fill_lanes(lane, out, rounds);
    i = rounds * kLanes;
    state = lcg_skip(state, i);
  }
  uint32_t s = state;
  for (; i < n; ++i) {
    s = kA * s + kC;
    out[i] = static_cast<uint8_t>(s >> 24);
  }
  state = s;
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
