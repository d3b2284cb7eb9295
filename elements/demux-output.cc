// demux-output (internal): the head of one output branch of a demux (see elements/demux.cc and
// csrc/core/mux_channel.h). A source in the branch's transfer: pull() hands on the verified blocks
// the demux queued for slot `slot`. The stream ending well is EOF; ending with an error (aborted
// when written, the demux failed, the input truncated) fails this branch with that sentence.
// When the branch fails or is cancelled it stops taking data and the demux drops its stream.
// Not listed and not in the pipeline language: src/graph.ts adds it.
//
// Threads: pull() on downstream's thread; take() waits on the channel, woken by unblock().
#include <stdexcept>

#include "mux_channel.h"
#include "xfa/element.h"

namespace xfa {
namespace {

class DemuxOutput final : public Element {
 public:
  explicit DemuxOutput(const Props& p)
      : Element("demux-output"), j_(static_cast<size_t>(p.get_int("slot", 0))), peer_(p.get_string("peer", "demux")) {
    ch_ = std::dynamic_pointer_cast<DemuxChannel>(find_channel(static_cast<uint64_t>(p.get_int("channel", 0))));
    if (!ch_) throw std::invalid_argument("no demux channel " + std::to_string(p.get_int("channel", 0)));
    if (j_ >= ch_->size()) throw std::invalid_argument("slot " + std::to_string(j_) + " out of range");
  }
  ~DemuxOutput() override { ch_->consumer_gone(j_); }

  MechPairs mech_pairs() const override { return {{Mech::kNone, Mech::kPullBuffer, 0, 0, 0}}; }

  BlockRef pull() override {
    if (done_ || cancelled()) return {};
    DemuxChannel::Item it = ch_->take(j_);
    if (it.block) {
      count_out(it.block->size());
      return it.block;
    }
    done_ = true;
    if (ch_->graph_cancelled()) cancel_transfer();
    else if (it.end && !it.error.empty() && !cancelled()) fail(plain_error("receive from " + peer_, it.error));
    return {};
  }

  void unblock() override { ch_->consumer_gone(j_); }
  void abort() override { ch_->consumer_gone(j_); }
  void close() override { ch_->consumer_gone(j_); }

 private:
  const size_t j_;
  const std::string peer_;
  std::shared_ptr<DemuxChannel> ch_;
  bool done_ = false;
};

const bool registered = register_element({
    "demux-output",
    "internal",
    "One output of a demux (added by the graph runner)",
    "The source of a demux output branch: the verified blocks of one chosen stream.",
    {},
    {{Mech::kNone, Mech::kPullBuffer, 0, 0, 0}},
    "",
    [](const Props& p) { return std::make_unique<DemuxOutput>(p); },
});

}  // namespace
}  // namespace xfa
