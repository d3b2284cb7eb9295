// The zstd seekable format's seek table (zstd's contrib/seekable_format, version 0.1.0): a
// skippable frame at the very end of a stream that lists every frame's compressed and
// decompressed size, so a reader can find the frame that holds any uncompressed offset.
//
//   0x184D2A5E  Frame_Size  { Compressed_Size Decompressed_Size [Checksum] } ×n  Footer
//   Footer:     Number_Of_Frames (4)  Descriptor (1: bit 7 checksums, bits 6-2 reserved = 0)
//               0x8F92EAB1
// All fields little-endian. Checksum = low 32 bits of XXH64 of the frame's uncompressed bytes,
// which is exactly a zstd frame's own content checksum (its last 4 bytes).
//
// Used by filter-zstd (build) and filter-unzstd (verify); src/slice-index.ts reads the same format
// from a stored stream's tail. Pure functions, any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace xfa {
namespace zstd_seek {

constexpr uint32_t kSkippableMagic = 0x184D2A5E;  // ZSTD_MAGIC_SKIPPABLE_START | 0xE
constexpr uint32_t kSeekableMagic = 0x8F92EAB1;
constexpr size_t kFooterSize = 9;
constexpr size_t kHeaderSize = 8;  // skippable magic + Frame_Size
constexpr uint32_t kMaxFrames = 0x8000000U;
// Largest decompressed size of one frame that zstd's own seekable library writes; its compressed
// bound still fits Compressed_Size's 32 bits.
constexpr uint64_t kMaxFrameDecompressed = 0x40000000U;

struct Entry {
  uint32_t compressed = 0;
  uint32_t decompressed = 0;
  uint32_t checksum = 0;  // meaningful only when the table has checksums
};

struct Table {
  bool checksums = false;
  std::vector<Entry> entries;
};

// Serialises a complete seek-table frame (header, entries, footer).
std::vector<uint8_t> build(const Table& t);

// Size in bytes of the whole seek-table frame that ends with `footer` (the stream's last 9 bytes),
// or 0 with `err` set when those bytes are no seek-table footer.
size_t frame_size_from_footer(const uint8_t* footer, std::string* err);

// Parses a whole seek-table frame (as built above; `n` bytes). false with `err` set — a sentence
// naming the field — when anything is inconsistent.
bool parse(const uint8_t* data, size_t n, Table* out, std::string* err);

}  // namespace zstd_seek
}  // namespace xfa
