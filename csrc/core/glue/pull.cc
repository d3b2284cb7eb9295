// fd/pull → PULL: each pull() reads one block on the puller's thread; no thread of its own.
#include "glue.h"

namespace xfa {
namespace {

class PullGlue final : public GlueBase {
 public:
  using GlueBase::GlueBase;

  BlockRef pull() override {
    if (cancelled()) {
      in_done();
      return {};
    }
    BlockRef b = read_block();
    if (b) {
      count_out(b->size());
    } else {
      in_done();
    }
    return b;
  }
};

}  // namespace

std::unique_ptr<Element> make_pull_glue(Mech in, Mech out) { return std::make_unique<PullGlue>(in, out); }

}  // namespace xfa
