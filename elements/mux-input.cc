// mux-input (internal): the end of one input branch of a mux (see elements/mux.cc and
// csrc/core/mux_channel.h). It is the destination of the branch's own transfer: every block is
// checksummed (Fletcher-32) here, on the branch's thread, and queued on the mux's channel as
// stream `stream` (0-based). Not listed and not in the pipeline language: src/graph.ts adds it.
//
// The stream's end is decided when the branch's outcome is known: commit() (the branch succeeded,
// every thread ended) ends it EOS; abort()/unblock()/close() end it ABORTED — a source that fails
// after its last byte (an exit status) still marks its stream aborted. When the mux is gone the
// branch fails: "send to MUX: the multiplexed stream stopped ...".
//
// Threads: push() on upstream's thread (PUSH_BUFFER), or run() pulling (PULL_BUFFER, 1 thread).
#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "fletcher32.h"
#include "mux_channel.h"
#include "mux_format.h"
#include "xfa/element.h"

namespace xfa {
namespace {

class MuxInput final : public Element {
 public:
  explicit MuxInput(const Props& p)
      : Element("mux-input"), k_(static_cast<size_t>(p.get_int("stream", 0))), peer_(p.get_string("peer", "mux")) {
    ch_ = std::dynamic_pointer_cast<MuxChannel>(find_channel(static_cast<uint64_t>(p.get_int("channel", 0))));
    if (!ch_) throw std::invalid_argument("no mux channel " + std::to_string(p.get_int("channel", 0)));
    if (k_ >= ch_->size()) throw std::invalid_argument("stream " + std::to_string(k_) + " out of range");
  }
  ~MuxInput() override { ch_->end(k_, false); }

  MechPairs mech_pairs() const override {
    return {{Mech::kPushBuffer, Mech::kNone, 0, 0, 0}, {Mech::kPullBuffer, Mech::kNone, 0, 0, 1}};
  }

  void push(BlockRef b) override {
    if (!b) {
      eof_ = true;
      return;
    }
    send(std::move(b));
  }

  void run(int) override {
    while (!stopped_) {
      BlockRef b = upstream()->pull();
      if (!b) break;
      send(std::move(b));
    }
    if (!stopped_ && !cancelled()) eof_ = true;
  }

  void unblock() override {
    ch_->producer_cancel(k_);
    ch_->end(k_, false);
  }
  Status commit() override {
    ch_->end(k_, eof_);
    return ok();
  }
  void abort() override { ch_->end(k_, false); }
  void close() override { ch_->end(k_, false); }

 private:
  void send(BlockRef b) {
    if (stopped_ || cancelled() || b->size() == 0) return;
    if (b->size() > mux::kMaxPayload) return send_split(b);
    const uint32_t sum = fletcher32(b->data(), b->size());
    const size_t n = b->size();
    std::string why;
    if (!ch_->put(k_, std::move(b), sum, &why)) {
      stopped_ = true;
      if (ch_->graph_cancelled()) cancel_transfer();
      else if (!cancelled()) fail(plain_error("send to " + peer_, why.empty() ? "the stream was closed" : why));
      return;
    }
    count_in(n);
    count_out(n);
  }

  // A block bigger than a packet may carry (a chain with 32 MiB device blocks) goes as several
  // packets: copies of at most kMaxPayload bytes, each with its own checksum.
  void send_split(const BlockRef& b) {
    for (size_t off = 0; off < b->size() && !stopped_ && !cancelled(); off += mux::kMaxPayload) {
      const size_t n = std::min<size_t>(mux::kMaxPayload, b->size() - off);
      BlockRef piece = alloc_block();
      if (piece->capacity() < n) {
        stopped_ = true;
        fail(plain_error("send to " + peer_, "a block of " + std::to_string(b->size()) + " bytes cannot be cut into packets"));
        return;
      }
      std::memcpy(piece->data(), b->data() + off, n);
      piece->set_size(n);
      send(std::move(piece));
    }
  }

  const size_t k_;
  const std::string peer_;
  std::shared_ptr<MuxChannel> ch_;
  bool eof_ = false;
  bool stopped_ = false;
};

const bool registered = register_element({
    "mux-input",
    "internal",
    "One input of a mux (added by the graph runner)",
    "The destination of a mux input branch: checksums each block and queues it on the mux's channel.",
    {},
    {{Mech::kPushBuffer, Mech::kNone, 0, 0, 0}, {Mech::kPullBuffer, Mech::kNone, 0, 0, 1}},
    "",
    [](const Props& p) { return std::make_unique<MuxInput>(p); },
});

}  // namespace
}  // namespace xfa
