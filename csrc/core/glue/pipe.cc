// WRITEFD → READFD: upstream writes one end of a pipe, downstream reads the other. No thread; the
// pipe is created in GlueBase::setup() and each side releases its own end.
#include "glue.h"

namespace xfa {
namespace {

class PipeGlue final : public GlueBase {
 public:
  using GlueBase::GlueBase;
};

}  // namespace

std::unique_ptr<Element> make_pipe_glue(Mech in, Mech out) { return std::make_unique<PipeGlue>(in, out); }

}  // namespace xfa
