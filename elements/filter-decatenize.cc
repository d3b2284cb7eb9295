// filter-decatenize: the inverse of filter-catenize. Reads frames sequentially (no index needed:
// each restart marker gives the payload length), runs a fresh `cmd` (the inverse filter, e.g.
// "gzip -dc") per frame, and passes on its output only once the frame is proven sound: payload
// CRC32C, exit status, and output length equal to the slice length the marker records. A restore
// that read only some frames (source-ranges) gives them here back to back; slice numbers must
// increase, which catches swapped or repeated frames. A SliceIndex trailer after the last frame
// ends the stream.
//
// Slices: one output slice per frame, numbered as the frame, its last block marked, one `slice`
// message each (in = the whole frame, marker included).
//
// Threads: pull() on downstream's thread or push() on upstream's; the child is driven from that
// thread (catenize.h). Cancel: the poll wakes, unblock() kills the child, pull() returns EOF, push()
// drops. Errors name the slice and the frame's offset in this element's input.
#include <cstdio>
#include <deque>

#include "catenize.h"

namespace xfa {
namespace {

using catenize::kHeaderSize;

std::string hex8(const uint8_t* p) {
  char s[3 * 8 + 1];
  for (int i = 0; i < 8; ++i) std::snprintf(s + 3 * i, 4, "%02x ", p[i]);
  s[3 * 8 - 1] = 0;
  return s;
}

class FilterDecatenize final : public Element {
 public:
  explicit FilterDecatenize(const Props& p)
      : Element("filter-decatenize"),
        runner_(*this, catenize::command_from(p),
                p.has("ok-exit") ? catenize::parse_exit_codes(p.get_strings("ok-exit")) : std::vector<int>{0}) {}

  MechPairs mech_pairs() const override {
    return {{Mech::kPullBuffer, Mech::kPullBuffer, 1, 0, 0}, {Mech::kPushBuffer, Mech::kPushBuffer, 1, 0, 0}};
  }

  BlockRef pull() override {
    while (out_.empty() && !eof_) {
      BlockRef b = cancelled() ? BlockRef() : upstream()->pull();
      b ? consume(*b) : finish_stream();
    }
    if (out_.empty() || cancelled()) return {};
    BlockRef b = std::move(out_.front());
    out_.pop_front();
    return b;
  }

  void push(BlockRef b) override {
    if (b && (cancelled() || failed_)) return;
    b ? consume(*b) : finish_stream();
    for (auto& o : out_) downstream()->push(std::move(o));
    out_.clear();
    if (!b) downstream()->push({});
  }

  void unblock() override { runner_.kill(); }
  void close() override { runner_.close(); }

 private:
  enum class State { kMarker, kPayload, kTrailer };

  void consume(const Block& b) {
    count_in(b.size());
    const uint8_t* p = b.data();
    size_t n = b.size();
    while (n > 0 && !failed_ && !cancelled()) {
      const size_t k = state_ == State::kMarker ? marker(p, n) : state_ == State::kPayload ? payload(p, n) : n;
      p += k;
      n -= k;
      in_pos_ += k;
    }
  }

  size_t marker(const uint8_t* p, size_t n) {
    const size_t k = std::min(n, kHeaderSize - filled_);
    std::memcpy(hdr_ + filled_, p, k);
    filled_ += k;
    if (filled_ >= 16 && filled_ - k < 16 && std::memcmp(hdr_, catenize::kIndexSkippable, 4) == 0 &&
        std::memcmp(hdr_ + 8, catenize::kIndexMagic, 8) == 0) {
      state_ = State::kTrailer;
      return k;
    }
    if (filled_ < kHeaderSize) return k;
    filled_ = 0;
    const uint64_t at = in_pos_ + k - kHeaderSize;
    const std::string bad = catenize::decode(hdr_, &h_);
    if (!bad.empty()) {
      fail_frame(at, bad + (bad == "no restart marker" ? " (found " + hex8(hdr_) + "): not a filter-catenize stream, or corrupted" : ""));
      return k;
    }
    if (any_ && h_.slice <= last_slice_) {
      fail_frame(at, "frame for slice " + std::to_string(h_.slice) + " after slice " + std::to_string(last_slice_) + " (frames out of order or repeated)");
      return k;
    }
    frame_at_ = at;
    left_ = h_.out_length;
    crc_ = crc32c_init();
    if (Status s = runner_.spawn(0)) {
      report(*s);
      return k;
    }
    state_ = State::kPayload;
    if (left_ == 0) end_frame();
    return k;
  }

  size_t payload(const uint8_t* p, size_t n) {
    const size_t k = static_cast<size_t>(std::min<uint64_t>(n, left_));
    crc_ = crc32c_update(crc_, p, k);
    left_ -= k;
    if (Status s = runner_.write(p, k)) {
      report(*s);
      return k;
    }
    if (left_ == 0) end_frame();
    return k;
  }

  void end_frame() {
    state_ = State::kMarker;
    const Status s = runner_.finish();  // always reap before judging the frame
    const std::string where = "slice " + std::to_string(h_.slice) + " (frame at offset " + std::to_string(frame_at_) + ")";
    if (crc32c_final(crc_) != h_.crc) {
      return fail_now(plain_error("verify " + where, "CRC32C mismatch: the stored frame is corrupted"));
    }
    if (s) return report(*s);
    if (runner_.output_bytes() != h_.in_length) {
      return fail_now(plain_error("verify " + where, "the inverse filter produced " + std::to_string(runner_.output_bytes()) +
                                                        " bytes, the marker records " + std::to_string(h_.in_length)));
    }
    emit();
  }

  void emit() {
    std::deque<BlockRef>& blocks = runner_.blocks();
    for (size_t i = 0; i < blocks.size(); ++i) blocks[i]->set_slice(h_.slice, i + 1 == blocks.size());
    for (auto& blk : blocks) out_.push_back(std::move(blk));
    blocks.clear();
    post_slice(h_.slice, frame_at_, kHeaderSize + h_.out_length, out_offset_, h_.in_length);
    count_out(h_.in_length);
    out_offset_ += h_.in_length;
    last_slice_ = h_.slice;
    any_ = true;
  }

  void finish_stream() {
    if (eof_) return;
    eof_ = true;
    if (failed_ || cancelled()) return;
    if (state_ == State::kMarker && filled_ > 0) {
      return fail_now(plain_error("read frame", "truncated stream: it ends at offset " + std::to_string(in_pos_) + " inside a restart marker"));
    }
    if (state_ == State::kPayload) {
      fail_now(plain_error("read slice " + std::to_string(h_.slice),
                           "truncated stream: it ends at offset " + std::to_string(in_pos_) + " inside the frame at offset " +
                               std::to_string(frame_at_) + ", " + std::to_string(left_) + " payload bytes missing"));
    }
  }

  void fail_frame(uint64_t at, const std::string& what) { fail_now(plain_error("read frame at offset " + std::to_string(at), what)); }

  void report(const Error& e) {
    if (cancelled()) return void(failed_ = true);
    fail_now(plain_error(e.op + " (slice " + std::to_string(h_.slice) + ")", e.err ? std::string(errno_name(e.err)) + ": " + e.detail : e.detail));
  }

  void fail_now(Error e) {
    failed_ = true;
    runner_.kill();
    fail(std::move(e));
  }

  catenize::SliceRunner runner_;
  std::deque<BlockRef> out_;
  State state_ = State::kMarker;
  uint8_t hdr_[kHeaderSize];
  size_t filled_ = 0;
  catenize::FrameHeader h_;
  uint64_t frame_at_ = 0;
  uint64_t left_ = 0;
  uint32_t crc_ = crc32c_init();
  uint64_t in_pos_ = 0;
  uint64_t out_offset_ = 0;
  uint64_t last_slice_ = 0;
  bool any_ = false;
  bool eof_ = false;
  bool failed_ = false;
};

const bool registered = register_element({
    "filter-decatenize",
    "filter",
    "Undoes filter-catenize: runs the inverse filter once per frame and verifies each frame",
    "Reads restart-marker frames one after another (no index needed), starts a fresh `cmd` (no shell, "
    "e.g. \"gzip -dc\") per frame, and passes its output on only after checking the frame's CRC32C, "
    "the exit status and that the output has the length the marker records. Frames from a selective "
    "read may skip slices but must keep increasing. A SliceIndex trailer after the last frame ends the "
    "stream.",
    catenize::command_props("gzip -dc"),
    {{Mech::kPullBuffer, Mech::kPullBuffer, 1, 0, 0}, {Mech::kPushBuffer, Mech::kPushBuffer, 1, 0, 0}},
    "source-file path=/tmp/etc.tar.gzc ! filter-decatenize cmd=\"gzip -dc\" ! dest-file path=/tmp/etc.tar",
    [](const Props& p) { return std::make_unique<FilterDecatenize>(p); },
});

}  // namespace
}  // namespace xfa
