// Fletcher-32, the checksum of every multiplexed packet (csrc/core/mux_format.h).
//
// Definition (xfa's, fixed; the TypeScript reference is test/elements/mux-format.ts):
//   - the data is read as 16-bit LITTLE-ENDIAN words; an odd trailing byte is a word whose low
//     byte is that byte and whose high byte is 0;
//   - s1 = s2 = 0; for each word w: s1 = (s1 + w) mod 65535, s2 = (s2 + s1) mod 65535;
//   - the checksum is (s2 << 16) | s1, with both sums fully reduced (0..65534).
// So fletcher32("") = 0, fletcher32("abcde") = 0xF04FC729, fletcher32("abcdef") = 0x56502D2A
// (the usual published vectors).
//
// Streaming: Fletcher32 keeps the sums and a pending odd byte, so data may arrive split at any
// byte; the result equals the one-shot value. It is on the data path (the mux checksums every
// payload on the branch's thread, the demux verifies the chosen streams): the kernel takes a run
// of words at a time with 64-bit sums, 8 words per step with no dependency between steps, and
// reduces once per 1 Mi words. bench/native/kernels_bench.cc measures it ("fletcher32").
// Pure; any thread.
#pragma once

#include <cstddef>
#include <cstdint>

namespace xfa {

class Fletcher32 {
 public:
  void update(const void* data, size_t n);
  uint32_t value() const;
  void reset() { *this = Fletcher32(); }

 private:
  uint64_t s1_ = 0;
  uint64_t s2_ = 0;
  bool odd_ = false;     // a byte is waiting for its high half
  uint8_t pending_ = 0;  // that byte
};

inline uint32_t fletcher32(const void* data, size_t n) {
  Fletcher32 f;
  f.update(data, n);
  return f.value();
}

}  // namespace xfa
