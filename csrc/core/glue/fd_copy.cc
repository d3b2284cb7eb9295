// fd → fd on one thread: the kernel moves the bytes (copy_file_range between files, splice when a
// pipe is involved), with read/write through a pooled block as the fallback.
#include <cerrno>

#include "../fdio.h"
#include "glue.h"

namespace xfa {
namespace {

class FdCopyGlue final : public GlueBase {
 public:
  using GlueBase::GlueBase;

  void run(int) override {
    BlockRef scratch = alloc_block();
    const IoResult r = copy_fd(in_fd(), out_fd(), cancel_fd(), scratch->data(), scratch->capacity(),
                               [this](uint64_t n) {
                                 count_in(n);
                                 count_out(n);
                                 credit_upstream(n);
                                 credit_downstream(n);
                               });
    // copy_fd cannot tell which side failed; EPIPE and ENOSPC are the output's, the rest the input's.
    if (r.status == IoStatus::kError) {
      const bool out_side = r.err == EPIPE || r.err == ENOSPC || r.err == EDQUOT || r.err == EFBIG;
      if (!(r.err == EPIPE && downstream()->reports_early_close()))
        report_io(out_side ? "write" : "read", out_side ? downstream() : upstream(), r.err);
    }
    in_done();
    out_done();
  }
};

}  // namespace

std::unique_ptr<Element> make_fd_copy_glue(Mech in, Mech out) { return std::make_unique<FdCopyGlue>(in, out); }

}  // namespace xfa
