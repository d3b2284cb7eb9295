// PUSH → fd/push: each push() is written out on the pusher's thread; no thread of its own.
#include "glue.h"

namespace xfa {
namespace {

class PushGlue final : public GlueBase {
 public:
  using GlueBase::GlueBase;

  void push(BlockRef b) override {
    if (!b) {
      out_done();
      return;
    }
    count_in(b->size());
    if (!cancelled()) write_block(b);
  }
};

}  // namespace

std::unique_ptr<Element> make_push_glue(Mech in, Mech out) { return std::make_unique<PushGlue>(in, out); }

}  // namespace xfa
