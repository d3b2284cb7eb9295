#include "crc32c.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace xfa {

namespace {

struct Tables {
  uint32_t t[8][256];
  Tables() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
      t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; ++i)
      for (int s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFF];
  }
};

const Tables& tables() {
  static const Tables tb;
  return tb;
}

uint32_t update_table(uint32_t c, const uint8_t* p, size_t n) {
  const auto& t = tables().t;
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    w ^= c;
    c = t[7][w & 0xFF] ^ t[6][(w >> 8) & 0xFF] ^ t[5][(w >> 16) & 0xFF] ^ t[4][(w >> 24) & 0xFF] ^
        t[3][(w >> 32) & 0xFF] ^ t[2][(w >> 40) & 0xFF] ^ t[1][(w >> 48) & 0xFF] ^ t[0][w >> 56];
    p += 8;
    n -= 8;
  }
  while (n--) c = (c >> 8) ^ t[0][(c ^ *p++) & 0xFF];
  return c;
}

// Shifting a CRC state over n zero bytes is linear over GF(2): shift(c) = XOR of shift(bit i) over
// the set bits of c. Tabulated per byte of c for the two block lengths the 3-way loop uses.
struct ShiftTable {
  uint32_t t[4][256];
  uint32_t operator()(uint32_t c) const {
    return t[0][c & 0xFF] ^ t[1][(c >> 8) & 0xFF] ^ t[2][(c >> 16) & 0xFF] ^ t[3][c >> 24];
  }
};

using Basis = uint32_t[32];  // images of the 32 single-bit states

uint32_t apply(const Basis& b, uint32_t c) {
  uint32_t r = 0;
  for (int i = 0; c; ++i, c >>= 1)
    if (c & 1) r ^= b[i];
  return r;
}

// shift over 2^log2n zero bytes, by squaring the one-byte operator.
void zeros_basis(Basis& out, int log2n) {
  const auto& t0 = tables().t[0];
  for (int i = 0; i < 32; ++i) {
    const uint32_t c = 1u << i;
    out[i] = (c >> 8) ^ t0[c & 0xFF];
  }
  for (int k = 0; k < log2n; ++k) {
    Basis sq;
    for (int i = 0; i < 32; ++i) sq[i] = apply(out, out[i]);
    std::memcpy(out, sq, sizeof sq);
  }
}

void make_shift(ShiftTable& st, int log2n) {
  Basis b;
  zeros_basis(b, log2n);
  for (int k = 0; k < 4; ++k)
    for (uint32_t v = 0; v < 256; ++v) st.t[k][v] = apply(b, v << (8 * k));
}

constexpr int kLongLog2 = 13, kShortLog2 = 8;
constexpr size_t kLong = size_t{1} << kLongLog2;    // bytes per stream in a long block (3 x 8 KiB)
constexpr size_t kShort = size_t{1} << kShortLog2;  // bytes per stream in a short block (3 x 256)

struct Shifts {
  ShiftTable lng, shrt;
  Shifts() {
    make_shift(lng, kLongLog2);
    make_shift(shrt, kShortLog2);
  }
};

const Shifts& shifts() {
  static const Shifts s;
  return s;
}

// The crc32 instruction has a latency of 3 cycles and a throughput of 1 per cycle: one stream
// runs at a third of what the unit can do. Three streams over the three thirds of a block run
// side by side (the second and third start from state 0), then combine by linearity:
//   crc(s, A B C) = shift_{2n}(crc(s, A)) ^ shift_n(crc(0, B)) ^ crc(0, C),  |A| = |B| = |C| = n.
__attribute__((target("sse4.2"))) inline uint64_t crc_blocks3(uint64_t c0, const uint8_t*& p, size_t& n, size_t len,
                                                            const ShiftTable& shift) {
  while (n >= 3 * len) {
    uint64_t c1 = 0, c2 = 0;
    const uint8_t* q = p;
    const uint8_t* end = p + len;
    do {
      uint64_t w0, w1, w2;
      std::memcpy(&w0, q, 8);
      std::memcpy(&w1, q + len, 8);
      std::memcpy(&w2, q + 2 * len, 8);
      c0 = __builtin_ia32_crc32di(c0, w0);
      c1 = __builtin_ia32_crc32di(c1, w1);
      c2 = __builtin_ia32_crc32di(c2, w2);
      q += 8;
    } while (q != end);
    c0 = shift(shift(static_cast<uint32_t>(c0)) ^ static_cast<uint32_t>(c1)) ^ static_cast<uint32_t>(c2);
    p += 3 * len;
    n -= 3 * len;
  }
  return c0;
}

__attribute__((target("sse4.2"))) uint32_t update_hw(uint32_t c, const uint8_t* p, size_t n) {
  uint64_t c64 = c;
  if (n >= 3 * kShort) {
    const Shifts& sh = shifts();
    c64 = crc_blocks3(c64, p, n, kLong, sh.lng);
    c64 = crc_blocks3(c64, p, n, kShort, sh.shrt);
  }
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    c64 = __builtin_ia32_crc32di(c64, w);
    p += 8;
    n -= 8;
  }
  c = static_cast<uint32_t>(c64);
  while (n--) c = __builtin_ia32_crc32qi(c, *p++);
  return c;
}

bool detect_hw() {
  if (const char* e = std::getenv("XFA_CRC32C_KERNEL"); e && !std::strcmp(e, "table")) return false;  // tests
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2");
}

}  // namespace

bool crc32c_hardware() {
  static const bool hw = detect_hw();
  return hw;
}

uint32_t crc32c_update(uint32_t state, const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  return crc32c_hardware() ? update_hw(state, p, n) : update_table(state, p, n);
}

std::string crc_hex(uint32_t crc) {
  char b[9];
  std::snprintf(b, sizeof b, "%08x", crc);
  return b;
}

}  // namespace xfa
