// Standalone correctness check and micro-benchmark for the byte kernels of csrc/core:
// lcg_fill (Amanda's simpleprng), crc32c_update and fletcher32 (mux packets). Not part of the
// CMake build:
//
//   g++ -O2 -I csrc/core -I csrc/include bench/native/kernels_bench.cc csrc/core/lcg.cc
//       csrc/core/crc32c.cc csrc/core/fletcher32.cc -o /tmp/kernels_bench
//   /tmp/kernels_bench check          # vectors + random lengths/offsets/splits vs bytewise reference
//   /tmp/kernels_bench bench [runs]   # MB/s medians, 256 KiB buffers (also 4 KiB and 1 MiB)
//
// To compare with an older version, compile the same file against the older .cc files (e.g.
// extracted with `git show REV:csrc/core/lcg.cc`) and run both binaries back to back: the clock
// of this host wanders, only ratios from the same run are meaningful.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "crc32c.h"
#include "fletcher32.h"
#include "lcg.h"

using namespace xfa;

namespace {

// ---- references: one byte (one bit) at a time ----
void ref_lcg(uint32_t& s, uint8_t* out, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    s = 1664525u * s + 1013904223u;
    out[i] = static_cast<uint8_t>(s >> 24);
  }
}
uint32_t ref_crc_update(uint32_t c, const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    c ^= p[i];
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
  }
  return c;
}

uint32_t ref_fletcher(const uint8_t* p, size_t n) {
  uint32_t s1 = 0, s2 = 0;
  for (size_t i = 0; i < n; i += 2) {
    const uint32_t w = p[i] | (i + 1 < n ? uint32_t{p[i + 1]} << 8 : 0u);
    s1 = (s1 + w) % 65535;
    s2 = (s2 + s1) % 65535;
  }
  return (s2 << 16) | s1;
}

int failures = 0;
void expect(bool ok, const std::string& what) {
  if (!ok) {
    ++failures;
    if (failures < 20) std::fprintf(stderr, "FAIL: %s\n", what.c_str());
  }
}

int check() {
  std::mt19937_64 rng(12345);
  // LCG vectors.
  {
    uint32_t s = 42;
    uint8_t b[8];
    lcg_fill(s, b, 8);
    const uint8_t want[8] = {0x40, 0x16, 0x93, 0x38, 0x60, 0x06, 0x72, 0x1e};
    expect(std::memcmp(b, want, 8) == 0, "lcg seed 42 first 8 bytes");
    std::vector<uint8_t> m(1 << 20);
    s = 42;
    lcg_fill(s, m.data(), m.size());
    expect(crc_hex(crc32c(m.data(), m.size())) == "690c765b", "lcg 1 MiB seed 42 crc32c 690c765b");
    expect(s == lcg_skip(42, m.size()), "lcg state after 1 MiB == lcg_skip");
  }
  // LCG: every length 0..1100 and random lengths, random seeds, offsets, chunkings.
  {
    std::vector<uint8_t> a(1 << 21), b(1 << 21);
    auto one = [&](uint32_t seed, size_t off, size_t n) {
      uint32_t s1 = seed, s2 = seed;
      std::memset(a.data(), 0xAA, off + n + 64);
      std::memset(b.data(), 0xAA, off + n + 64);
      lcg_fill(s1, a.data() + off, n);
      ref_lcg(s2, b.data() + off, n);
      expect(s1 == s2 && std::memcmp(a.data(), b.data(), off + n + 64) == 0,
             "lcg n=" + std::to_string(n) + " off=" + std::to_string(off) + " seed=" + std::to_string(seed));
      expect(lcg_skip(seed, n) == s2, "lcg_skip n=" + std::to_string(n));
    };
    for (size_t n = 0; n <= 1100; ++n) one(static_cast<uint32_t>(rng()), rng() % 64, n);
    for (int it = 0; it < 400; ++it) one(static_cast<uint32_t>(rng()), rng() % 64, rng() % (1 << 20));
    // Consecutive chunks, fixed sizes from the brief and random ones, must equal one fill.
    const size_t total = (1 << 20) + 12345;
    std::vector<uint8_t> whole(total);
    for (size_t chunk : {size_t{1}, size_t{7}, size_t{15}, size_t{16}, size_t{17}, size_t{31}, size_t{63},
                         size_t{64}, size_t{65}, size_t{255}, size_t{257}, size_t{4095}, size_t{4096},
                         size_t{262144}, size_t{0}}) {
      uint32_t seed = static_cast<uint32_t>(rng()) | 1u;
      uint32_t sw = seed;
      lcg_fill(sw, whole.data(), total);
      std::vector<uint8_t> parts(total);
      uint32_t sp = seed;
      size_t pos = 0;
      while (pos < total) {
        size_t k = chunk ? chunk : 1 + rng() % 9000;  // chunk 0: random sizes
        k = std::min(k, total - pos);
        lcg_fill(sp, parts.data() + pos, k);
        pos += k;
      }
      expect(sp == sw && parts == whole, "lcg chunked fill, chunk=" + std::to_string(chunk));
    }
  }
  // CRC32C vectors.
  expect(crc_hex(crc32c("hello", 5)) == "9a71bb4c", "crc32c(hello)");
  expect(crc_hex(crc32c("123456789", 9)) == "e3069283", "crc32c(123456789)");
  expect(crc32c("", 0) == 0, "crc32c(empty)");
  // CRC32C: every length 0..1100 and random lengths/offsets/initial states; random splits.
  {
    std::vector<uint8_t> d((1 << 21) + 64);
    for (auto& x : d) x = static_cast<uint8_t>(rng());
    auto one = [&](size_t off, size_t n, uint32_t init) {
      uint32_t got = crc32c_update(init, d.data() + off, n);
      uint32_t want = ref_crc_update(init, d.data() + off, n);
      expect(got == want, "crc n=" + std::to_string(n) + " off=" + std::to_string(off));
    };
    for (size_t n = 0; n <= 1100; ++n) one(rng() % 64, n, static_cast<uint32_t>(rng()));
    for (size_t n : {size_t{24576}, size_t{24575}, size_t{24577}, size_t{768}, size_t{767}, size_t{769},
                     size_t{3 * 8192 * 3 + 768 * 5 + 7}, size_t{262144}, size_t{1 << 20}, size_t{(1 << 21)}})
      one(rng() % 64, n, static_cast<uint32_t>(rng()));
    for (int it = 0; it < 300; ++it) one(rng() % 64, rng() % (1 << 21), static_cast<uint32_t>(rng()));
    for (int it = 0; it < 300; ++it) {
      size_t off = rng() % 64, n = rng() % (1 << 20);
      uint32_t c = crc32c_init();
      size_t pos = 0;
      while (pos < n) {
        size_t k = std::min<size_t>(n - pos, (rng() & 1) ? rng() % 64 : rng() % 100000);
        c = crc32c_update(c, d.data() + off + pos, k);
        pos += k;
      }
      expect(crc32c_final(c) == crc32c(d.data() + off, n), "crc split n=" + std::to_string(n));
      expect(c == ref_crc_update(crc32c_init(), d.data() + off, n), "crc split vs ref n=" + std::to_string(n));
    }
  }
  // Fletcher-32: vectors, every length 0..1100, random lengths/offsets, 0xff runs, random splits.
  {
    expect(fletcher32("abcde", 5) == 0xF04FC729u && fletcher32("abcdef", 6) == 0x56502D2Au &&
               fletcher32("abcdefgh", 8) == 0xEBE19591u && fletcher32("", 0) == 0,
           "fletcher32 vectors");
    std::vector<uint8_t> d((1 << 21) + 64);
    for (auto& x : d) x = static_cast<uint8_t>(rng());
    for (size_t n = 0; n <= 1100; ++n) {
      const size_t off = rng() % 64;
      expect(fletcher32(d.data() + off, n) == ref_fletcher(d.data() + off, n), "fletcher n=" + std::to_string(n));
    }
    for (int it = 0; it < 100; ++it) {
      const size_t off = rng() % 64, n = rng() % (1 << 21);
      expect(fletcher32(d.data() + off, n) == ref_fletcher(d.data() + off, n), "fletcher n=" + std::to_string(n));
    }
    std::vector<uint8_t> ff(3 << 20, 0xff);
    expect(fletcher32(ff.data(), ff.size()) == ref_fletcher(ff.data(), ff.size()), "fletcher 0xff run");
    for (int it = 0; it < 200; ++it) {
      const size_t off = rng() % 64, n = rng() % (1 << 20);
      Fletcher32 f;
      for (size_t pos = 0; pos < n;) {
        const size_t k = std::min<size_t>(n - pos, (rng() & 1) ? rng() % 64 : rng() % 100000);
        f.update(d.data() + off + pos, k);
        pos += k;
      }
      expect(f.value() == ref_fletcher(d.data() + off, n), "fletcher split n=" + std::to_string(n));
    }
  }
  std::printf("check: %s (hw crc: %d)\n", failures ? "FAILED" : "ok", crc32c_hardware() ? 1 : 0);
  return failures ? 1 : 0;
}

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

template <class F>
double mbps(F&& f, size_t bytes_per_call) {
  // Repeat for ~0.25 s after a short warm-up.
  for (int i = 0; i < 20; ++i) f();
  size_t calls = 0;
  double t0 = now(), t;
  do {
    for (int i = 0; i < 16; ++i) f();
    calls += 16;
    t = now();
  } while (t - t0 < 0.25);
  return static_cast<double>(calls) * static_cast<double>(bytes_per_call) / (t - t0) / 1e6;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

volatile uint32_t sink;

int bench(int runs) {
  std::vector<uint8_t> buf((1 << 20) + 64);
  for (size_t sz : {size_t{4096}, size_t{262144}, size_t{1 << 20}}) {
    std::vector<double> lcg, crc, fl;
    uint32_t st = 42;
    lcg_fill(st, buf.data(), buf.size());
    for (int r = 0; r < runs; ++r) {
      lcg.push_back(mbps([&] { lcg_fill(st, buf.data(), sz); }, sz));
      crc.push_back(mbps([&] { sink = crc32c_update(sink, buf.data(), sz); }, sz));
      fl.push_back(mbps([&] { sink = fletcher32(buf.data(), sz); }, sz));
    }
    std::printf("size %7zu  fletcher32 %8.0f MB/s (median of %d)\n", sz, median(fl), runs);
    std::printf("size %7zu  lcg_fill %8.0f MB/s   crc32c %8.0f MB/s   (median of %d; lcg min/max %.0f/%.0f, crc %.0f/%.0f)\n",
                sz, median(lcg), median(crc), runs, *std::min_element(lcg.begin(), lcg.end()),
                *std::max_element(lcg.begin(), lcg.end()), *std::min_element(crc.begin(), crc.end()),
                *std::max_element(crc.begin(), crc.end()));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "check";
  if (mode == "check") return check();
  if (mode == "bench") return bench(argc > 2 ? std::atoi(argv[2]) : 5);
  std::fprintf(stderr, "usage: %s check|bench [runs]\n", argv[0]);
  return 2;
}
