#include "fletcher32.h"

#include <cstring>

namespace xfa {

namespace {

constexpr uint64_t kMod = 65535;
// Words per reduction: with s1 < 2^16 + 2^36 and 8-word steps, s2 stays far below 2^64.
constexpr size_t kRun = size_t{1} << 20;

inline uint64_t w16(const uint8_t* p) { return uint64_t{p[0]} | (uint64_t{p[1]} << 8); }

// n words at p; s1/s2 reduced on entry and on return.
void words(uint64_t& s1, uint64_t& s2, const uint8_t* p, size_t n) {
  while (n > 0) {
    const size_t run = n < kRun ? n : kRun;
    size_t i = 0;
    // Eight words per step: s2 += 8*s1 + 8w0 + 7w1 + ... + 1w7; s1 += w0 + ... + w7.
    for (; i + 8 <= run; i += 8) {
      uint64_t a, b;
      std::memcpy(&a, p + 2 * i, 8);
      std::memcpy(&b, p + 2 * i + 8, 8);
      const uint64_t w0 = a & 0xffff, w1 = (a >> 16) & 0xffff, w2 = (a >> 32) & 0xffff, w3 = a >> 48;
      const uint64_t w4 = b & 0xffff, w5 = (b >> 16) & 0xffff, w6 = (b >> 32) & 0xffff, w7 = b >> 48;
      s2 += 8 * s1 + 8 * w0 + 7 * w1 + 6 * w2 + 5 * w3 + 4 * w4 + 3 * w5 + 2 * w6 + w7;
      s1 += w0 + w1 + w2 + w3 + w4 + w5 + w6 + w7;
    }
    for (; i < run; ++i) {
      s1 += w16(p + 2 * i);
      s2 += s1;
    }
    s1 %= kMod;
    s2 %= kMod;
    p += 2 * run;
    n -= run;
  }
}

}  // namespace

void Fletcher32::update(const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  if (n == 0) return;
  if (odd_) {
    s1_ = (s1_ + (uint64_t{pending_} | (uint64_t{p[0]} << 8))) % kMod;
    s2_ = (s2_ + s1_) % kMod;
    odd_ = false;
    ++p;
    --n;
  }
  words(s1_, s2_, p, n / 2);
  if (n % 2) {
    odd_ = true;
    pending_ = p[n - 1];
  }
}

uint32_t Fletcher32::value() const {
  uint64_t s1 = s1_, s2 = s2_;
  if (odd_) {
    s1 = (s1 + pending_) % kMod;
    s2 = (s2 + s1) % kMod;
  }
  return static_cast<uint32_t>((s2 << 16) | s1);
}

}  // namespace xfa
