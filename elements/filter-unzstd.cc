// filter-unzstd: zstd decompression in-process. Decodes any sequence of zstd frames and skippable
// frames (CLI output, multi-frame output of filter-zstd workers=N, seekable streams), verifying
// each frame's content checksum when it has one.
//
// Frames become slices (frame-slices=true): each non-empty data frame's output is one slice
// (numbered from 0), its last block marked, with a `slice` message mapping the frame's compressed
// range to its output range — so a seekable stream keeps its slices through a restore. A seek
// table (a 0x184D2A5E skippable frame ending with 0x8F92EAB1) is checked against the frames that
// precede it (back to the previous table) when verify-seek-table is set.
//
// Errors name the input offset: `frame 3 at input offset 12345: Data corruption detected (input
// byte 12400)`; input that ends inside a frame is reported as truncated; an empty input is an
// error, as with `zstd -d`. Single-threaded (StreamFilter: on its own thread or its neighbour's).
#include <zstd.h>
#include <zstd_errors.h>

#include <cstring>
#include <string>

#include "stream_filter.h"
#include "xfa/element.h"
#include "zstd_seek_table.h"

namespace xfa {
namespace {

// Seek tables are small (12 bytes a frame); one larger than this is skipped, not verified.
constexpr size_t kMaxTableCapture = 64u << 20;

uint32_t le32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
         static_cast<uint32_t>(p[3]) << 24;
}

class FilterUnzstd final : public StreamFilter {
 public:
  explicit FilterUnzstd(const Props& p)
      : StreamFilter("filter-unzstd"), frame_slices_(p.get_bool("frame-slices", true)),
        verify_table_(p.get_bool("verify-seek-table", true)), capturing_(verify_table_) {}
  ~FilterUnzstd() override { ZSTD_freeDCtx(dctx_); }

  Status setup() override {
    dctx_ = ZSTD_createDCtx();
    if (!dctx_) return plain_error("setup", "cannot allocate a zstd decompression context");
    return ok();
  }

  void close() override {
    StreamFilter::close();
    ZSTD_freeDCtx(dctx_);
    dctx_ = nullptr;
  }

 protected:
  void consume(const Block& b) override {
    if (bad_) return;
    ZSTD_inBuffer in{b.data(), b.size(), 0};
    for (;;) {
      size_t room_n = 0;
      uint8_t* dst = room(&room_n);
      ZSTD_outBuffer out{dst, room_n, 0};
      const size_t before = in.pos;
      const size_t r = ZSTD_decompressStream(dctx_, &out, &in);
      track(b.data() + before, in.pos - before);
      commit(out.pos);
      frame_out_ += out.pos;
      if (ZSTD_isError(r)) return corrupt(r);
      if (r == 0 && !end_frame()) return;
      const bool out_full = out.pos == out.size;
      if (in.pos == in.size && !out_full) break;
    }
  }

  void finish() override {
    if (bad_) return;
    if (frame_in_ > 0) {
      fail(plain_error("decompress", "truncated input: it ends inside the frame at input offset " +
                                         std::to_string(frame_start_) + " (" + std::to_string(frame_in_) +
                                         " bytes of it read)"));
    } else if (in_total_ == 0) {
      fail(plain_error("decompress", "empty input: not a zstd stream"));
    }
  }

 private:
  // Bookkeeping on the bytes ZSTD_decompressStream consumed: offsets, the frame's first bytes (its
  // kind), its last 4 bytes (the content checksum), and a seek table's bytes.
  void track(const uint8_t* p, size_t n) {
    in_total_ += n;
    frame_in_ += n;
    if (hdr_len_ < sizeof hdr_) {
      const size_t k = std::min(n, sizeof hdr_ - hdr_len_);
      std::memcpy(hdr_ + hdr_len_, p, k);
      hdr_len_ += k;
    }
    if (n >= 4) {
      std::memcpy(last4_, p + n - 4, 4);
    } else if (n > 0) {
      std::memmove(last4_, last4_ + n, 4 - n);
      std::memcpy(last4_ + 4 - n, p, n);
    }
    if (!capturing_) return;
    const bool maybe_table = hdr_len_ < 4 || le32(hdr_) == zstd_seek::kSkippableMagic;
    if (maybe_table && capture_.size() + n <= kMaxTableCapture) {
      capture_.insert(capture_.end(), p, p + n);
    } else {
      capturing_ = false;
      capture_.clear();
      capture_.shrink_to_fit();
    }
  }

  // A frame ended (decoded and flushed). false after a failure.
  bool end_frame() {
    const uint32_t magic = le32(hdr_);
    const bool skippable = (magic & 0xFFFFFFF0u) == 0x184D2A50u;
    bool ok_so_far = true;
    if (skippable) {
      if (is_table()) {
        ok_so_far = verify_table();
        seen_.clear();
      } else {
        seen_.push_back({frame_in_, 0, false, 0});
      }
    } else {
      const bool has_check = hdr_len_ > 4 && (hdr_[4] & 0x04) != 0;
      seen_.push_back({frame_in_, frame_out_, has_check, le32(last4_)});
      if (frame_slices_ && frame_out_ > 0) {
        end_slice(slice_);
        post_slice(slice_, frame_start_, frame_in_, out_total() - frame_out_, frame_out_);
        ++slice_;
      }
      ++frames_;
    }
    frame_start_ = in_total_;
    frame_in_ = frame_out_ = 0;
    hdr_len_ = 0;
    capture_.clear();
    capturing_ = verify_table_;
    return ok_so_far;
  }

  bool is_table() const {
    return capturing_ && le32(hdr_) == zstd_seek::kSkippableMagic && capture_.size() == frame_in_ &&
           capture_.size() >= zstd_seek::kHeaderSize + zstd_seek::kFooterSize &&
           le32(capture_.data() + capture_.size() - 4) == zstd_seek::kSeekableMagic;
  }

  bool verify_table() {
    zstd_seek::Table t;
    std::string err;
    const std::string where = "seek table at input offset " + std::to_string(frame_start_);
    if (!zstd_seek::parse(capture_.data(), capture_.size(), &t, &err)) return bad(where + ": " + err);
    if (t.entries.size() != seen_.size())
      return bad(where + " lists " + std::to_string(t.entries.size()) + " frames, but " + std::to_string(seen_.size()) +
                 " precede it");
    uint64_t off = frame_start_;
    for (const Seen& s : seen_) off -= s.in;
    for (size_t i = 0; i < seen_.size(); ++i) {
      const zstd_seek::Entry& e = t.entries[i];
      const Seen& s = seen_[i];
      const std::string entry = where + ", entry " + std::to_string(i) + " (frame at offset " + std::to_string(off) + ")";
      if (e.compressed != s.in)
        return bad(entry + ": compressed size " + std::to_string(e.compressed) + ", the frame has " + std::to_string(s.in));
      if (e.decompressed != s.out)
        return bad(entry + ": decompressed size " + std::to_string(e.decompressed) + ", the frame has " +
                   std::to_string(s.out));
      if (t.checksums && s.has_check && e.checksum != s.check)
        return bad(entry + ": checksum mismatch");
      off += s.in;
    }
    return true;
  }

  bool bad(const std::string& detail) {
    bad_ = true;
    fail(plain_error("verify", detail));
    return false;
  }

  void corrupt(size_t r) {
    bad_ = true;
    const std::string what = ZSTD_getErrorCode(r) == ZSTD_error_prefix_unknown
                                 ? std::string("not zstd data (") + ZSTD_getErrorName(r) + ")"
                                 : ZSTD_getErrorName(r);
    fail(plain_error("decompress", "frame " + std::to_string(frames_) + " at input offset " + std::to_string(frame_start_) +
                                       ": " + what + " (input byte " + std::to_string(in_total_) + ")"));
  }

  struct Seen {
    uint64_t in, out;
    bool has_check;
    uint32_t check;
  };

  const bool frame_slices_;
  const bool verify_table_;
  ZSTD_DCtx* dctx_ = nullptr;
  bool bad_ = false;
  uint64_t in_total_ = 0;
  uint64_t frame_start_ = 0, frame_in_ = 0, frame_out_ = 0;
  uint64_t frames_ = 0, slice_ = 0;
  uint8_t hdr_[8] = {};
  size_t hdr_len_ = 0;
  uint8_t last4_[4] = {};
  std::vector<uint8_t> capture_;
  bool capturing_;
  std::vector<Seen> seen_;  // frames since the previous seek table
};

const bool registered = register_element({
    "filter-unzstd",
    "filter",
    "Decompresses zstd in-process (any frames, seekable streams)",
    "Decodes a zstd stream: any number of frames and skippable frames, as written by `zstd`, by filter-zstd "
    "in every mode, or by other seekable-format writers; frame checksums are verified. With frame-slices "
    "each data frame's output becomes one slice with a `slice` message (compressed range → output range). "
    "With verify-seek-table a seekable-format seek table is checked against the frames before it. Corrupt, "
    "truncated or non-zstd input fails with the input offset.",
    {{"frame-slices", PropType::kBool, "true", 0, -1, false, "each frame's output is one slice"},
     {"verify-seek-table", PropType::kBool, "true", 0, -1, false, "check seek tables against the frames"}},
    StreamFilter::pairs(),
    "source-file path=/tmp/disk.tar.zst ! filter-unzstd ! dest-file path=/tmp/disk.tar",
    [](const Props& p) { return std::make_unique<FilterUnzstd>(p); },
});

}  // namespace
}  // namespace xfa
