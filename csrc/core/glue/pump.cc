// fd/pull → fd/push on one thread of the glue's own: read a block, write it, until EOF.
#include "glue.h"

namespace xfa {
namespace {

class PumpGlue final : public GlueBase {
 public:
  using GlueBase::GlueBase;

  void run(int) override {
    while (BlockRef b = read_block()) {
      if (!write_block(b)) break;
    }
    in_done();
    out_done();
  }
};

}  // namespace

std::unique_ptr<Element> make_pump_glue(Mech in, Mech out) { return std::make_unique<PumpGlue>(in, out); }

}  // namespace xfa
