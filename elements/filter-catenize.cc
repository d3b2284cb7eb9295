// filter-catenize: makes an external, non-catenary filter (gpg, openssl enc, xz...) restartable.
// A fresh `cmd` process filters each slice; its output becomes one frame behind a restart marker
// (catenize.h: magic, slice number, input and output lengths, CRC32C), so filter-decatenize can
// restart the inverse filter at any frame, with or without an index.
//
// Slices: slice-size=0 follows the upstream's marks (one frame per upstream slice, same number);
// slice-size=N cuts every N input bytes. One output slice per input slice, marked on the last
// block of its frame, and one `slice` message each (out_length includes the 48-byte marker).
// Memory: the output of the slice being filtered is held in pooled blocks until the child exits,
// because the marker in front of it carries its length and CRC.
//
// Threads: pull() on downstream's thread or push() on upstream's; the child is driven from that
// thread with one poll() loop (catenize.h). Cancel: the poll wakes on the cancel fd, unblock()
// kills the child, pull() returns EOF and push() drops. A failing child fails the transfer with
// its exit status and the tail of its stderr.
#include <deque>

#include "catenize.h"
#include "xfa/slice.h"

namespace xfa {
namespace {

using catenize::kHeaderSize;

class FilterCatenize final : public Element {
 public:
  explicit FilterCatenize(const Props& p)
      : Element("filter-catenize"), follow_(p.get_int("slice-size", 0) == 0), cutter_(static_cast<uint64_t>(p.get_int("slice-size", 0))),
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
  void consume(const Block& b) {
    if (failed_ || eof_) return;
    count_in(b.size());
    cutter_.cut(b, [&](const SliceCutter::Piece& pc) {
      if (failed_) return;
      if (!runner_.running() && !begin(follow_ ? b.slice() : cutter_.slice())) return;
      in_length_ += pc.size;
      if (Status s = runner_.write(pc.data, pc.size)) return report(*s);
      if (pc.end) end_slice();
    });
  }

  bool begin(uint64_t slice) {
    slice_ = slice;
    in_length_ = 0;
    started_ = true;
    if (Status s = runner_.spawn(kHeaderSize)) {
      report(*s);
      return false;
    }
    return true;
  }

  void end_slice() {
    started_ = false;
    if (Status s = runner_.finish()) return report(*s);
    std::deque<BlockRef>& blocks = runner_.blocks();
    if (blocks.empty()) {
      blocks.push_back(alloc_block());
      blocks.back()->set_size(kHeaderSize);
    }
    const catenize::FrameHeader h{slice_, in_length_, runner_.output_bytes(), runner_.output_crc()};
    catenize::encode(h, blocks.front()->data());
    const uint64_t frame = kHeaderSize + h.out_length;
    for (size_t i = 0; i < blocks.size(); ++i) blocks[i]->set_slice(slice_, i + 1 == blocks.size());
    for (auto& blk : blocks) out_.push_back(std::move(blk));
    blocks.clear();
    post_slice(slice_, in_offset_, in_length_, out_offset_, frame);
    count_out(frame);
    in_offset_ += in_length_;
    out_offset_ += frame;
  }

  void finish_stream() {
    if (eof_) return;
    eof_ = true;
    if (!failed_ && !cancelled() && started_) end_slice();
  }

  void report(const Error& e) {
    failed_ = true;
    if (cancelled()) return;
    fail(plain_error(e.op + " (slice " + std::to_string(slice_) + ")", e.err ? std::string(errno_name(e.err)) + ": " + e.detail : e.detail));
  }

  const bool follow_;
  SliceCutter cutter_;
  catenize::SliceRunner runner_;
  std::deque<BlockRef> out_;
  uint64_t slice_ = 0;
  uint64_t in_length_ = 0;
  uint64_t in_offset_ = 0;
  uint64_t out_offset_ = 0;
  bool started_ = false;
  bool eof_ = false;
  bool failed_ = false;
};

std::vector<PropSpec> props() {
  std::vector<PropSpec> p = catenize::command_props("gzip -c");
  p.push_back({"slice-size", PropType::kSize, "0", 0, 9.0e18, false, "cut a slice every N input bytes; 0 = follow the upstream's slices"});
  return p;
}

const bool registered = register_element({
    "filter-catenize",
    "filter",
    "Runs an external filter once per slice and frames each output with a restart marker",
    "Starts a fresh `cmd` (no shell) for every slice, feeds it the slice on stdin and frames its stdout "
    "with a 48-byte restart marker: magic \\x89XFACAT\\n, slice number, input and output lengths, "
    "CRC32C of the output and of the marker. filter-decatenize runs the inverse command per frame. "
    "slice-size=0 follows the upstream's slices (e.g. filter-tar-index slice-on=member). The output "
    "of one slice is held in memory until its process exits.",
    props(),
    {{Mech::kPullBuffer, Mech::kPullBuffer, 1, 0, 0}, {Mech::kPushBuffer, Mech::kPushBuffer, 1, 0, 0}},
    "source-file path=/tmp/etc.tar ! filter-catenize cmd=\"gzip -c\" slice-size=4MiB ! dest-file path=/tmp/etc.tar.gzc",
    [](const Props& p) { return std::make_unique<FilterCatenize>(p); },
});

}  // namespace
}  // namespace xfa
