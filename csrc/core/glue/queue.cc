// PUSH → PULL: a bounded queue between the pusher's and the puller's threads. Its capacity is the
// back-pressure window; cancel (unblock) releases both sides.
#include "../block_queue.h"
#include "glue.h"

namespace xfa {
namespace {

constexpr size_t kQueueBlocks = 4;

class QueueGlue final : public GlueBase {
 public:
  QueueGlue(Mech in, Mech out) : GlueBase(in, out), q_(kQueueBlocks) {}

  void push(BlockRef b) override {
    if (!b) {
      q_.close();
      return;
    }
    count_in(b->size());
    q_.put(std::move(b));
  }

  BlockRef pull() override {
    BlockRef b = q_.take();
    if (b) count_out(b->size());
    return b;
  }

  void unblock() override { q_.cancel(); }

 private:
  BlockQueue q_;
};

}  // namespace

std::unique_ptr<Element> make_queue_glue(Mech in, Mech out) { return std::make_unique<QueueGlue>(in, out); }

}  // namespace xfa
