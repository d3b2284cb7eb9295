#include "zstd_seek_table.h"

#include <cstdio>

namespace xfa {
namespace zstd_seek {
namespace {

void put32(std::vector<uint8_t>& v, uint32_t x) {
  for (int i = 0; i < 4; ++i) v.push_back(static_cast<uint8_t>(x >> (8 * i)));
}

uint32_t get32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
         static_cast<uint32_t>(p[3]) << 24;
}

constexpr uint8_t kChecksumFlag = 0x80;
constexpr uint8_t kReservedBits = 0x7C;

}  // namespace

std::vector<uint8_t> build(const Table& t) {
  const size_t entry = t.checksums ? 12 : 8;
  std::vector<uint8_t> v;
  v.reserve(kHeaderSize + t.entries.size() * entry + kFooterSize);
  put32(v, kSkippableMagic);
  put32(v, static_cast<uint32_t>(t.entries.size() * entry + kFooterSize));
  for (const Entry& e : t.entries) {
    put32(v, e.compressed);
    put32(v, e.decompressed);
    if (t.checksums) put32(v, e.checksum);
  }
  put32(v, static_cast<uint32_t>(t.entries.size()));
  v.push_back(t.checksums ? kChecksumFlag : 0);
  put32(v, kSeekableMagic);
  return v;
}

size_t frame_size_from_footer(const uint8_t* f, std::string* err) {
  if (get32(f + 5) != kSeekableMagic) {
    *err = "no seek table: the stream does not end with the seekable magic number 0x8F92EAB1";
    return 0;
  }
  const uint8_t desc = f[4];
  if (desc & kReservedBits) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02x", desc);
    *err = std::string("seek table: reserved descriptor bits are set (descriptor ") + hex + ")";
    return 0;
  }
  const uint32_t frames = get32(f);
  if (frames > kMaxFrames) {
    *err = "seek table: " + std::to_string(frames) + " frames is more than the format allows";
    return 0;
  }
  const size_t entry = (desc & kChecksumFlag) ? 12 : 8;
  return kHeaderSize + static_cast<size_t>(frames) * entry + kFooterSize;
}

bool parse(const uint8_t* d, size_t n, Table* out, std::string* err) {
  if (n < kHeaderSize + kFooterSize) {
    *err = "seek table: " + std::to_string(n) + " bytes is too short for a seek table";
    return false;
  }
  const size_t want = frame_size_from_footer(d + n - kFooterSize, err);
  if (want == 0) return false;
  if (get32(d) != kSkippableMagic) {
    *err = "seek table: the frame does not start with the skippable magic number 0x184D2A5E";
    return false;
  }
  if (want != n) {
    *err = "seek table: the footer lists " + std::to_string(get32(d + n - kFooterSize)) + " frames (" +
           std::to_string(want) + " bytes) but the table frame is " + std::to_string(n) + " bytes";
    return false;
  }
  if (get32(d + 4) != n - kHeaderSize) {
    *err = "seek table: Frame_Size is " + std::to_string(get32(d + 4)) + " but the table holds " +
           std::to_string(n - kHeaderSize) + " bytes";
    return false;
  }
  out->checksums = (d[n - kFooterSize + 4] & kChecksumFlag) != 0;
  const size_t entry = out->checksums ? 12 : 8;
  const size_t count = (n - kHeaderSize - kFooterSize) / entry;
  out->entries.resize(count);
  for (size_t i = 0; i < count; ++i) {
    const uint8_t* p = d + kHeaderSize + i * entry;
    out->entries[i] = {get32(p), get32(p + 4), out->checksums ? get32(p + 8) : 0};
  }
  return true;
}

}  // namespace zstd_seek
}  // namespace xfa
