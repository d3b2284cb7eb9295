// The multiplexed stream: what `mux` writes and `demux` reads (DESIGN.md §5, Burt's engine).
//
// A multiplexed stream is a sequence of packets, nothing else: no file header of its own (a
// device adds its Amanda header around it). Every packet is a 32-byte header followed by
// `length` payload bytes. All integers are LITTLE-ENDIAN.
//
//   offset size field
//    0     4   magic     the bytes "XFAM" (0x58 0x46 0x41 0x4d)
//    4     1   version   1
//    5     1   flags     bit 0 EOS (the stream's last packet), bit 1 ABORTED (the stream ends
//                        here because its source failed or was cancelled: what came before is
//                        all there is), bit 2 MAP (the payload is the stream map); other bits 0
//    6     2   reserved  0
//    8     4   stream    stream id; 0 is the stream map, data streams are 1..N
//   12     4   length    payload bytes, at most kMaxPayload (16 MiB)
//   16     8   sequence  per stream: 0, 1, 2, ... (a gap is an error)
//   24     4   checksum  Fletcher-32 of the payload (csrc/core/fletcher32.h)
//   28     4   hcheck    Fletcher-32 of header bytes 0..27
//
// Order: the first packet is the stream map (stream 0, flags MAP|EOS, sequence 0): UTF-8 JSON
//   {"format":"xfa-mux","version":1,"streams":[{"id":1,"host":"db1","disk":"/var",
//     "level":0,"program":"tar","label":"source-process#1"}, ...]}
// (host/disk/level/program are present when given, label is the branch's first element). Then
// data packets of the streams in whatever order their data arrived; a stream ends with exactly one
// packet flagged EOS (normally empty) or ABORTED (always empty). A stream may end without
// any data packet. The multiplexed stream is complete when every stream of the map has ended.
//
// Checking (demux): every header is checked whole — magic, version, flags, reserved, hcheck,
// length, a known stream id, the sequence — so a damaged header is reported at its own offset.
// Payloads are verified (checksum) for the map and the chosen streams only; the payloads of
// streams not chosen are skipped without being read into a checksum.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace xfa::mux {

constexpr uint8_t kMagic[4] = {'X', 'F', 'A', 'M'};
constexpr uint8_t kVersion = 1;
constexpr size_t kHeaderSize = 32;
constexpr uint32_t kMaxPayload = 16u << 20;

enum Flags : uint8_t { kEos = 1, kAborted = 2, kMap = 4, kKnownFlags = 7 };

struct PacketHeader {
  uint8_t flags = 0;
  uint32_t stream = 0;
  uint32_t length = 0;
  uint64_t sequence = 0;
  uint32_t checksum = 0;  // of the payload
};

// Writes the 32 header bytes (hcheck computed here).
void encode_header(const PacketHeader& h, uint8_t out[kHeaderSize]);

// Checks and decodes 32 header bytes; "" when well formed, else what is wrong
// ("bad magic 00 00 00 00", "header checksum 1234abcd, computed 0badf00d", ...). Does not know
// streams or sequences: the demux checks those.
std::string decode_header(const uint8_t in[kHeaderSize], PacketHeader* h);

// "EOS|MAP", "-" for none.
std::string flags_text(uint8_t flags);

// One entry of the stream map. level -1 = not given; empty strings are left out of the JSON.
struct StreamInfo {
  uint32_t id = 0;
  std::string host, disk, program, label;
  int64_t level = -1;
};

// The map packet's payload (see above).
std::string encode_map(const std::vector<StreamInfo>& streams);
// Parses a map payload; "" or what is wrong. Ids must be 1..N, each once, in any order; unknown
// keys are ignored (later versions may add some).
std::string decode_map(const std::string& json, std::vector<StreamInfo>* out);
// "host:disk" entries of `mux map=` (host:disk[:level[:program]]) → StreamInfo; throws
// std::invalid_argument with a sentence.
StreamInfo parse_map_entry(const std::string& text);

}  // namespace xfa::mux
